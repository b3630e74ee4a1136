// The reading page of a blinded reader study (docs/READER.md "Reading", "The server's routes").
// Sign in with a token (POST /api/session sets the session cookie), then read the cases in the
// reader's own order from GET /api/state's `next`: the anterior and posterior views side by side
// on canvases, one window and gamma for both, zoom; the answer goes out with PUT
// /api/answers/{case} and the page moves on only once the server acknowledges it (its reply
// comes after the answer is committed), so what the reader saw as saved is saved.
// Everything the server sends is shown with textContent: a case id or an error text is data.
'use strict';

(() => {
  const VIEWS = ['anterior', 'posterior'];
  const ZOOMS = [1, 1.5, 2, 3, 4];
  const UPPER_PERCENTILE = 0.995;  // default window upper: of the pair's non-zero pixels
  const SLIDER_STEP = 0.02;        // [ ] { } move a window slider by this (square-root scale)
  const GAMMA_STEP = 0.1;

  const $ = (id) => document.getElementById(id);

  const app = {
    me: null,            // GET /api/state: {reader, task, n, answered, next}
    position: 0,         // the case on screen, 1..n; 0 before the first
    kase: null,          // GET /api/cases/{k} of that position; null while loading
    pixels: null,        // {anterior, posterior}: {width, height, codes: Uint8Array}
    display: {lower: 0, upper: 1, gamma: 1, zoom: 0},  // lower/upper: fractions of the scan's maximum
    loadSeq: 0,          // a later openCase() makes an earlier one's results stale
    saving: false,
    gradeArmed: false,   // G was pressed: the next 0-3 is the grade
    leaveArmed: 0,       // the position whose unsubmitted choices the reader was warned about
  };

  // ---------------------------------------------------------------- server

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
      throw new HttpError(0, 'The server cannot be reached; check the connection and try again.');
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const reason = data && typeof data.error === 'string' ? data.error : `HTTP ${res.status}`;
      throw new HttpError(res.status, reason);
    }
    if (data === null) throw new HttpError(res.status, `The server's reply to ${method} ${path} is not JSON.`);
    return data;
  }

  // One view's PNG as its 8-bit codes. createImageBitmap without colour conversion, so the
  // browser's colour management cannot change a code (the PNGs carry no colour chunks).
  async function loadView(url, name) {
    let res;
    try {
      res = await fetch(url, {credentials: 'same-origin'});
    } catch (e) {
      throw new HttpError(0, `The ${name} image cannot be loaded; check the connection.`);
    }
    if (!res.ok) throw new HttpError(res.status, `The ${name} image cannot be loaded (HTTP ${res.status}).`);
    const bitmap = await createImageBitmap(await res.blob(), {colorSpaceConversion: 'none', premultiplyAlpha: 'none'});
    const {width, height} = bitmap;
    const scratch = document.createElement('canvas');
    scratch.width = width;
    scratch.height = height;
    const ctx = scratch.getContext('2d', {willReadFrequently: true});
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const codes = new Uint8Array(width * height);
    for (let i = 0; i < codes.length; ++i) codes[i] = rgba[4 * i];
    return {width, height, codes};
  }

  // ---------------------------------------------------------------- screens

  function show(screen) {
    for (const id of ['loading', 'signin', 'done', 'reading']) $(id).hidden = id !== screen;
    document.body.dataset.screen = screen;
  }

  function setStatus(text, saved) {
    $('status').textContent = text;
    $('status').classList.toggle('saved', Boolean(saved));
  }
  function setError(text) {
    $('error').textContent = text;
  }
  function setReady(ready) {
    document.body.dataset.ready = ready ? 'yes' : 'no';
  }

  function showSignin(message) {
    app.me = null;
    app.kase = null;
    show('signin');
    $('signin-error').textContent = message || '';
    document.title = 'Sign in · reader study';
    $('token').focus();
  }

  function showDone() {
    app.kase = null;
    app.position = 0;
    show('done');
    $('done-text').textContent = `You have answered all ${app.me.n} cases.`;
    document.title = 'Done · reader study';
    $('done-title').focus();
  }

  // Whatever went wrong: a lost session asks for the token again, anything else is shown.
  function fail(e, context) {
    if (e instanceof HttpError && e.status === 401) {
      showSignin('Your session has ended; please sign in again.');
      return;
    }
    if (!(e instanceof HttpError)) console.warn(e);  // a fault of the page itself
    setError(`${context}: ${e.message}`);
  }

  // ---------------------------------------------------------------- start, sign in and out

  async function start() {
    show('loading');
    try {
      app.me = await api('GET', '/api/state');
    } catch (e) {
      if (e.status === 401) return showSignin('');
      if (e.status === 403) return showSignin('You are signed in as the coordinator; the reading page needs a reader token.');
      show('signin');
      $('signin-error').textContent = `The study cannot be opened: ${e.message}`;
      return;
    }
    setupTask();
    if (app.me.next === null || app.me.next === undefined) return showDone();
    await openCase(app.me.next);
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) {
      $('signin-error').textContent = 'Paste your token first.';
      return;
    }
    $('signin-error').textContent = '';
    let who;
    try {
      who = await api('POST', '/api/session', {token});
    } catch (e) {
      $('signin-error').textContent =
          e.status === 401 ? 'This token is not valid for this study; check it with the coordinator.' : e.message;
      return;
    }
    $('token').value = '';
    if (who.role !== 'reader') {
      $('signin-error').textContent = 'This is the coordinator\'s token: the coordinator\'s page is at /coordinator.';
      return;
    }
    await start();
  }

  async function signOut() {
    try {
      await api('DELETE', '/api/session');
    } catch (e) {
      // the cookie may already be gone; the sign-in form is what the reader needs either way
    }
    showSignin('You are signed out.');
  }

  // Shows only the questions of the study's task, and their keys.
  function setupTask() {
    const realness = hasRealness(), diagnosis = hasDiagnosis();
    for (const el of document.querySelectorAll('.realness')) el.hidden = !realness;
    for (const el of document.querySelectorAll('.diagnosis')) el.hidden = !diagnosis;
    $('help-realness').hidden = !realness;
    $('help-diagnosis').hidden = !diagnosis;
    $('help-plain-grade').hidden = realness;  // digits are the confidence when there is one
    $('reader-name').textContent = `Reader ${app.me.reader}`;
  }
  const hasRealness = () => app.me.task === 'realness' || app.me.task === 'both';
  const hasDiagnosis = () => app.me.task === 'diagnosis' || app.me.task === 'both';

  // ---------------------------------------------------------------- cases

  async function openCase(k, note) {
    const seq = ++app.loadSeq;
    app.kase = null;
    app.position = k;
    app.gradeArmed = false;
    app.leaveArmed = 0;
    setReady(false);
    show('reading');
    clearForm();
    clearCanvases();
    setError('');
    setStatus(note || `Loading case ${k}…`, Boolean(note));
    updateBar();
    let kase, pixels;
    try {
      kase = await api('GET', `/api/cases/${k}`);
      const views = await Promise.all(VIEWS.map((v) => loadView(kase.images[v], v)));
      pixels = {anterior: views[0], posterior: views[1]};
    } catch (e) {
      if (seq === app.loadSeq) fail(e, `Case ${k} could not be opened`);
      return;
    }
    if (seq !== app.loadSeq) return;  // the reader has moved on meanwhile
    app.kase = kase;
    app.pixels = pixels;
    fillForm(kase.answer);
    defaultWindow();
    layout();
    render();
    updateBar();
    if (!note) setStatus(kase.answer ? 'Answered before; change it and submit to replace it.' : '');
    setReady(true);
  }

  // The furthest position the reader may open: the first unanswered case (cases are read in order).
  function lastOpenable() {
    return app.me.next === null || app.me.next === undefined ? app.me.n : app.me.next;
  }

  function go(delta) {
    if (app.saving) return;
    const k = app.position + delta;
    if (k < 1) return;
    if (unsubmitted() && app.leaveArmed !== app.position && k <= lastOpenable()) {
      app.leaveArmed = app.position;
      setError('Your choices here are not submitted: press Enter to submit them, or the same key again to leave without them.');
      return;
    }
    if (k > app.me.n) {
      if (app.me.next === null) showDone();
      return;
    }
    if (k > lastOpenable()) {
      setError('Answer this case first: cases are read in order.');
      return;
    }
    openCase(k);
  }

  function updateBar() {
    const {n, answered} = app.me;
    $('position').textContent = `Case ${app.position} of ${n}`;
    $('position').dataset.position = String(app.position);
    $('answered').textContent = `${answered} of ${n} answered`;
    $('prev').disabled = app.position <= 1;
    $('next').disabled = app.position >= lastOpenable() && !(app.position === n && app.me.next === null);
    document.title = `Case ${app.position} of ${n} · reader study`;
  }

  // ---------------------------------------------------------------- answers

  const QUESTIONS = ['call', 'confidence', 'metastasis', 'grade'];

  // The form differs from what the server holds for this case (nothing, for a new case).
  function unsubmitted() {
    if (!app.kase) return false;
    const saved = app.kase.answer || {};
    return QUESTIONS.some((q) => chosen(q) !== (saved[q] === null || saved[q] === undefined ? null : String(saved[q])));
  }

  function clearForm() {
    for (const input of document.querySelectorAll('#answer-form input[type="radio"]')) input.checked = false;
  }

  function fillForm(answer) {
    clearForm();
    if (!answer) return;
    for (const q of QUESTIONS) {
      if (answer[q] !== null && answer[q] !== undefined) choose(q, String(answer[q]));
    }
  }

  function choose(question, value) {
    const input = document.querySelector(`#answer-form input[name="${question}"][value="${value}"]`);
    if (input) input.checked = true;
  }

  function chosen(question) {
    const input = document.querySelector(`#answer-form input[name="${question}"]:checked`);
    return input ? input.value : null;
  }

  // The body of PUT /api/answers: only the task's questions; the names of those not answered.
  function collectAnswer() {
    const body = {}, missing = [];
    const want = (q, label, parse) => {
      const v = chosen(q);
      if (v === null) missing.push(label);
      else body[q] = parse(v);
    };
    if (hasRealness()) {
      want('call', 'real or synthetic', (v) => v);
      want('confidence', 'confidence', Number);
    }
    if (hasDiagnosis()) {
      want('metastasis', 'metastasis', Number);
      want('grade', 'grade', Number);
    }
    return {body, missing};
  }

  async function submit() {
    if (app.saving || !app.kase) return;
    const {body, missing} = collectAnswer();
    if (missing.length) {
      setError(`Still to answer: ${missing.join(', ')}.`);
      return;
    }
    setError('');
    app.saving = true;
    setReady(false);
    setStatus('Saving…');
    $('submit').disabled = true;
    const k = app.position;
    let reply;
    try {
      reply = await api('PUT', `/api/answers/${encodeURIComponent(app.kase.case)}`, body);
    } catch (e) {
      // the answer stays on screen: the reader can submit it again
      setStatus('');
      setError(`Case ${k} was NOT saved: ${e.message}. Your answer is still here; submit it again.` +
               (e.status === 401 ? ' (Your session has ended: open this page in a new tab and sign in, then submit here.)' : ''));
      setReady(true);
      return;
    } finally {
      app.saving = false;
      $('submit').disabled = false;
    }
    app.me.answered = reply.answered;
    app.me.n = reply.n;
    app.me.next = reply.next;
    const note = `Case ${k} saved.`;
    if (k < reply.n) return openCase(k + 1, note);
    if (reply.next !== null && reply.next !== undefined) return openCase(reply.next, note);
    showDone();
  }

  // ---------------------------------------------------------------- display

  // The default window: lower 0, upper at the 99.5th percentile of the pair's non-zero decoded
  // values (one histogram of the 8-bit codes: decoding is monotone, so the percentile commutes).
  function defaultWindow() {
    const histogram = new Float64Array(256);
    let total = 0;
    for (const v of VIEWS) {
      for (const code of app.pixels[v].codes) histogram[code] += 1;
    }
    for (let c = 1; c < 256; ++c) total += histogram[c];
    let upper = 1;
    if (total > 0) {
      const rank = Math.ceil(UPPER_PERCENTILE * total);
      let seen = 0;
      for (let c = 1; c < 256; ++c) {
        seen += histogram[c];
        if (seen >= rank) {
          upper = (c / 255) ** 2;
          break;
        }
      }
    }
    app.display.lower = 0;
    app.display.upper = Math.max(upper, 1e-4);
    syncSliders();
  }

  // Sliders move on the square-root scale of the stored codes (where the skeleton's low counts
  // are spread out); the window itself is in fractions of the scan's maximum counts.
  function syncSliders() {
    const {lower, upper, gamma} = app.display;
    $('upper').value = String(Math.sqrt(upper));
    $('lower').value = String(Math.sqrt(lower));
    $('gamma').value = String(gamma);
    $('upper-value').textContent = `${(100 * upper).toFixed(1)} %`;
    $('lower-value').textContent = `${(100 * lower).toFixed(1)} %`;
    $('gamma-value').textContent = gamma.toFixed(2);
    // the exact values drawn (a slider rounds to its step), for whoever checks the display
    Object.assign($('display').dataset, {lower: String(lower), upper: String(upper), gamma: String(gamma)});
  }

  function readSliders() {
    app.display.upper = Number($('upper').value) ** 2;
    app.display.lower = Number($('lower').value) ** 2;
    app.display.gamma = Number($('gamma').value);
    syncSliders();
    render();
  }

  function nudge(id, delta) {
    const slider = $(id);
    const v = Math.min(Number(slider.max), Math.max(Number(slider.min), Number(slider.value) + delta));
    slider.value = String(v);
    readSliders();
  }

  // Code v -> grey: decode (v/255)^2 (fraction of the maximum), window, gamma, invert (black = high counts).
  function lookupTable() {
    const {lower, gamma} = app.display;
    const upper = Math.max(app.display.upper, lower + 1e-4);
    const lut = new Uint8ClampedArray(256);
    for (let v = 0; v < 256; ++v) {
      const t = Math.min(1, Math.max(0, ((v / 255) ** 2 - lower) / (upper - lower)));
      lut[v] = Math.round(255 * (1 - t ** gamma));
    }
    return lut;
  }

  function render() {
    if (!app.pixels || !app.kase) return;
    const lut = lookupTable();
    for (const v of VIEWS) {
      const {width, height, codes} = app.pixels[v];
      const canvas = $(`canvas-${v}`);
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      const ctx = canvas.getContext('2d');
      const image = ctx.createImageData(width, height);
      const out = image.data;
      for (let i = 0, j = 0; i < codes.length; ++i, j += 4) {
        const g = lut[codes[i]];
        out[j] = g;
        out[j + 1] = g;
        out[j + 2] = g;
        out[j + 3] = 255;
      }
      ctx.putImageData(image, 0, 0);
    }
  }

  function clearCanvases() {
    for (const v of VIEWS) {
      const canvas = $(`canvas-${v}`);
      canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
    }
  }

  // Canvas display size: at 1x a view fits its panel; zoom enlarges it and the panel scrolls.
  function layout() {
    if (!app.pixels) return;
    const zoom = ZOOMS[app.display.zoom];
    $('zoom-value').textContent = `${zoom}×`;
    $('zoom-out').disabled = app.display.zoom === 0;
    $('zoom-in').disabled = app.display.zoom === ZOOMS.length - 1;
    for (const v of VIEWS) {
      const {width, height} = app.pixels[v];
      const scroller = $(`scroll-${v}`);
      const fit = Math.min((scroller.clientWidth - 2) / width, (scroller.clientHeight - 2) / height);
      const scale = Math.max(fit, 0.05) * zoom;
      const canvas = $(`canvas-${v}`);
      canvas.style.width = `${Math.floor(width * scale)}px`;
      canvas.style.height = `${Math.floor(height * scale)}px`;
      // several screen pixels per image pixel: show the pixels, not a blur of them
      scroller.classList.toggle('pixelated', scale * window.devicePixelRatio >= 2);
    }
  }

  function setZoom(index) {
    const next = Math.min(ZOOMS.length - 1, Math.max(0, index));
    if (next === app.display.zoom) return;
    // keep the centre of the anterior view where it was
    const s = $('scroll-anterior');
    const cx = (s.scrollLeft + s.clientWidth / 2) / Math.max(1, s.scrollWidth);
    const cy = (s.scrollTop + s.clientHeight / 2) / Math.max(1, s.scrollHeight);
    app.display.zoom = next;
    layout();
    for (const v of VIEWS) {
      const sc = $(`scroll-${v}`);
      sc.scrollLeft = cx * sc.scrollWidth - sc.clientWidth / 2;
      sc.scrollTop = cy * sc.scrollHeight - sc.clientHeight / 2;
    }
  }

  function resetDisplay() {
    app.display.gamma = 1;
    if (app.pixels && app.kase) defaultWindow();
    else syncSliders();
    render();
  }

  // The two views scroll together, so the same region of both is on screen.
  function linkScrolling() {
    const [a, b] = VIEWS.map((v) => $(`scroll-${v}`));
    const follow = (from, to) => () => {
      if (to.scrollTop !== from.scrollTop) to.scrollTop = from.scrollTop;
      if (to.scrollLeft !== from.scrollLeft) to.scrollLeft = from.scrollLeft;
    };
    a.addEventListener('scroll', follow(a, b));
    b.addEventListener('scroll', follow(b, a));
  }

  // ---------------------------------------------------------------- keyboard

  // One handler for the whole reading page. Keys act unless the focus is in a text field; on a
  // slider or a radio button the arrow keys keep their own meaning; Enter on a button presses it.
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target instanceof Element ? e.target : document.body;
    if (target.matches('input[type="password"], input[type="text"], textarea')) return;
    if (document.body.dataset.screen === 'done') {
      if (e.key === 'ArrowLeft') {
        e.preventDefault();
        openCase(app.me.n);
      }
      return;
    }
    if (document.body.dataset.screen !== 'reading') return;
    if (act(e, target)) e.preventDefault();
  }

  function act(e, target) {
    const key = e.key;
    const lower = key.length === 1 ? key.toLowerCase() : key;
    if (app.gradeArmed) {
      app.gradeArmed = false;
      if (/^[0-3]$/.test(key)) {
        choose('grade', key);
        setStatus('');
        return true;
      }
    }
    // a held key must not answer or submit case after case
    if (e.repeat && !'+=-_[]{},.'.includes(key)) return key === 'Enter';
    if (hasDiagnosis() && e.shiftKey && /^Digit[0-3]$/.test(e.code)) {
      choose('grade', e.code.slice(5));
      return true;
    }
    switch (lower) {
      case 'r': case 's':
        if (!hasRealness()) return false;
        choose('call', lower === 'r' ? 'real' : 'synthetic');
        return true;
      case '1': case '2': case '3': case '4': case '5': case '0':
        if (hasRealness()) {
          if (key === '0') return false;
          choose('confidence', key);
          return true;
        }
        if (hasDiagnosis() && key <= '3') {
          choose('grade', key);
          return true;
        }
        return false;
      case 'y': case 'n':
        if (!hasDiagnosis()) return false;
        choose('metastasis', lower === 'y' ? '1' : '0');
        return true;
      case 'g':
        if (!hasDiagnosis()) return false;
        app.gradeArmed = true;
        setStatus('Grade: press 0, 1, 2 or 3.');
        return true;
      case 'Enter':
        if (target.matches('button, a')) return false;  // the focused button's own action
        submit();
        return true;
      case 'ArrowLeft': case 'ArrowRight':
        if (target.matches('input[type="range"], input[type="radio"]')) return false;
        go(key === 'ArrowLeft' ? -1 : 1);
        return true;
      case '+': case '=':
        setZoom(app.display.zoom + 1);
        return true;
      case '-': case '_':
        setZoom(app.display.zoom - 1);
        return true;
      case '[': case ']':
        nudge('upper', key === '[' ? -SLIDER_STEP : SLIDER_STEP);
        return true;
      case '{': case '}':
        nudge('lower', key === '{' ? -SLIDER_STEP : SLIDER_STEP);
        return true;
      case ',': case '.':
        nudge('gamma', key === ',' ? -GAMMA_STEP : GAMMA_STEP);
        return true;
      case 'w':
        resetDisplay();
        return true;
      default:
        return false;
    }
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $('signin-form').addEventListener('submit', signIn);
    $('signout').addEventListener('click', signOut);
    $('signout-done').addEventListener('click', signOut);
    $('review').addEventListener('click', () => openCase(1));
    $('answer-form').addEventListener('submit', (e) => {
      e.preventDefault();
      submit();
    });
    $('prev').addEventListener('click', () => go(-1));
    $('next').addEventListener('click', () => go(1));
    for (const id of ['upper', 'lower', 'gamma']) $(id).addEventListener('input', readSliders);
    $('zoom-in').addEventListener('click', () => setZoom(app.display.zoom + 1));
    $('zoom-out').addEventListener('click', () => setZoom(app.display.zoom - 1));
    $('reset-display').addEventListener('click', resetDisplay);
    document.addEventListener('keydown', onKey);
    window.addEventListener('resize', layout);
    linkScrolling();
    syncSliders();
    start();
  }

  document.addEventListener('DOMContentLoaded', init);
})();
