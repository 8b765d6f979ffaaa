/// <reference lib="dom.iterable" />
/// <reference lib="dom" />
// The chat app's speed: time from pressing Send to the first token painted, through the app in
// Debian's chromium, against the same request through the API with the official openai client
// (streamed, time to the first content delta), on the same server and the same model: a real
// tetra model of this project's working size (a seeded random depth-4 byte-level checkpoint: C 256,
// 4 layers, 1,024-token window) served by the builtin engine, asked a question of about 600
// characters (a pasted paragraph), so the time includes a real prefill.
// Rounds alternate the two paths; the table shows medians. Also measured: the critical-path
// bundle (gzip), first contentful paint (median of 5 loads) and the render cost per streamed token,
// and where the app's time goes: Send to the answer's first byte, that byte to the painted token,
// and the page's frame interval (the floor row: the ratio an app would reach if its only cost were
// the wait for the next frame, half a frame on the median).
//
// Run: npm run bench:app [-- --rounds 31 --depth 4 --prompt long|short]
// Ends with `app_ttft_vs_api <ratio>` (goal <= 1.2): the app's median TTFT over the API's.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { AppStore, mountChatApp } from '../src/app/index.ts';
import { openBuiltinEngine } from '../src/engine/index.ts';
import {
  Catalog,
  createGateway,
  KeyAuth,
  KeyStore,
  MemoryLimits,
  openDb,
  parseCatalog,
  parsePlans,
  SqliteLedger,
} from '../src/gateway/index.ts';
import { configFromDepth, GPT, saveCheckpoint } from '../src/model/index.ts';
import { oneLineFailures, requireFiles } from './prereqs.ts';

oneLineFailures('bench:app');
requireFiles('bench:app', [{ path: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', pkg: 'chromium' }]);

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '31' },
    depth: { type: 'string', default: '4' },
    prompt: { type: 'string', default: 'long' },
  },
});
const ROUNDS = Number(args.rounds);
const DEPTH = Number(args.depth);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const home = mkdtempSync(join(tmpdir(), 'tetra-bench-app-'));
const ckpt = join(home, 'ckpt');
const config = configFromDepth(DEPTH, { vocabSize: 264, contextLength: 1024 });
saveCheckpoint(ckpt, { config, params: GPT.init(config, 1).weights(), meta: { step: 0, tokensSeen: 0, tokenizer: { name: 'bytes' } } });
const engine = await openBuiltinEngine(ckpt);
const db = openDb(join(home, 'tetra.db'));
const plans = parsePlans({ plans: { default: { rpm: 1_000_000, tpm: 1_000_000_000 } } }, 'bench plans');
const limits = new MemoryLimits();
const gateway = createGateway({
  catalog: new Catalog(parseCatalog({ engines: { b: { kind: 'builtin' } }, models: [{ id: 'tetra', engine: 'b' }] }, 'bench')),
  engines: new Map([['b', engine]]),
  auth: new KeyAuth(new KeyStore(db), plans),
  limits,
  ledger: new SqliteLedger(db),
  log: () => {},
});
const app = mountChatApp(gateway, { store: new AppStore(db), plans, limits });
if (!app.assets.built) throw new Error('the chat app is not built (npm run build:web)');
const url = await gateway.listen(0, '127.0.0.1');
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' });
const PROMPT =
  args.prompt === 'short'
    ? 'Tell me about the weather.'
    : 'Here is a paragraph from my notes; please summarise it in one sentence. The harbour town grew around a deep, sheltered ' +
      'bay where fishing boats could shelter from the winter storms. In the last century the fish moved north, the cannery ' +
      'closed, and the young people left for the cities. Lately the old warehouses have become workshops and small cafes, ' +
      'the ferry runs twice a day in summer, and the town council is debating whether to build a marina or to restore the ' +
      'salt marsh that used to protect the lower streets from flooding. What would you say the main question facing the town is?';
const MAX_TOKENS = 16;

async function apiTtft(): Promise<number> {
  const t0 = performance.now();
  const stream = await client.chat.completions.create({
    model: 'tetra',
    messages: [{ role: 'user', content: PROMPT }],
    stream: true,
    max_completion_tokens: MAX_TOKENS,
    temperature: 1,
  });
  let ttft = Number.NaN;
  for await (const chunk of stream) if (Number.isNaN(ttft) && chunk.choices[0]?.delta?.content) ttft = performance.now() - t0;
  return ttft;
}

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();

const paints: number[] = [];
for (let i = 0; i < 5; i++) {
  await page.goto(url);
  await page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
  paints.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN));
}

let lastTtfb = Number.NaN;

