// Learning-rate schedules: linear warmup from 0, then cosine or linear decay to minLr at the
// last step (nanoGPT's shape). step counts from 0.
export interface Schedule {
  lr: number;
  minLr: number;
  warmup: number;
  total: number;
  decay: 'cosine' | 'linear' | 'constant';
}

export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  if (s.decay === 'constant' || s.total <= s.warmup) return s.lr;
  const progress = Math.min(1, (step - s.warmup) / Math.max(1, s.total - 1 - s.warmup));
  const k = s.decay === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return s.minLr + (s.lr - s.minLr) * k;
}
