// GEMM throughput: tetra's native kernel beside numpy/OpenBLAS, same shapes, same run.
//
//   npx tsx bench/gemm.ts            (TETRA_BENCH_ROUNDS=3, TETRA_BENCH_SECONDS=0.25 per shape)
//
// Shapes: squares, and the GEMMs of a small GPT training step (B*T = 768 tokens, C = 128):
// forward X @ W (NN), its backward dX = dY @ W^T (NT) and dW = X^T @ dY (TN), the qkv
// projection, and the LM head against a tied embedding (logits = X @ wte^T, NT).
// The machine is shared, so tetra and numpy alternate in rounds and each figure is the median
// of the per-round medians. The last line is `gemm_vs_openblas <median ratio at 2 threads>`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeBackend, nativeError } from '../src/tensor/index.ts';
import { oneLineFailures } from './prereqs.ts';

oneLineFailures('bench:kernels');

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

const shapes: Shape[] = [
  { name: 'square 256', M: 256, N: 256, K: 256, transA: false, transB: false },
  { name: 'square 512', M: 512, N: 512, K: 512, transA: false, transB: false },
  { name: 'square 1024', M: 1024, N: 1024, K: 1024, transA: false, transB: false },
  { name: 'fc fwd X@W 768x128 . 128x512', M: 768, N: 512, K: 128, transA: false, transB: false },
  { name: 'fc dX=dY@W^T 768x512 . 512x128', M: 768, N: 128, K: 512, transA: false, transB: true },
  { name: 'fc dW=X^T@dY 128x768 . 768x512', M: 128, N: 512, K: 768, transA: true, transB: false },
  { name: 'qkv X@W 768x128 . 128x384', M: 768, N: 384, K: 128, transA: false, transB: false },
  { name: 'lm head X@wte^T V=256', M: 768, N: 256, K: 128, transA: false, transB: true },
  { name: 'lm head X@wte^T V=4096', M: 768, N: 4096, K: 128, transA: false, transB: true },
];
const threadCounts = [1, 2];
const rounds = Number(process.env.TETRA_BENCH_ROUNDS ?? 3);
const minTime = Number(process.env.TETRA_BENCH_SECONDS ?? 0.25);

const flops = (s: Shape) => 2 * s.M * s.N * s.K;
const median = (x: number[]) => {
  const y = [...x].sort((a, b) => a - b);
  return y.length ? y[y.length >> 1] : NaN;
};

// ---------------------------------------------------------------------------- tetra side

const native = nativeBackend();
if (!native) {
  console.log(`gemm bench: native kernels unavailable (${nativeError()}); run \`npm run build:native\``);
  process.exit(1);
}

function benchTetra(s: Shape): number {
  const A = new Float32Array(s.M * s.K).map(() => Math.random() - 0.5);
  const B = new Float32Array(s.K * s.N).map(() => Math.random() - 0.5);
  const C = new Float32Array(s.M * s.N);
  const args = {
    transA: s.transA,
    transB: s.transB,
    M: s.M,
    N: s.N,
    K: s.K,
    alpha: 1,
    beta: 0,
    A,
    lda: s.transA ? s.M : s.K,
    B,
    ldb: s.transB ? s.K : s.N,
    C,
    ldc: s.N,
  };
  const now = () => Number(process.hrtime.bigint()) / 1e9;
  // Warm up for ~10% of the budget, then time groups of calls of about 2 ms each (as numpy's side).
  let t0 = now(),
    calls = 0;
  while (now() - t0 < minTime * 0.1 || calls < 3) {
    native!.gemm(args);
    calls++;
  }
  const group = Math.max(1, Math.floor(2e-3 / ((now() - t0) / calls)));
  const samples: number[] = [];
  const end = now() + minTime;
  while (now() < end || samples.length < 5) {
    t0 = now();
    for (let i = 0; i < group; i++) native!.gemm(args);
    samples.push((now() - t0) / group);
  }
  return flops(s) / median(samples) / 1e9;
}