/** Press Enter in the app's message box; the page notes the time of the key and of the first painted answer text. */
async function appTtft(): Promise<number> {
  await page.getByRole('button', { name: 'New chat' }).click();
  const box = page.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(PROMPT);
  await page.evaluate(() => {
    const w = window as { __t0?: number; __t1?: number };
    w.__t0 = undefined;
    w.__t1 = undefined;
    const box = document.querySelector('textarea')!;
    box.addEventListener('keydown', () => (w.__t0 = performance.now()), { once: true, capture: true });
    const mo = new MutationObserver(() => {
      const a = [...document.querySelectorAll('[data-role="assistant"]')].at(-1);
      if (a?.textContent && a.textContent.trim().length > 0 && w.__t1 === undefined) {
        requestAnimationFrame(() => (w.__t1 = performance.now()));
        mo.disconnect();
      }
    });
    mo.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await box.press('Enter');
  // Painted text, or the answer ended without any (a random model may end its turn at once): then NaN.
  await page
    .waitForFunction(
      () =>
        (window as { __t1?: number }).__t1 !== undefined ||
        (performance.now() - (window as { __t0?: number }).__t0! > 50 && !document.querySelector('[aria-busy="true"]')),
      undefined,
      { timeout: 30_000 },
    )
    .catch(async (e) => {
      if (process.env.TETRA_DEBUG) await page.screenshot({ path: '/tmp/bench-app-timeout.png' });
      throw e;
    });
  const t = await page.evaluate(() => {
    const w = window as { __t0?: number; __t1?: number };
    return w.__t1 === undefined ? Number.NaN : w.__t1 - w.__t0!;
  });
  // The answer ends (its timing entry appears when the response is complete), then: when its
  // response began (the headers go out with the first token), the server's part of the time.
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), undefined, { timeout: 60_000 });
  await page.getByRole('button', { name: 'Send' }).waitFor();
  lastTtfb = await page.evaluate(() => {
    const w = window as { __t0?: number };
    const r = performance.getEntriesByType('resource').find((e) => e.startTime >= w.__t0! - 1 && e.name.endsWith('/messages')) as
      | PerformanceResourceTiming
      | undefined;
    return r ? r.responseStart - w.__t0! : Number.NaN;
  });
  if (process.env.TETRA_DEBUG)
    console.error(
      await page.evaluate(() => {
        const t0 = (window as { __t0?: number }).__t0!;
        const [h, f] = ['tetra-answer-headers', 'tetra-first-token'].map(
          (n) => (performance.getEntriesByName(n).at(-1)?.startTime ?? Number.NaN) - t0,
        );
        const r = performance.getEntriesByName('tetra-render').find((e) => e.startTime >= t0);
        const painted = (window as { __t1?: number }).__t1! - t0;
        const render = r ? `+${(r.startTime - t0).toFixed(1)}..+${(r.startTime + r.duration - t0).toFixed(1)}` : '-';
        return `headers +${h.toFixed(1)} first token +${f.toFixed(1)} render ${render} painted +${painted.toFixed(1)}`;
      }),
    );
  await page.evaluate(() => performance.clearResourceTimings());
  return t;
}

// The app sends no max_tokens; cap the model's answers the same way for both paths through temperature 1 sampling of a
// random model (answers end at the window or an end token): time to the first token does not depend on the answer's length.
await measured(apiTtft);
await measured(appTtft);
/** A measurement of a request that got at least one token (a random model sometimes ends its turn at once: ask again). */
async function measured(f: () => Promise<number>): Promise<number> {
  for (let i = 0; i < 10; i++) {
    const t = await f();
    if (Number.isFinite(t)) return t;
  }
  throw new Error('ten answers in a row had no text');
}
const api: number[] = [];
const ui: number[] = [];
const uiServer: number[] = [];
const byteToPaint: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2) {
    api.push(await measured(apiTtft));
    ui.push(await measured(appTtft));
  } else {
    ui.push(await measured(appTtft));
    api.push(await measured(apiTtft));
  }
  uiServer.push(lastTtfb);
  byteToPaint.push(ui.at(-1)! - lastTtfb);
}
// The page's frame interval: the browser paints once a frame, so text that arrives between two
// frames waits for the next one (half a frame on average), a wait no app can remove.
const frames = await page.evaluate(async () => {
  const ts: number[] = [];
  for (let i = 0; i < 61; i++) ts.push(await new Promise<number>((tick) => requestAnimationFrame(tick)));
  return ts.slice(1).map((t, i) => t - ts[i]);
});
const frame = median(frames);
const render = await page.evaluate(() => (window as { __tetraRender?: { tokens: number; ms: number } }).__tetraRender);
const mf = app.assets.manifest!;
const critical = mf.critical.reduce((a, f) => a + (mf.files[f]?.gzipBytes ?? mf.files[f]?.bytes ?? 0), 0);
await browser.close();
await gateway.close();
await engine.close();

const rows: [string, string][] = [
  ['critical-path bundle (gzip)', `${(critical / 1024).toFixed(1)} kB (goal <= 120)`],
  ['first contentful paint, median of 5', `${median(paints).toFixed(0)} ms (goal <= 300)`],
  [
    'render cost per token (whole run)',
    render ? `${(render.ms / Math.max(1, render.tokens)).toFixed(3)} ms over ${render.tokens} tokens` : 'n/a',
  ],
  [`API TTFT, openai client, median of ${ROUNDS}`, `${median(api).toFixed(1)} ms`],
  [`app: Send to the answer's first byte (page's resource timing)`, `${median(uiServer).toFixed(1)} ms`],
  [`app: the answer's first byte to its first painted token`, `${median(byteToPaint).toFixed(1)} ms`],
  ['page frame interval (requestAnimationFrame), median', `${frame.toFixed(1)} ms`],
  [`app TTFT, Send to first painted token, median of ${ROUNDS}`, `${median(ui).toFixed(1)} ms`],
  ['floor: API TTFT + half a frame, over API TTFT', `${((median(api) + frame / 2) / median(api)).toFixed(3)}`],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(
  `bench:app on ${url} (model: seeded random depth-${DEPTH} byte-level tetra checkpoint, ${config.nEmbd} wide, builtin engine; ` +
    `prompt ${PROMPT.length} characters)`,
);
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
console.log(`app_ttft_vs_api ${(median(ui) / median(api)).toFixed(3)}`);
process.exit(0);
