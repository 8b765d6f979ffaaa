// The TypeScript reference backend: every op as plain loops, generic over Float32Array and
// Float64Array (float64 is what the finite-difference gradient checks run in).
import type { Backend, FloatArray } from '../backend.ts';
import { gemm } from './gemm.ts';
import { add, axpy, scale, sumSquares } from './elementwise.ts';
import { embeddingForward, embeddingBackward } from './embedding.ts';
import { rmsnormForward, rmsnormBackward } from './rmsnorm.ts';
import { ropeForward, ropeBackward } from './rope.ts';
import { swigluForward, swigluBackward } from './swiglu.ts';
import { crossEntropyForward, crossEntropyBackward } from './crossentropy.ts';
import { softmaxForward, softmaxBackward } from './softmax.ts';
import { adamwStep } from './adamw.ts';
import { attentionForward, attentionBackward } from './attention.ts';
import { windowsForward } from './windows.ts';

export const refBackend: Backend<FloatArray> = {
  name: 'ref',
  gemm,
  add,
  axpy,
  scale,
  sumSquares,
  embeddingForward,
  embeddingBackward,
  rmsnormForward,
  rmsnormBackward,
  ropeForward,
  ropeBackward,
  swigluForward,
  swigluBackward,
  crossEntropyForward,
  crossEntropyBackward,
  softmaxForward,
  softmaxBackward,
  adamwStep,
  attentionForward,
  attentionBackward,
  windowsForward,
};