// ---------------------------------------------------------------------------- numpy side

// OpenBLAS picks its Haswell kernels on Zen; its SkylakeX kernels are faster where the CPU has
// AVX-512F, but forcing them on a CPU without it dies with an illegal instruction.
function cpuHasAvx512f(): boolean {
  if (existsSync('/proc/cpuinfo')) return /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  return native!.available.includes('avx512');
}
const coreType = cpuHasAvx512f() ? 'SkylakeX' : undefined;
const coreTypeWhy = coreType
  ? 'OPENBLAS_CORETYPE=SkylakeX (the CPU has avx512f; OpenBLAS would otherwise pick Haswell kernels)'
  : 'OpenBLAS picks its own core type (no avx512f here, so forcing SkylakeX would crash)';

const script = join(dirname(fileURLToPath(import.meta.url)), 'gemm_numpy.py');
let numpyMissing: string | undefined;
let numpyVersion = '';

function benchNumpy(threads: number): Record<string, number> | undefined {
  if (numpyMissing) return undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_L2_SIZE;
  delete env.OPENBLAS_CORETYPE;
  if (coreType) env.OPENBLAS_CORETYPE = coreType;
  const r = spawnSync('python3', [script], { input: JSON.stringify({ shapes, minTime }), env, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? String(r.error.message) : (r.stderr || '').trim().split('\n').pop();
    numpyMissing = /No module named/.test(why ?? '')
      ? 'numpy is not installed for python3'
      : r.error
        ? 'python3 is not available'
        : `numpy run failed: ${why}`;
    return undefined;
  }
  const out = JSON.parse(r.stdout) as { numpy: string; gflops: Record<string, number> };
  numpyVersion = out.numpy;
  return out.gflops;
}

// ---------------------------------------------------------------------------- run

const tetra = new Map<string, number[]>(),
  numpy = new Map<string, number[]>();
const key = (s: Shape, t: number) => `${t}|${s.name}`;
const push = (m: Map<string, number[]>, k: string, v: number) => {
  if (!m.has(k)) m.set(k, []);
  m.get(k)!.push(v);
};

const threadsBefore = native.threads();
for (let r = 0; r < rounds; r++) {
  for (const t of threadCounts) {
    native.setThreads(t);
    for (const s of shapes) push(tetra, key(s, t), benchTetra(s));
    const np = benchNumpy(t);
    if (np) for (const s of shapes) push(numpy, key(s, t), np[s.name]);
  }
}
native.setThreads(threadsBefore);

console.log(`gemm: tetra ${native.isa()} vs numpy ${numpyVersion || '-'} (${numpyMissing ? 'skipped: ' + numpyMissing : coreTypeWhy})`);
console.log(`GFLOP/s, median of ${rounds} rounds of ${minTime}s each; ratio = tetra / numpy`);
const w = Math.max(...shapes.map((s) => s.name.length));
console.log(`${'shape'.padEnd(w)}  ${'tr'}  thr  ${'tetra'.padStart(7)}  ${'numpy'.padStart(7)}  ${'ratio'.padStart(5)}`);
const ratios2: number[] = [];
for (const t of threadCounts) {
  for (const s of shapes) {
    const a = median(tetra.get(key(s, t)) ?? []),
      b = median(numpy.get(key(s, t)) ?? []);
    const ratio = a / b;
    if (t === 2 && Number.isFinite(ratio)) ratios2.push(ratio);
    const tr = `${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'}`;
    console.log(
      `${s.name.padEnd(w)}  ${tr}  ${String(t).padStart(3)}  ${a.toFixed(1).padStart(7)}  ` +
        `${(Number.isFinite(b) ? b.toFixed(1) : '-').padStart(7)}  ${(Number.isFinite(ratio) ? ratio.toFixed(2) : '-').padStart(5)}`,
    );
  }
}
console.log(`gemm_vs_openblas ${ratios2.length ? median(ratios2).toFixed(2) : 'n/a'}`);
