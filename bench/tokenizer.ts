// Tokenizer benchmark: cl100k encode speed against js-tiktoken on the same text with the same
// ranks (ids must be identical), then BPE training time for an 8,192 vocabulary on 50 MB.
//
// Text: Debian man pages installed on this machine (/usr/share/man, every language, gunzipped in
// sorted path order), so anyone can rebuild it offline; nothing is committed. Encode uses 4 MB
// half translated pages (German, French, Czech, Ukrainian, ...), half English; training uses
// the first 50 MB of all pages in sorted path order (translations, then English sections 1-8).
// Usage: npm run bench:tokenizer [-- --encode-mb 4 --train-mb 50]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Tiktoken } from 'js-tiktoken/lite';
import ranks from 'js-tiktoken/ranks/cl100k_base';
import { cl100k, Tokenizer, trainBpe } from '../src/tokenizer/index.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:tokenizer');

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ENCODE_MB = arg('encode-mb', 4);
const TRAIN_MB = arg('train-mb', 50);

function manPages(root = '/usr/share/man'): string[] {
  const files: string[] = [];
  (function walk(d: string) {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile() && p.endsWith('.gz')) files.push(p);
    }
  })(root);
  return files;
}

const isEnglish = (p: string) => /\/man\/man[^/]*\//.test(p);

/** Concatenated pages (in the order given) up to `chars` characters. */
function corpus(ordered: string[], chars: number): string {
  const parts: string[] = [];
  let n = 0;
  for (const p of ordered) {
    if (n >= chars) break;
    let t: string;
    try {
      t = gunzipSync(readFileSync(p)).toString('utf8');
    } catch {
      continue;
    }
    parts.push(t);
    n += t.length;
  }
  return parts.join('\n').slice(0, chars);
}

const files = manPages();
if (files.length === 0) {
  console.error('bench:tokenizer: no man pages under /usr/share/man (Debian packages manpages, man-db); run `npm run bench:setup`');
  process.exit(1);
}
const mb = (s: string) => Buffer.byteLength(s) / 1e6;

// ---------------------------------------------------------------------------- encode

const half = corpus(
  files.filter((p) => !isEnglish(p)),
  ENCODE_MB * 5e5,
);
const text = half + corpus(files.filter(isEnglish), ENCODE_MB * 1e6 - half.length);
const ours = await cl100k();
const ref = new Tiktoken(ranks);
const best = { ours: Infinity, cold: Infinity, ref: Infinity };
let same = true,
  count = 0;
for (let rep = 0; rep < 3; rep++) {
  const fresh = new Tokenizer(ours.vocab, ours.specials, ours.pattern); // empty chunk cache
  let t0 = performance.now();
  const a = fresh.encode(text);
  best.cold = Math.min(best.cold, performance.now() - t0);
  t0 = performance.now();
  const a2 = ours.encode(text);
  best.ours = Math.min(best.ours, performance.now() - t0);
  t0 = performance.now();
  const b = ref.encode(text, [], []);
  best.ref = Math.min(best.ref, performance.now() - t0);
  same &&= a.length === b.length && a.every((x, i) => x === b[i]) && a2.length === a.length && a2.every((x, i) => x === a[i]);
  count = a.length;
}
const size = mb(text);
const rate = (ms: number) => (size / (ms / 1000)).toFixed(2);
console.log(`encode: ${size.toFixed(2)} MB of man pages (half translated), ${count} cl100k tokens, identical ids: ${same}`);
console.log('| encoder | MB/s (best of 3) |');
console.log('|---|---|');
console.log(`| js-tiktoken 1.0.21 | ${rate(best.ref)} |`);
console.log(`| tetra, cold chunk cache | ${rate(best.cold)} |`);
console.log(`| tetra, warm chunk cache | ${rate(best.ours)} |`);
if (!same) {
  console.error('ids differ from js-tiktoken: the benchmark is void');
  process.exit(1);
}

// ---------------------------------------------------------------------------- training

if (TRAIN_MB > 0) {
  const train = corpus(files, TRAIN_MB * 1e6);
  const r = trainBpe([train], { vocabSize: 8192 });
  console.log(`train: vocab 8192 on ${mb(train).toFixed(1)} MB (${r.distinctChunks} distinct chunks): ${r.seconds.toFixed(1)} s`);
}
console.log(`encode_vs_jstiktoken ${(best.ref / best.cold).toFixed(2)}`);
