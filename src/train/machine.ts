// What training assumes about this machine when not told: its nominal peak (for MFU) and how
// many data-parallel replicas to run.
import { nativeBackend } from '../tensor/index.ts';

/** Nominal peak FLOP/s for MFU: FMA units x lanes x 2 x clock, per thread (3 GHz assumed). */
export function nominalPeakFlops(): number {
  const n = nativeBackend();
  const perCycle = n?.isa() === 'avx512' ? 64 : n?.isa() === 'avx2' ? 32 : 8;
  return perCycle * 3e9 * (n?.threads() ?? 1);
}

/** Data-parallel replicas when --replicas is not given: one per kernel thread (src/train/parallel.ts). */
export function defaultReplicas(): number {
  return nativeBackend()?.threads() ?? 1;
}
