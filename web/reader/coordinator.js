// The coordinator's page of a reader study (docs/READER.md "The server's routes"): sign in with
// the coordinator's token, then a table of GET /api/progress (reader, answered of n, last
// answer), refreshed every 5 s. Server data is shown with textContent only.
'use strict';

(() => {
  const REFRESH_MS = 5000;
  const $ = (id) => document.getElementById(id);
  let timer = null;

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const init = {method, headers: {Accept: 'application/json'}, credentials: 'same-origin', cache: 'no-store'};
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new HttpError(0, 'The server cannot be reached.');
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!res.ok) throw new HttpError(res.status, data && typeof data.error === 'string' ? data.error : `HTTP ${res.status}`);
    if (data === null) throw new HttpError(res.status, `The server's reply to ${method} ${path} is not JSON.`);
    return data;
  }

  function show(screen) {
    for (const id of ['loading', 'signin', 'progress']) $(id).hidden = id !== screen;
    document.body.dataset.screen = screen;
  }

  function showSignin(message) {
    if (timer !== null) clearInterval(timer);
    timer = null;
    show('signin');
    $('signin-error').textContent = message;
    $('token').focus();
  }

  // "2026-12-03T23:10:04.123Z" -> "2026-12-03 23:10:04"; anything else as sent.
  function shortTime(iso) {
    if (typeof iso !== 'string' || !iso) return '—';
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
    return m ? `${m[1]} ${m[2]}` : iso;
  }

  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function draw(p) {
    const rows = $('rows');
    rows.replaceChildren();
    let done = 0;
    for (const r of p.readers) {
      const tr = document.createElement('tr');
      tr.dataset.reader = r.reader;
      const name = document.createElement('th');
      name.scope = 'row';
      name.textContent = r.reader;
      tr.appendChild(name);
      cell(tr, `${r.answered} of ${p.n}`, 'num');
      const bar = document.createElement('progress');
      bar.max = p.n;
      bar.value = r.answered;
      bar.textContent = `${r.answered} of ${p.n}`;
      cell(tr, '').appendChild(bar);
      cell(tr, shortTime(r.last_answer_at));
      rows.appendChild(tr);
      if (r.answered >= p.n) done += 1;
    }
    $('summary').textContent =
        `${p.readers.length} readers, ${p.n} cases each, task ${p.task}: ${done} of ${p.readers.length} finished.`;
    $('updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  async function refresh() {
    let p;
    try {
      p = await api('GET', '/api/progress');
    } catch (e) {
      if (e.status === 401) return showSignin(timer === null ? '' : 'Your session has ended; please sign in again.');
      if (e.status === 403) return showSignin('This is a reader\'s token: this page needs the coordinator\'s.');
      $('error').textContent = `Not refreshed: ${e.message} (the table shows the last state).`;
      return;
    }
    $('error').textContent = '';
    draw(p);
    if (document.body.dataset.screen !== 'progress') show('progress');
    if (timer === null) timer = setInterval(refresh, REFRESH_MS);
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) {
      $('signin-error').textContent = 'Paste the coordinator token first.';
      return;
    }
    let who;
    try {
      who = await api('POST', '/api/session', {token});
    } catch (e) {
      $('signin-error').textContent = e.status === 401 ? 'This token is not valid for this study.' : e.message;
      return;
    }
    $('token').value = '';
    if (who.role !== 'coordinator') {
      $('signin-error').textContent = 'This is a reader\'s token: this page needs the coordinator\'s. Readers read at /.';
      return;
    }
    $('signin-error').textContent = '';
    await refresh();
  }

  async function signOut() {
    try {
      await api('DELETE', '/api/session');
    } catch (e) {
      // already signed out is fine
    }
    showSignin('You are signed out.');
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('signin-form').addEventListener('submit', signIn);
    $('refresh').addEventListener('click', refresh);
    $('signout').addEventListener('click', signOut);
    show('loading');
    refresh();
  });
})();
