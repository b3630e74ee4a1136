// A scripted reader for the browser test (tests/reader/reader_browser_test.cc): headless Debian
// chromium driven by playwright-core reads cases on `scintigen reader serve`'s page with the
// keyboard only, as a physician may, and checks what a reader relies on:
//   - signs in with the token (typed, then Enter);
//   - answers `count` cases with keys (R/S, 1-5, Y/N, G+digit or Shift+digit, Enter), checking
//     the form shows each key's choice before submitting; at case 3 the script refuses the first
//     submission (the page must stay, say why and keep the answer) and delays the second (the
//     page must not move on before the server's reply);
//   - reloads after the 5th answer: the page resumes at "Case 6 of N" and nothing in the page or
//     in any API reply names an origin, a dataset, labels or a scan id;
//   - takes a screenshot of the reading page (1280x800) there;
//   - the canvases show what docs/READER.md "Images" says: each PNG decoded here on its own
//     (node's zlib) as codes v, (v/255)^2 windowed, gamma applied, inverted, equals the drawn
//     grey within 1 level; the default window upper is the 99.5th percentile of the pair's
//     non-zero decoded values; every image has the same byte size;
//   - zoom, window and gamma keys change the display; Left revisits an answered case and shows
//     its answer.
// With a coordinator token it then signs in on /coordinator (a browser context of its own) and
// reads the progress table.
// Prints a JSON summary on stdout: {"task", "n", "answers": [{position, case, call, confidence,
// metastasis, grade, status}], "positions_seen", "resumed_at", "coordinator": [{reader,
// answered}], "problems": []}; exits 1 on any failed check, page error, console error or failed
// request, 2 on bad arguments.
//
//   node read_cases.mjs http://127.0.0.1:PORT/ TOKEN 10 shot.png [COORDINATOR_TOKEN]
// CHROMIUM overrides /usr/bin/chromium; nothing is downloaded.

import zlib from 'node:zlib';

const [base, token, countText, screenshot, coordinatorToken] = process.argv.slice(2);
const count = Number(countText);
if (!base || !token || !Number.isInteger(count) || count < 6 || !screenshot) {
  console.error('usage: node read_cases.mjs BASE_URL TOKEN COUNT(>=6) SCREENSHOT.png');
  process.exit(2);
}

const {chromium} = await import(new URL('../../../web/node_modules/playwright-core/index.mjs', import.meta.url));

const problems = [];  // every failed check, page error and console error
const trail = [];     // the last steps taken, named in the summary when the script stops early
function step(what) {
  trail.push(what);
  if (trail.length > 8) trail.shift();
}
const check = (ok, what) => {
  if (!ok) problems.push(what);
  return ok;
};

// What a reader must never learn from the page or the API: origin, provenance, labels.
const FORBIDDEN_KEYS = new Set(['origin', 'dataset', 'scan_id', 'labels', 'truth', 'source', 'model', 'index']);
const FORBIDDEN_TEXT = [/\borigin\b/i, /\bsim\d+\b/, /\bgen\d+\b/, /\bsyn\d+\b/, /metastasis=/, /cardiac_grade/];
function forbiddenKeys(value, path, found) {
  if (Array.isArray(value)) value.forEach((v, i) => forbiddenKeys(v, `${path}[${i}]`, found));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(k)) found.push(`${path}.${k}`);
      forbiddenKeys(v, `${path}.${k}`, found);
    }
  }
  return found;
}

