// Public surface of src/tensor: the backend contract, both backends, Tensor and the tape.
export type { Backend, FloatArray, GemmArgs, NativeBackend } from './backend.ts';
export { refBackend } from './ref/index.ts';
export { loadNative, addonPath, wrapAddon, type Addon } from './native.ts';
export { defaultBackend, nativeBackend, nativeError } from './select.ts';
export { Tensor, alloc, numel, type DType } from './tensor.ts';
export { checkAttentionLimits, Tape } from './tape.ts';
export { ropeTables } from './rope-tables.ts';
export { mulberry32, Rng } from './random.ts';
