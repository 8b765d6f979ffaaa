// Chooses the backend tetra computes with: the native kernels when they built and load, else
// the TypeScript reference, with one warning line that says how to get the fast path back.
import type { Backend, NativeBackend } from './backend.ts';
import { loadNative } from './native.ts';
import { refBackend } from './ref/index.ts';

let chosen: Backend<Float32Array> | undefined;
let native: NativeBackend | null | undefined;

/** The native backend, or null when it is not available (see nativeError()). */
export function nativeBackend(): NativeBackend | null {
  if (native === undefined) {
    const r = loadNative();
    native = r.backend;
    loadError = r.backend ? undefined : r.error;
    if (r.backend && r.warning) console.warn(`tetra: ${r.warning}; using ${r.backend.isa()}`);
  }
  return native;
}

let loadError: string | undefined;
/** Why the native backend is unavailable, or undefined when it loaded. */
export function nativeError(): string | undefined {
  nativeBackend();
  return loadError;
}

/** The backend to compute with. Warns once (on stderr) when falling back to the reference. */
export function defaultBackend(): Backend<Float32Array> {
  if (chosen) return chosen;
  const n = nativeBackend();
  if (n) {
    chosen = n;
  } else {
    chosen = refBackend;
    if (process.env.TETRA_BACKEND !== 'ref') {
      console.warn(
        `tetra: native kernels unavailable (${loadError}); using the slow TypeScript reference backend. ` +
          'Fix: install g++, make and python3, then run `npm run build:native`.',
      );
    }
  }
  return chosen;
}