// An 8-bit grey PNG's codes, decoded without the browser: IHDR, the IDAT stream through zlib,
// rows with filter byte 0 (the server stores them unfiltered).
function decodeGreyPng(buf) {
  if (buf.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG');
  let width = 0, height = 0;
  const idat = [];
  for (let at = 8; at + 8 <= buf.length;) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
      if (data[8] !== 8 || data[9] !== 0) throw new Error(`bit depth ${data[8]}, colour type ${data[9]}: not 8-bit grey`);
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    at += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const codes = new Uint8Array(width * height);
  for (let y = 0; y < height; ++y) {
    const row = y * (width + 1);
    if (raw[row] !== 0) throw new Error(`row ${y} has filter ${raw[row]}, not none`);
    codes.set(raw.subarray(row + 1, row + 1 + width), y * width);
  }
  return {width, height, codes};
}

// The default window upper: the 99.5th percentile (nearest rank) of the pair's non-zero decoded values.
function referenceUpper(views) {
  const values = [];
  for (const v of views) for (const c of v.codes) if (c > 0) values.push((c / 255) ** 2);
  if (!values.length) return 1;
  values.sort((a, b) => a - b);
  return values[Math.ceil(0.995 * values.length) - 1];
}

// The grey docs/READER.md prescribes for code c: black = high counts.
function referenceGrey(c, lower, upper, gamma) {
  const t = Math.min(1, Math.max(0, ((c / 255) ** 2 - lower) / (upper - lower)));
  return 255 * (1 - t ** gamma);
}

// Collects the page's errors into `problems` and its API replies into `apiBodies` (read once
// `apiBodies.pending` settles), and counts its PUT requests in `sent.puts`. `expected` lists the
// error replies that are no fault, each {status, path: RegExp} allowed once (as a reply and as
// chromium's console line about it): before sign-in the page asks GET /api/state (the
// coordinator's GET /api/progress) and is told 401, which is how it knows to show the token form.
function watch(page, apiBodies, sent = {puts: 0}, expected = []) {
  apiBodies.pending = [];
  expected.push({status: 401, path: /^\/api\/(state|progress)$/});
  // each allowance is used up once as a reply and once as a console line
  const allowed = (kind, status, path) => {
    const e = expected.find((x) => !x[kind] && x.status === status && x.path.test(path));
    if (e) e[kind] = true;
    return Boolean(e);
  };
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const path = m.location().url ? new URL(m.location().url).pathname : '';
    const status = Number(/status of (\d+)/.exec(m.text())?.[1]);
    if (status && allowed('lineSeen', status, path)) return;
    problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('request', (r) => {
    if (r.method() === 'PUT') sent.puts += 1;
  });
  page.on('requestfinished', (r) => {
    if (r.method() === 'PUT') step(`PUT ${new URL(r.url()).pathname} finished`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (res) => apiBodies.pending.push(collect(res)));
  async function collect(res) {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/api/')) return;
    if (res.status() >= 400 && !allowed('replySeen', res.status(), url.pathname)) {
      problems.push(`HTTP ${res.status()} for ${res.request().method()} ${url.pathname}`);
    }
    if (url.pathname.startsWith('/api/images/')) return;
    try {
      apiBodies.push({path: url.pathname, body: await res.json()});
    } catch (e) {
      problems.push(`not JSON: ${url.pathname}`);
    }
  }
}

// The coordinator's page, in a browser context of its own: sign in, read the progress table.
async function readProgress(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(60000);  // generous: CI runs it beside other tests on 2 cores
  watch(page, [], []);
  await page.goto(new URL('coordinator', base).href);
  await page.waitForSelector('body[data-screen="signin"]');
  await page.keyboard.type(coordinatorToken);
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-screen="progress"] #rows tr');
  return page.$$eval('#rows tr', (rows) => rows.map((r) => ({
    reader: r.dataset.reader,
    answered: Number(/^(\d+) of/.exec(r.querySelector('td').textContent)[1]),
  })));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const summary = {task: null, n: null, answers: [], positions_seen: [], resumed_at: null, coordinator: null, problems};

try {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}});
  const page = await context.newPage();
  page.setDefaultTimeout(60000);  // generous: CI runs it beside other tests on 2 cores
  const apiBodies = [];  // every JSON reply of /api/, for the blinding check
  const sent = {puts: 0};  // PUT requests the page made
  const expected = [];     // error replies the script itself causes
  watch(page, apiBodies, sent, expected);

  const position = async () => Number(await page.getAttribute('#position', 'data-position'));
  const positionText = async () => (await page.textContent('#position')).trim();
  const getBytes = async (path) => (await page.request.get(new URL(path, base).href)).body();
  const waitReady = async () => page.waitForSelector('body[data-screen="reading"][data-ready="yes"]');
  const checked = async (name) =>
    page.evaluate((n) => document.querySelector(`#answer-form input[name="${n}"]:checked`)?.value ?? null, name);

  // ---- sign in with the keyboard
  await page.goto(base);
  await page.waitForSelector('body[data-screen="signin"]');
  check(await page.evaluate(() => document.activeElement?.id === 'token'), 'the token field has the focus on arrival');
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  await waitReady();

  const realness = await page.isVisible('#q-call');
  const diagnosis = await page.isVisible('#q-metastasis');
  summary.task = realness && diagnosis ? 'both' : realness ? 'realness' : 'diagnosis';
  const first = /^Case (\d+) of (\d+)$/.exec(await positionText());
  if (!check(first !== null, `progress text "${await positionText()}" is "Case k of N"`)) throw new Error('no progress');
  summary.n = Number(first[2]);
  check(Number(first[1]) === 1, `a new reader starts at case 1 (got ${first[1]})`);
  check(summary.n >= count, `the study has at least ${count} cases (n = ${summary.n})`);

  // The answer for position k: varied, so a mix-up between cases shows in the database check.
  const planned = (k) => ({
    call: realness ? (k % 2 ? 'real' : 'synthetic') : null,
    confidence: realness ? (k % 5) + 1 : null,
    metastasis: diagnosis ? Math.floor(k / 2) % 2 : null,
    grade: diagnosis ? k % 4 : null,
  });

  // Keys for one answer; the grade alternates between "G then digit" and "Shift+digit".
  async function answerWithKeys(k) {
    const a = planned(k);
    if (realness) {
      await page.keyboard.press(a.call === 'real' ? 'r' : 's');
      await page.keyboard.press(String(a.confidence));
    }
    if (diagnosis) {
      await page.keyboard.press(a.metastasis ? 'y' : 'n');
      if (k % 2) {
        await page.keyboard.press('g');
        await page.keyboard.press(String(a.grade));
      } else {
        await page.keyboard.press(`Shift+Digit${a.grade}`);
      }
    }
    for (const q of ['call', 'confidence', 'metastasis', 'grade']) {
      const want = a[q] === null ? null : String(a[q]);
      const got = await checked(q);
      check(got === want, `case ${k}: the form shows ${q} ${got}, the keys chose ${want}`);
    }
    return a;
  }

  // Submits with Enter and waits for the next case (or the done screen).
  async function submit(k) {
    const putsBefore = sent.puts;
    const replied = page.waitForResponse((r) => r.request().method() === 'PUT');
    step(`case ${k}: Enter (PUTs so far ${sent.puts})`);
    await page.keyboard.press('Enter');
    const res = await replied;
    step(`case ${k}: reply ${res.status()}`);
    if (k < summary.n) {
      await page.waitForFunction((next) => document.querySelector('#position')?.dataset.position === String(next) &&
                                               document.body.dataset.ready === 'yes', k + 1);
    } else {
      await page.waitForSelector('body[data-screen="done"]');
    }
    check(sent.puts === putsBefore + 1, `case ${k}: exactly one PUT (saw ${sent.puts - putsBefore})`);
    const path = new URL(res.url()).pathname;
    const caseId = decodeURIComponent(path.slice('/api/answers/'.length));
    const body = res.request().postDataJSON();
    const reply = await res.json();
    const a = planned(k);
    summary.answers.push({position: k, case: caseId, ...a, status: reply.status});
    check(path.startsWith('/api/answers/') && res.status() === 200, `case ${k}: PUT ${path} answered ${res.status()}`);
    check(reply.status === 'recorded', `case ${k}: the server recorded the answer (status ${reply.status})`);
    for (const q of Object.keys(a)) {
      check((body[q] ?? null) === a[q], `case ${k}: the page sent ${q} ${body[q]}, planned ${a[q]}`);
    }
  }

  async function readCase(k) {
    check(await position() === k, `expected case ${k}, the page shows ${await position()}`);
    summary.positions_seen.push(await position());
    check((await positionText()) === `Case ${k} of ${summary.n}`, `progress text at case ${k}: "${await positionText()}"`);
    await answerWithKeys(k);
    await submit(k);
  }

  // The server refuses the first submission of case k (the script answers 503 for it): the page
  // stays, says why and keeps the answer. The second goes through, held back 400 ms by the
  // script: the page must not move on before the reply.
  async function refusedThenSaved(k) {
    check(await position() === k, `expected case ${k}, the page shows ${await position()}`);
    summary.positions_seen.push(k);
    const a = await answerWithKeys(k);
    expected.push({status: 503, path: /^\/api\/answers\//});
    // One route for both submissions, removed afterwards: refuses the first, holds back the second
    // (two routes of {times: 1} each put a route's removal beside the next's registration)
    let routed = 0;
    let during = null;
    const hold = async (route) => {
      routed += 1;
      step(`case ${k}: the script's route has PUT ${routed}`);
      if (routed === 1) {
        await route.fulfill({status: 503, contentType: 'application/json', body: '{"error": "refused by the test script"}'});
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
      during = await position();  // before the server has the answer
      await route.continue();
    };
    await page.route('**/api/answers/*', hold);
    step(`case ${k}: Enter, to be refused`);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('error').textContent.includes('NOT saved'));
    check(await position() === k, `after a refused answer the page stays at case ${k} (${await position()})`);
    check((await page.textContent('#error')).includes('refused by the test script'), 'the error shows the server\'s reason');
    for (const q of Object.keys(a)) {
      const got = await checked(q);
      check(got === (a[q] === null ? null : String(a[q])), `after a refused answer the form still shows ${q} ${a[q]} (${got})`);
    }
    await submit(k);
    await page.unroute('**/api/answers/*', hold);
    check(routed === 2, `the script's route saw ${routed} submissions of case ${k}, not 2`);
    check(during === k, `the page left case ${k} before the server replied (it showed ${during})`);
  }

  // Display keys change the display (and W puts it back).
  async function displayKeys() {
    const zoom = async () => (await page.textContent('#zoom-value')).trim();
    const upper = async () => (await page.textContent('#upper-value')).trim();
    const gamma = async () => (await page.textContent('#gamma-value')).trim();
    const [z0, u0, g0] = [await zoom(), await upper(), await gamma()];
    check(z0 === '1×', `zoom starts at 1× (${z0})`);
    await page.keyboard.press('+');
    check(await zoom() === '1.5×', `+ zooms to 1.5× (${await zoom()})`);
    await page.keyboard.press('+');
    const big = await page.evaluate(() => {
      const s = document.getElementById('scroll-anterior');
      return s.scrollHeight > s.clientHeight;
    });
    check(big, 'at 2× the anterior view scrolls');
    await page.keyboard.press('-');
    await page.keyboard.press('-');
    check(await zoom() === '1×', `- zooms back to 1× (${await zoom()})`);
    await page.keyboard.press(']');
    check(await upper() !== u0, `] raises window upper (${u0} -> ${await upper()})`);
    await page.keyboard.press('.');
    check(await gamma() !== g0, `. changes gamma (${g0} -> ${await gamma()})`);
    await checkCanvases(2, 'after ] and .');
    await page.keyboard.press('w');
    check(await upper() === u0 && await gamma() === g0, `W resets window and gamma (${await upper()}, ${await gamma()})`);
    await checkCanvases(2, 'after W', true);
  }

  // The drawn greys of the case on screen against the independent decode; with `expectDefault`
  // the window must be the default one.
  async function checkCanvases(k, when, expectDefault = false) {
    const kase = await (await page.request.get(new URL(`/api/cases/${k}`, base).href)).json();
    const views = [];
    for (const v of ['anterior', 'posterior']) views.push(decodeGreyPng(await getBytes(kase.images[v])));
    const shown = await page.evaluate(() => {
      const display = document.getElementById('display').dataset;  // the exact window, not the sliders' rounding
      const pixels = ['anterior', 'posterior'].map((v) => {
        const c = document.getElementById(`canvas-${v}`);
        const rgba = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let grey = '';  // base64 of the red channel: small to carry over the protocol
        for (let i = 0; i < rgba.length; i += 4 * 4096) {
          const chunk = [];
          for (let j = i; j < Math.min(rgba.length, i + 4 * 4096); j += 4) chunk.push(rgba[j]);
          grey += String.fromCharCode(...chunk);
        }
        return {width: c.width, height: c.height, grey: btoa(grey)};
      });
      return {lower: Number(display.lower), upper: Number(display.upper), gamma: Number(display.gamma), pixels};
    });
    if (expectDefault) {
      const upper = referenceUpper(views);
      check(Math.abs(shown.upper - upper) < 1e-9 && shown.lower === 0 && shown.gamma === 1,
            `case ${k} ${when}: default window lower 0, upper ${upper}, gamma 1; the page has ${shown.lower}, ${shown.upper}, ${shown.gamma}`);
    }
    const upper = Math.max(shown.upper, shown.lower + 1e-4);
    views.forEach((view, i) => {
      const drawn = {...shown.pixels[i], grey: Buffer.from(shown.pixels[i].grey, 'base64')};
      if (!check(drawn.width === view.width && drawn.height === view.height,
                 `case ${k} view ${i}: canvas ${drawn.width}x${drawn.height}, PNG ${view.width}x${view.height}`)) return;
      let worst = 0, dark = 0;
      for (let p = 0; p < view.codes.length; ++p) {
        worst = Math.max(worst, Math.abs(drawn.grey[p] - referenceGrey(view.codes[p], shown.lower, upper, shown.gamma)));
        if (drawn.grey[p] < 128) dark += 1;
      }
      check(worst <= 1, `case ${k} view ${i} ${when}: a drawn grey is ${worst} levels off the reference (tolerance 1)`);
      check(dark > 0, `case ${k} view ${i} ${when}: nothing dark is drawn`);
    });
  }

  // ---- cases 1..5, then a reload
  for (let k = 1; k <= 5; ++k) {
    if (k === 1) await checkCanvases(1, 'on arrival', true);
    if (k === 2) await displayKeys();
    if (k === 3) await refusedThenSaved(k);
    else await readCase(k);
  }
  await page.reload();
  await waitReady();
  summary.resumed_at = await position();
  check(summary.resumed_at === 6, `after the reload the page resumes at case 6 (got ${summary.resumed_at})`);
  check((await positionText()) === `Case 6 of ${summary.n}`, `progress text after the reload: "${await positionText()}"`);
  check(/^5 of \d+ answered$/.test((await page.textContent('#answered')).trim()),
        `"5 of N answered" after the reload: "${await page.textContent('#answered')}"`);
  const text = await page.evaluate(() => document.documentElement.outerHTML);
  for (const re of FORBIDDEN_TEXT) check(!re.test(text), `the page shows nothing like ${re}`);

  // the screenshot shows case 6 with an answer chosen, not yet submitted
  summary.positions_seen.push(await position());
  await answerWithKeys(6);
  await page.screenshot({path: screenshot});
  await submit(6);
  for (let k = 7; k <= count; ++k) await readCase(k);

  // ---- Left revisits the last answered case and shows its answer; Right comes back
  if (count < summary.n) {
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((k) => document.querySelector('#position')?.dataset.position === String(k) &&
                                          document.body.dataset.ready === 'yes', count);
    const a = planned(count);
    for (const q of Object.keys(a)) {
      const got = await checked(q);
      check(got === (a[q] === null ? null : String(a[q])), `revisited case ${count} shows ${q} ${got}, answered ${a[q]}`);
    }
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((k) => document.querySelector('#position')?.dataset.position === String(k) &&
                                          document.body.dataset.ready === 'yes', count + 1);
    // Right does not skip an unanswered case
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(300);
    check(await position() === count + 1, `Right stays at the first unanswered case (${await position()})`);
    check((await page.textContent('#error')).includes('Answer this case first'), 'Right past an unanswered case says why not');
  }

  await Promise.all(apiBodies.pending);
  for (const {path, body} of apiBodies) {
    const found = forbiddenKeys(body, path, []);
    check(found.length === 0, `an API reply names what is blinded: ${found.join(', ')}`);
    const json = JSON.stringify(body);
    for (const re of FORBIDDEN_TEXT.slice(1)) check(!re.test(json), `${path} reply matches ${re}`);
  }
  const sizes = new Set();
  for (const a of summary.answers) {
    for (const v of ['anterior', 'posterior']) sizes.add((await getBytes(`/api/images/${a.case}/${v}.png`)).length);
  }
  check(sizes.size === 1, `every image has one byte size (sizes ${[...sizes].join(', ')})`);
  check(summary.answers.length === count, `${count} answers given (${summary.answers.length})`);
  if (coordinatorToken) summary.coordinator = await readProgress(await browser.newContext({viewport: {width: 1280, height: 800}}));
} catch (e) {
  problems.push(`stopped: ${e.message} (last steps: ${trail.join('; ')})`);
} finally {
  await browser.close();
}

console.log(JSON.stringify(summary));
process.exit(problems.length ? 1 : 0);
