/// <reference lib="dom.iterable" />
/// <reference lib="dom" />
// The chat app's speed: time from pressing Send to the first token painted, through the app in
// Debian's chromium, against the same request through the API with the official openai client
// (streamed, time to the first content delta), on the same server and the same model: a real
// tetra model (a seeded random depth-2 byte-level checkpoint) served by the builtin engine.
// Rounds alternate the two paths; the table shows medians. Also measured: the critical-path
// bundle (gzip), first contentful paint (median of 5 loads) and the render cost per streamed token.
//
// Run: npm run bench:app [-- --rounds 15]
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

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const ROUNDS = Number(args.rounds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const home = mkdtempSync(join(tmpdir(), 'tetra-bench-app-'));
const ckpt = join(home, 'ckpt');
const config = configFromDepth(2, { vocabSize: 264, nEmbd: 128, nHead: 2, contextLength: 512 });
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
const PROMPT = 'Tell me about the weather.';
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
  await page.waitForFunction(() => (window as { __t1?: number }).__t1 !== undefined, undefined, { timeout: 30_000 });
  const t = await page.evaluate(() => {
    const w = window as { __t0?: number; __t1?: number };
    return w.__t1! - w.__t0!;
  });
  await page.getByRole('button', { name: 'Send' }).waitFor();
  return t;
}

// The app sends no max_tokens; cap the model's answers the same way for both paths through temperature 1 sampling of a
// random model (answers end at the window or an end token): time to the first token does not depend on the answer's length.
await apiTtft();
await appTtft();
const api: number[] = [];
const ui: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2) {
    api.push(await apiTtft());
    ui.push(await appTtft());
  } else {
    ui.push(await appTtft());
    api.push(await apiTtft());
  }
}
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
  [`app TTFT, Send to first painted token, median of ${ROUNDS}`, `${median(ui).toFixed(1)} ms`],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`bench:app on ${url} (model: seeded random depth-2 byte-level tetra checkpoint, builtin engine)`);
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
console.log(`app_ttft_vs_api ${(median(ui) / median(api)).toFixed(3)}`);
process.exit(0);
