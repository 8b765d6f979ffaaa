// Training throughput: tetra beside PyTorch CPU (Debian's python3-torch 1.13), same model, same
// data, same thread count (2), in the same run.
//
//   npm run bench:train                 (TETRA_BENCH_ROUNDS=7 rounds of ~TETRA_BENCH_SECONDS=1.5 s a side)
//
// The headline configuration is nanoGPT's CPU example (4 layers, 4 heads, n_embd 128, block 64,
// batch 12, char-level vocab: here the byte tokenizer's 264 ids) in tetra's architecture (RMSNorm,
// RoPE, SwiGLU with H = 352, tied head; bench/train_pytorch.py writes the same model in PyTorch).
// A step is the whole optimizer step: next batch, forward, backward, clip, AdamW. The machine is
// shared, so the two sides alternate in rounds of about the same wall time and each figure is
// the median over rounds. Then tetra alone at depth 4, 6 and 8 (configFromDepth: width 64*depth,
// heads of 64) at block 256.
// MFU = flopsPerToken(model, T) * tokens/s / peak, peak = nominalPeakFlops() (src/train/machine.ts:
// 32 FLOP/cycle per thread for AVX2 FMA at an assumed 3 GHz, times 2 threads = 192 GFLOP/s).
// The last line is `train_vs_pytorch <tetra tokens/s / PyTorch tokens/s>` for the headline.
import { torchOmpWaitPolicy } from './omp-env.ts';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ShardLoader } from '../src/data/index.ts';
import { configFromDepth, flopsPerToken, GPT, paramCount, type GPTConfig } from '../src/model/index.ts';
import { nativeBackend, nativeError, Tape } from '../src/tensor/index.ts';
import { DataParallel, defaultAdamW, nominalPeakFlops } from '../src/train/index.ts';
import { debianPython, ensureCharCorpus, pytorchMissing, root } from './char-corpus.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:train');

const THREADS = 2;
const rounds = Number(process.env.TETRA_BENCH_ROUNDS ?? 7);
const roundSeconds = Number(process.env.TETRA_BENCH_SECONDS ?? 1.5);
const median = (x: number[]) => {
  const y = [...x].sort((a, b) => a - b);
  return y.length ? y[y.length >> 1] : NaN;
};

const native = nativeBackend();
if (!native) {
  console.log(`train bench: native kernels unavailable (${nativeError()}); run \`npm run build:native\``);
  process.exit(1);
}
native.setThreads(THREADS);
const peak = nominalPeakFlops();
const data = ensureCharCorpus(undefined, 'bench:train');

/** seconds for all the steps, bestStep the fastest single step (the least disturbed by other load). */
interface Runner {
  name: string;
  run(steps: number): Promise<{ seconds: number; bestStep: number; loss: number }>;
  close(): void;
}

// ---------------------------------------------------------------------------- tetra side

// The training step of src/train/pretrain.ts: the batch split over TETRA_BENCH_REPLICAS (default
// THREADS) data-parallel replicas with one kernel thread each (src/train/parallel.ts), each with
// its recycling tape; then clipped AdamW at a fixed lr (the schedule is one scalar per step), its
// work split between the replicas too.
// TETRA_BENCH_REPLICAS=1 runs the whole batch on one OpenMP team of THREADS instead.
const replicas = Number(process.env.TETRA_BENCH_REPLICAS ?? THREADS);

async function tetraRunner(cfg: GPTConfig, B: number, T: number): Promise<Runner> {
  const dp = await DataParallel.start(GPT.init(cfg, 1337), native!, replicas, Math.ceil(B / replicas) * T);
  const opt = dp.optimizer({ ...defaultAdamW, beta2: 0.99 });
  const loader = new ShardLoader({ dir: data, split: 'train', B, T, seed: 1337 });
  const tape = new Tape(native!, 'f32', { recycle: true });
  return {
    name: 'tetra',
    async run(steps) {
      const t0 = performance.now();
      let loss = NaN,
        bestStep = Infinity;
      for (let i = 0; i < steps; i++) {
        const ts = performance.now();
        const b = loader.next();
        loss = await dp.accumulate(tape, b.inputs, b.targets, B, T);
        await dp.update(opt, 1e-3);
        bestStep = Math.min(bestStep, (performance.now() - ts) / 1000);
      }
      return { seconds: (performance.now() - t0) / 1000, bestStep, loss };
    },
    close: () => {
      loader.close();
      void dp.close();
    },
  };
}

// ---------------------------------------------------------------------------- PyTorch side

