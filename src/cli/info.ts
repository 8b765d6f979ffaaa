// `tetra info`: which compute backend tetra runs on, with which instruction set and threads,
// and (with --bench) how fast its GEMM is on each instruction set this CPU has.
import type { Command } from './command.ts';
import { addonPath, defaultBackend, nativeBackend, nativeError, type Backend } from '../tensor/index.ts';

function gemmGflops(be: Backend<Float32Array>, n: number, seconds: number): number {
  const A = new Float32Array(n * n).map((_, i) => ((i * 7919) % 13) / 13 - 0.5);
  const C = new Float32Array(n * n);
  const run = () => be.gemm({ transA: false, transB: false, M: n, N: n, K: n, alpha: 1, A, lda: n, B: A, ldb: n, beta: 0, C, ldc: n });
  run();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    run();
    reps++;
  }
  return (2 * n ** 3 * reps) / ((performance.now() - t0) / 1000) / 1e9;
}

export const info: Command = {
  name: 'info',
  summary: 'show the compute backend, instruction set and threads (and GEMM speed with --bench)',
  usage: 'tetra info [--bench] [--json]',
  flags: {
    bench: { type: 'boolean', help: 'measure GEMM GFLOP/s at n=512 on every instruction set' },
    json: { type: 'boolean', help: 'print one JSON object' },
  },
  run(flags) {
    const native = nativeBackend();
    const be = defaultBackend();
    const report: Record<string, unknown> = {
      backend: be.name,
      isa: native?.isa() ?? null,
      available: native?.available ?? [],
      threads: native?.threads() ?? 1,
      addon: native ? addonPath : `unavailable: ${nativeError()}`,
      node: process.version,
    };
    if (flags.bench) {
      const gflops: Record<string, number> = {};
      if (native) {
        const before = native.isa();
        for (const isa of native.available) {
          native.setIsa(isa);
          gflops[isa] = Math.round(gemmGflops(native, 512, 0.5) * 10) / 10;
        }
        native.setIsa(before);
      } else {
        gflops.ref = Math.round(gemmGflops(be, 128, 0.5) * 100) / 100;
      }
      report.gemm_gflops = gflops;
    }
    if (flags.json) {
      console.log(JSON.stringify(report));
    } else {
      for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(12)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
    }
    return 0;
  },
};
