// Opens a compeval HTML report in headless Chromium and reports, as one JSON
// object on stdout, what a reader would see: console errors, what each chart
// drew, the rendered tables, the sample explorer's counts under filters, and
// timing: when the page was ready (ms from navigation) and each filter change (ms).
// Drives Chromium over the DevTools protocol with the `ws` package (NODE_PATH).
//
//   node check_report.mjs REPORT.html SCREENSHOT.png FILTERS.json
//
// FILTERS.json: [{"task": "", "class": "", "correct": ""}, ...], applied in
// order through the page's <select> elements (as a user would, with change events).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

const [reportPath, screenshotPath, filtersPath] = process.argv.slice(2);
const filters = JSON.parse(readFileSync(filtersPath, 'utf8'));
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
// The screenshot's height cap (docs/report.png is the demo report's top 2300 px).
const maxShotHeight = Number(process.env.SCREENSHOT_MAX_HEIGHT || 6000);
const profile = mkdtempSync(join(tmpdir(), 'compeval-chromium-'));

const browser = spawn(chromium, [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-extensions', '--disable-sync', '--no-first-run', '--no-default-browser-check', '--mute-audio',
  '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=1280,1000', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe'] });

function fail(message) {
  process.stderr.write(`check_report: ${message}\n`);
  browser.kill('SIGKILL');
  removeProfile();
  process.exit(2);
}
// Chromium's helper processes can still write to the profile for a moment after
// the browser exits: retry, and never fail a check over a leftover temporary directory.
function removeProfile() {
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch (e) {
    process.stderr.write(`check_report: left ${profile}: ${e.message}\n`);
  }
}
const watchdog = setTimeout(() => fail('timed out after 90 s'), 90000);
process.on('uncaughtException', (e) => fail(e.stack || String(e)));
process.on('unhandledRejection', (e) => fail(e.stack || String(e)));

// Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
const browserUrl = await new Promise((resolveUrl, reject) => {
  let text = '';
  browser.stderr.on('data', (chunk) => {
    text += chunk;
    const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) resolveUrl(m[1]);
  });
  browser.on('exit', (code) => reject(new Error(`chromium exited (${code}): ${text.slice(-500)}`)));
}).catch((e) => fail(e.message));

const port = new URL(browserUrl).port;
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const page = targets.find((t) => t.type === 'page');
if (!page) fail('no page target');

const socket = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false });
await new Promise((ok, bad) => { socket.once('open', ok); socket.once('error', bad); });
let nextId = 1;
const pending = new Map();
const consoleErrors = [];
let loaded = null;
socket.on('message', (raw) => {
  const msg = JSON.parse(raw);
  if (msg.id && pending.has(msg.id)) {
    const { ok, bad } = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) bad(new Error(msg.error.message)); else ok(msg.result);
    return;
  }
  if (msg.method === 'Runtime.consoleAPICalled' && (msg.params.type === 'error' || msg.params.type === 'assert')) {
    consoleErrors.push(msg.params.args.map((a) => a.value ?? a.description ?? '').join(' '));
  } else if (msg.method === 'Runtime.exceptionThrown') {
    const d = msg.params.exceptionDetails;
    consoleErrors.push(`${d.text} ${d.exception?.description ?? ''}`.trim());
  } else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') {
    consoleErrors.push(`${msg.params.entry.source}: ${msg.params.entry.text}`);
  } else if (msg.method === 'Page.loadEventFired' && loaded) {
    loaded();
  }
});
function send(method, params = {}) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params }));
  return new Promise((ok, bad) => pending.set(id, { ok, bad }));
}
async function evaluate(expression) {
  const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
  return r.result.value;
}

await send('Runtime.enable');
await send('Log.enable');
await send('Page.enable');
const onLoad = new Promise((ok) => { loaded = ok; });
await send('Page.navigate', { url: pathToFileURL(resolve(reportPath)).href });
await onLoad;
for (let i = 0; i < 300 && !(await evaluate('window.compevalReady === true')); ++i) {
  await new Promise((ok) => setTimeout(ok, 100));
}
const ready = await evaluate('window.compevalReady === true');

