// Two builds of the native addon side by side on the same training step, in one process:
//
//   npx tsx bench/ab-addons.ts A.node B.node      (TETRA_AB_ROUNDS=30 rounds of 10 steps each)
//
// For judging a kernel change on this shared machine, where two separate runs differ by more
// than the change: build the baseline (e.g. a checkout of the old commit, `npm run build:native`)
// and copy its build/Release/tetra.node aside, then compare it with the current build. Each
// build drives its own model through the step of one data-parallel replica in bench:train (the
// nanoGPT configuration, 6 rows of 64 tokens, forward and backward on one kernel thread, a
// recycling tape), and the builds alternate every 10 steps so both see the same load. Prints the
// median and p10 step time of each and ends with `ab_ratio <B median / A median>`.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { GPT, type GPTConfig } from '../src/model/index.ts';
import { type Addon, Tape, type NativeBackend, wrapAddon } from '../src/tensor/index.ts';

const paths = process.argv.slice(2);
if (paths.length !== 2) {
  console.error('usage: npx tsx bench/ab-addons.ts A.node B.node');
  process.exit(2);
}
for (const p of paths)
  if (!existsSync(p)) {
    console.error(`ab-addons: ${p} does not exist`);
    process.exit(2);
  }

/** A build of the addon as a Backend, on one kernel thread (ops it lacks stay undefined: the step uses the old ones). */
function load(path: string): NativeBackend {
  const be = wrapAddon(createRequire(import.meta.url)(resolve(path)) as Addon);
  be.setThreads(1);
  return be;
}

const cfg: GPTConfig = {
  vocabSize: 264,
  nLayer: 4,
  nHead: 4,
  nKvHead: 4,
  nEmbd: 128,
  mlpHidden: 352,
  contextLength: 64,
  tiedEmbeddings: true,
  normEps: 1e-5,
  ropeBase: 10000,
} as GPTConfig;
const B = 6,
  T = 64;
const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % cfg.vocabSize);
const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 104729) % cfg.vocabSize);
const sides = paths.map((path) => {
  const be = load(path);
  return { path, model: GPT.init(cfg, 1), tape: new Tape(be, 'f32', { recycle: true }), times: [] as number[], loss: NaN };
});

function step(s: (typeof sides)[number]): number {
  const t0 = performance.now();
  s.tape.reset();
  const { loss } = s.model.forward(s.tape, tokens, B, T, targets);
  s.tape.backward(loss!, 1);
  for (const p of s.model.params.values()) p.grad?.fill(0);
  s.loss = loss!.data[0];
  return performance.now() - t0;
}

for (const s of sides) for (let i = 0; i < 20; i++) step(s);
if (Math.abs(sides[0].loss - sides[1].loss) > 1e-4 * Math.abs(sides[0].loss)) {
  console.error(`ab-addons: the builds disagree on the loss (${sides[0].loss} vs ${sides[1].loss})`);
  process.exit(1);
}
const rounds = Number(process.env.TETRA_AB_ROUNDS ?? 30);
for (let r = 0; r < rounds; r++) for (const s of sides) for (let i = 0; i < 10; i++) s.times.push(step(s));

const quantile = (x: number[], f: number) => [...x].sort((a, b) => a - b)[Math.floor(x.length * f)];
console.log('| build | median step ms | p10 step ms |\n|---|---|---|');
for (const s of sides) console.log(`| ${s.path} | ${quantile(s.times, 0.5).toFixed(2)} | ${quantile(s.times, 0.1).toFixed(2)} |`);
console.log(`ab_ratio ${(quantile(sides[1].times, 0.5) / quantile(sides[0].times, 0.5)).toFixed(3)}`);
