// Loads the native kernels (native/, built by node-gyp into build/Release/tetra.node) and wraps
// them as a Backend. The addon checks every buffer against the sizes given and throws a
// RangeError naming the argument; this file only maps argument objects to positional calls.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GemmArgs, NativeBackend } from './backend.ts';

export interface Addon {
  info(): { isa: string; available: string[]; threads: number; cores: number; warning?: string };
  setIsa(isa: string): void;
  setThreads(n: number): void;
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    strideA: number,
    B: Float32Array,
    ldb: number,
    strideB: number,
    beta: number,
    C: Float32Array,
    ldc: number,
    strideC: number,
    batch: number,
  ): void;
  // biome-ignore lint/suspicious/noExplicitAny: the addon's exports, each wrapped with its real signature below
  [op: string]: any;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
// TETRA_ADDON points at another build of the addon (tests use it to exercise the fallback).
export const addonPath = process.env.TETRA_ADDON || join(root, 'build/Release/tetra.node');

export type NativeLoad = { backend: NativeBackend; warning?: string } | { backend: null; error: string };

export function loadNative(): NativeLoad {
  if (process.env.TETRA_BACKEND === 'ref') return { backend: null, error: 'TETRA_BACKEND=ref' };
  if (!existsSync(addonPath)) return { backend: null, error: `${addonPath} is missing` };
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (e) {
    return { backend: null, error: (e as Error).message.split('\n')[0] };
  }
  const info = addon.info();
  const backend = wrapAddon(addon);
  // An addon built from older sources lacks the newer ops: the reference backend, said once.
  const missing = Object.entries(backend).filter(([, f]) => f === undefined);
  if (missing.length) return { backend: null, error: `${addonPath} is older than the sources (no ${missing.map(([k]) => k).join(', ')})` };
  return { backend, warning: info.warning };
}

/** A loaded addon as a Backend (bench/ab-addons.ts wraps two builds side by side with it). */
export function wrapAddon(m: Addon): NativeBackend {
  const info = m.info();
  return {
    name: 'native',
    available: info.available,
    isa: () => m.info().isa,
    setIsa: (isa) => m.setIsa(isa),
    threads: () => m.info().threads,
    setThreads: (n) => m.setThreads(n),
    gemm: (a: GemmArgs<Float32Array>) =>
      m.gemm(
        a.transA,
        a.transB,
        a.M,
        a.N,
        a.K,
        a.alpha,
        a.A,
        a.lda,
        a.strideA ?? 0,
        a.B,
        a.ldb,
        a.strideB ?? 0,
        a.beta,
        a.C,
        a.ldc,
        a.strideC ?? 0,
        a.batch ?? 1,
      ),
    add: m.add,
    axpy: m.axpy,
    scale: m.scale,
    sumSquares: m.sumSquares,
    embeddingForward: m.embeddingForward,
    embeddingBackward: m.embeddingBackward,
    rmsnormForward: m.rmsnormForward,
    rmsnormBackward: m.rmsnormBackward,
    ropeForward: m.ropeForward,
    ropeBackward: m.ropeBackward,
    swigluForward: m.swigluForward,
    swigluBackward: m.swigluBackward,
    crossEntropyForward: m.crossEntropyForward,
    crossEntropyBackward: m.crossEntropyBackward,
    softmaxForward: m.softmaxForward,
    softmaxBackward: m.softmaxBackward,
    adamwStep: m.adamwStep,
    attentionForward: m.attentionForward,
    attentionBackward: m.attentionBackward,
    windowsForward: m.windowsForward,
  };
}
