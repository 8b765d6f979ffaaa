// Post-training throughput: SFT and DPO steps beside pretraining steps on the same model, in the
// same run, in tokens per second.
//
//   npm run bench:posttrain        (TETRA_BENCH_ROUNDS=5 rounds of ~TETRA_BENCH_SECONDS=2 s a side)
//
// The model is depth 4 (configFromDepth: 4 layers, width 256, heads of 64) over the byte
// tokenizer, context 256. The text is the synthetic instruction and safety conversations, so the
// bench needs nothing installed:
//   pretrain  full rows of 256 tokens cut from the conversations' token stream, every position a
//             target (the pretraining step of src/train/pretrain.ts: data-parallel replicas)
//   sft       16 conversations a step, padded to their batch's longest (a multiple of 64), loss on
//             the assistant turns (src/train/sft.ts; the same replicas)
//   dpo       8 pairs a step: both answers' rows in one forward and backward, the loss on their
//             log-probabilities against cached reference values (src/train/preference.ts; the
//             replicas take whole pairs)
// Tokens are the rows' real tokens (padding excluded), so padding and masks count as overhead.
// Each side's figure is the median over rounds; the sides alternate, since the machine is shared.
// The last line is `dpo_vs_pretrain_tokens <DPO tokens/s / pretraining tokens/s>` (goal >= 0.45).
import { conversationRow, generateInstructions, generateSafety, pairRows, type PairRows } from '../src/data/index.ts';
import { configFromDepth, GPT, paramCount } from '../src/model/index.ts';
import { nativeBackend, nativeError, Tape } from '../src/tensor/index.ts';
import { byteTokenizer } from '../src/tokenizer/index.ts';
import { conversationSource, DataParallel, defaultAdamW, pairLogProbs, pairSource, type BatchSource } from '../src/train/index.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:posttrain');

const rounds = Number(process.env.TETRA_BENCH_ROUNDS ?? 5);
const roundSeconds = Number(process.env.TETRA_BENCH_SECONDS ?? 2);
const THREADS = 2;
const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1];

const native = nativeBackend();
if (!native) {
  console.log(`bench:posttrain: native kernels unavailable (${nativeError()}); run \`npm run build:native\``);
  process.exit(1);
}
native.setThreads(THREADS);
const tok = byteTokenizer();
const T = 256;
const cfg = configFromDepth(4, { vocabSize: tok.idLimit, contextLength: T });

// The few conversations longer than the context are left out.
const fits = (s: { messages: { content: string }[] }) => s.messages.reduce((n, m) => n + Buffer.byteLength(m.content) + 8, 0) < T - 8;
const convs = [
  ...generateInstructions({ seed: 1, count: 1500, split: 'train' }),
  ...generateSafety({ seed: 1, count: 1500, split: 'train' }),
].filter(fits);
const rows = convs.map((s, i) => conversationRow(tok, { source: `synth:${i}`, messages: s.messages, untrained: [] }, T));
// Pairs: the ideal answer over a corrupted one (shuffled words), to the same prompts.
const pairs: PairRows[] = convs.map((s, i) => {
  const words = s.ideal.split(' ');
  const rejected = words.length > 1 ? [...words.slice(1), words[0]].join(' ') : `${s.ideal} ${s.ideal}`;
  return pairRows(tok, { source: `synth:${i}`, prompt: s.input, chosen: s.ideal, rejected }, T);
});

/** Real (unpadded) tokens in a batch: inputs up to each row's last target. */
function realTokens(b: { targets: Int32Array; B: number; T: number }, padded: boolean): number {
  if (!padded) return b.B * b.T;
  let n = 0;
  for (let r = 0; r < b.B; r++) {
    let last = -1;
    for (let t = 0; t < b.T; t++) if (b.targets[r * b.T + t] !== -1) last = t;
    n += last + 1;
  }
  return n;
}

interface Side {
  name: string;
  step(): Promise<number>; // real tokens
  close(): Promise<void>;
}

async function trainingSide(name: string, replicas: number, B: number, source: BatchSource, padded: boolean, dpo = false): Promise<Side> {
  const dp = await DataParallel.start(GPT.init(cfg, 1), native!, replicas, Math.ceil(B / replicas) * T);
  const opt = dp.optimizer(defaultAdamW);
  const tape = new Tape(native!, 'f32', { recycle: true });
  return {
    name,
    async step() {
      const b = source.next();
      if (dpo) await dp.accumulateSequences(tape, b, { kind: 'dpo', beta: 0.1, nll: 0.2 });
      else await dp.accumulate(tape, b.inputs, b.targets, b.B, b.T);
      await dp.update(opt, 1e-4);
      return realTokens(b, padded);
    },
    close: () => dp.close(),
  };
}

function pretrainSource(B: number): BatchSource {
  const stream = rows.flatMap((r) => [...r.inputs]);
  let at = 0;
  return {
    next() {
      if (at + B * T + 1 > stream.length) at = 0;
      const inputs = Int32Array.from(stream.slice(at, at + B * T)),
        targets = Int32Array.from(stream.slice(at + 1, at + B * T + 1));
      at += B * T;
      return { inputs, targets, B, T, tokens: B * T };
    },
    position: null,
    close() {},
  };
}

const ref = pairLogProbs(GPT.init(cfg, 1), native, pairs.slice(0, 64), 8);
const refs = pairs.map((_, i) => ref[i % ref.length]);
const sides = [
  await trainingSide('pretrain (B 8 x 256)', THREADS, 8, pretrainSource(8), false),
  await trainingSide('sft (16 conversations)', THREADS, 16, conversationSource(rows, 16, 1, undefined, T), true),
  await trainingSide('dpo (8 pairs = 16 rows)', THREADS, 16, pairSource(pairs, refs, 8, 1, undefined, T), true, true),
];

const rates: number[][] = sides.map(() => []);
const stepsPerRound: number[] = [];
for (const s of sides) {
  for (let i = 0; i < 2; i++) await s.step();
  const t0 = performance.now();
  await s.step();
  await s.step();
  stepsPerRound.push(Math.max(2, Math.round((roundSeconds * 2000) / (performance.now() - t0))));
}
for (let r = 0; r < rounds; r++)
  for (let i = 0; i < sides.length; i++) {
    const t0 = performance.now();
    let tokens = 0;
    for (let k = 0; k < stepsPerRound[i]; k++) tokens += await sides[i].step();
    rates[i].push(tokens / ((performance.now() - t0) / 1000));
  }
for (const s of sides) await s.close();

console.log(`model: depth 4, ${paramCount(cfg).toLocaleString()} parameters, context ${T}; ${THREADS} threads; ${rounds} rounds`);
console.log('| side | tokens/s (median) | vs pretraining | rounds |');
console.log('|---|---|---|---|');
const base = median(rates[0]);
sides.forEach((s, i) =>
  console.log(
    `| ${s.name} | ${median(rates[i]).toFixed(0)} | ${(median(rates[i]) / base).toFixed(2)} | ${rates[i].map((x) => x.toFixed(0)).join(' ')} |`,
  ),
);
console.log(`sft_vs_pretrain_tokens ${(median(rates[1]) / base).toFixed(2)}`);
console.log(`dpo_vs_pretrain_tokens ${(median(rates[2]) / base).toFixed(2)}`);