const charts = await evaluate(`[...document.querySelectorAll('.chart')].map((c) => ({
  id: c.id,
  empty: c.dataset.empty === 'true',
  svg: c.querySelectorAll('svg').length,
  canvas: c.querySelectorAll('canvas').length,
  marks: c.querySelectorAll('svg .mark-symbol path, svg .mark-rect path, svg .mark-line path, svg .mark-rule line,'
    + ' svg .mark-text text').length,
}))`);
const tables = await evaluate(`Object.fromEntries([...document.querySelectorAll('table[id]')].map((t) => [t.id,
  [...t.querySelectorAll('tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))]))`);
const recommendation = await evaluate(`document.querySelector('#recommendation .verdict').textContent`);
// What the reader reads besides the tables: the page's language, headings, table headers, chart titles and
// axis/legend titles (Vega-Lite draws them as SVG text with these roles), the explorer's count sentence and
// the explanations.
const text = await evaluate(`({
  lang: document.documentElement.lang,
  headings: [...document.querySelectorAll('h1, h2, h3')].map((h) => h.textContent),
  headers: Object.fromEntries([...document.querySelectorAll('table[id]')].map((t) => [t.id,
    [...t.querySelectorAll('thead th')].map((h) => h.textContent)])),
  axisTitles: [...document.querySelectorAll('svg .role-axis-title text, svg .role-legend-title text')]
    .map((e) => e.textContent),
  legendLabels: [...document.querySelectorAll('svg .role-legend-label text')].map((e) => e.textContent),
  count: document.getElementById('samples-count').textContent,
  paragraphs: [...document.querySelectorAll('p.howto, p.meta, p.note, #recipes p')].map((p) => p.textContent),
})`);

// Each filter change is timed from its change event until the table is laid out again.
const explorer = [];
const filterMs = [];
for (const f of filters) {
  const result = await evaluate(`(() => {
    const times = [];
    const set = (id, value) => {
      const s = document.getElementById(id);
      if (s.value === value) return true;
      const start = performance.now();
      s.value = value;
      s.dispatchEvent(new Event('change'));
      void document.getElementById('samples-table').offsetHeight;
      times.push(performance.now() - start);
      return s.value === value;
    };
    const applied = set('filter-task', ${JSON.stringify(f.task ?? '')}) &&
      set('filter-class', ${JSON.stringify(f.class ?? '')}) && set('filter-correct', ${JSON.stringify(f.correct ?? '')});
    return { applied, matches: Number(document.getElementById('samples-count').dataset.matches),
      rows: document.querySelectorAll('#samples-table tbody tr').length, times };
  })()`);
  filterMs.push(...result.times.map((t) => Math.round(t)));
  delete result.times;
  explorer.push(result);
}
const timing = { interactive_ms: Math.round(await evaluate('window.compevalReadyAt ?? -1')), filter_ms: filterMs };
await evaluate(`(() => { for (const id of ['filter-task', 'filter-class', 'filter-correct']) {
  const s = document.getElementById(id); s.value = ''; s.dispatchEvent(new Event('change')); } })()`);

const size = await evaluate('({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight })');
const shot = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
  clip: { x: 0, y: 0, width: Math.min(size.w, 1280), height: Math.min(size.h, maxShotHeight), scale: 1 } });
writeFileSync(screenshotPath, Buffer.from(shot.data, 'base64'));

clearTimeout(watchdog);
process.stdout.write(JSON.stringify({ ready, consoleErrors, charts, tables, recommendation, explorer, text, timing }) + '\n');
socket.close();
// The profile can be removed only once Chromium has stopped writing to it.
await new Promise((ok) => { browser.once('exit', ok); browser.kill('SIGTERM'); });
removeProfile();