async function pytorchRunner(cfg: GPTConfig, B: number, T: number): Promise<Runner> {
  const args = [
    join(root, 'bench/train_pytorch.py'),
    'bench',
    '--data',
    data,
    '--vocab',
    String(cfg.vocabSize),
    '--layers',
    String(cfg.nLayer),
    '--heads',
    String(cfg.nHead),
    '--embd',
    String(cfg.nEmbd),
    '--hidden',
    String(cfg.mlpHidden),
    '--block',
    String(T),
    '--batch',
    String(B),
    '--threads',
    String(THREADS),
    '--seed',
    '1337',
  ];
  const child: ChildProcessWithoutNullStreams = spawn(debianPython, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, OMP_WAIT_POLICY: torchOmpWaitPolicy },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const reply = async () => {
    const r = await lines.next();
    if (r.done) throw new Error(`PyTorch side exited: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(r.value);
  };
  const hello = await reply();
  if (hello.threads !== THREADS) throw new Error(`PyTorch runs ${hello.threads} threads, wanted ${THREADS}`);
  return {
    name: `PyTorch ${hello.torch}`,
    async run(steps) {
      child.stdin.write(`run ${steps}\n`);
      const r = await reply();
      return { seconds: r.seconds, bestStep: r.best_step, loss: r.loss };
    },
    close: () => {
      child.stdin.end('quit\n');
    },
  };
}

// ---------------------------------------------------------------------------- measurement

/**
 * Warms each runner up (a few steps, then one unmeasured round), sizes its rounds to ~roundSeconds, then alternates. Per runner: tokens/s
 * of each round, and the best single step's tokens/s over all rounds.
 */
async function measure(runners: Runner[], tokensPerStep: number, nRounds: number): Promise<{ rates: number[]; best: number }[]> {
  const steps: number[] = [];
  for (const r of runners) {
    await r.run(2); // first-step allocations, thread pools
    const { seconds } = await r.run(2);
    steps.push(Math.max(1, Math.round(roundSeconds / (seconds / 2))));
  }
  // One unmeasured round each: the figure is the steady state a training run spends its time in
  // (JIT-compiled JavaScript on every thread, warm allocators), not the first seconds.
  for (let i = 0; i < runners.length; i++) await runners[i].run(steps[i]);
  const out = runners.map(() => ({ rates: [] as number[], best: 0 }));
  for (let round = 0; round < nRounds; round++) {
    for (let i = 0; i < runners.length; i++) {
      const { seconds, bestStep, loss } = await runners[i].run(steps[i]);
      if (!Number.isFinite(loss)) throw new Error(`${runners[i].name}: loss is ${loss}`);
      out[i].rates.push((steps[i] * tokensPerStep) / seconds);
      out[i].best = Math.max(out[i].best, tokensPerStep / bestStep);
    }
  }
  return out;
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const rows: string[][] = [];
const mfu = (cfg: GPTConfig, T: number, tps: number) => (flopsPerToken(cfg, T) * tps) / peak;

async function main(): Promise<void> {
  console.log(
    `train bench: native ${native!.isa()}, ${THREADS} threads (tetra: ${replicas} data-parallel replica${replicas > 1 ? 's' : ''}), peak ${fmt(peak / 1e9)} GFLOP/s (nominal), ${rounds} rounds of ~${roundSeconds} s a side, corpus ${data}`,
  );

  // ---- headline: nanoGPT's CPU configuration, tetra vs PyTorch
  const B = 12,
    T = 64;
  const nano = configFromDepth(4, { vocabSize: 264, nEmbd: 128, nHead: 4, contextLength: T });
  const missing = pytorchMissing();
  const runners: Runner[] = [await tetraRunner(nano, B, T)];
  if (missing) console.log(`PyTorch side skipped: ${missing}`);
  else runners.push(await pytorchRunner(nano, B, T));
  const res = await measure(runners, B * T, rounds);
  for (const r of runners) r.close();
  const tetra = median(res[0].rates),
    torch = res[1] ? median(res[1].rates) : NaN;
  const label = `nanoGPT cpu L4 H4 C128 T64 B12 (${(paramCount(nano) / 1e6).toFixed(2)}M)`;
  rows.push([
    label,
    fmt(tetra),
    fmt(mfu(nano, T, tetra) * 100, 1) + '%',
    fmt(torch),
    fmt(mfu(nano, T, torch) * 100, 1) + '%',
    fmt(tetra / torch, 2),
    fmt(res[0].best),
    res[1] ? fmt(res[1].best) : '-',
  ]);

  // ---- tetra alone at block 256
  for (const depth of [4, 6, 8]) {
    const cfg = configFromDepth(depth, { vocabSize: 264, contextLength: 256 });
    const r = await tetraRunner(cfg, 12, 256);
    const [rd] = await measure([r], 12 * 256, 3);
    r.close();
    const tps = median(rd.rates);
    rows.push([
      `depth ${depth} C${cfg.nEmbd} T256 B12 (${(paramCount(cfg) / 1e6).toFixed(2)}M)`,
      fmt(tps),
      fmt(mfu(cfg, 256, tps) * 100, 1) + '%',
      '-',
      '-',
      '-',
      fmt(rd.best),
      '-',
    ]);
  }

  const head = ['config', 'tetra tok/s', 'tetra MFU', 'PyTorch tok/s', 'PyTorch MFU', 'ratio', 'tetra best step', 'PyTorch best step'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log(
    `headline per-round tok/s: tetra [${res[0].rates.map((x) => fmt(x)).join(' ')}]${res[1] ? `, PyTorch [${res[1].rates.map((x) => fmt(x)).join(' ')}]` : ''}`,
  );
  console.log(
    'tok/s and MFU: median over rounds; best step: tok/s of the fastest single step (least disturbed by other load on this shared machine)',
  );
  console.log(`train_vs_pytorch ${Number.isFinite(torch) ? (tetra / torch).toFixed(2) : 'n/a'}`);
}

await main();
