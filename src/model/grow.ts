// A checkpoint's weights carried into a larger model that starts as the same function. What the
// old model lacks starts fresh from the seed: vision weights (image input still to learn), and
// blocks added on top, except that an added block's two residual projections (wo, w_down) are
// zero, so it writes nothing into the residual stream until training moves them. The grown model's
// logits then equal the old one's at step 0, and its added depth is free to learn what the old
// depth could not (docs/MODEL.md: one more block for left/right relations).
import { paramShapes, type GPTConfig } from './config.ts';
import { GPT } from './gpt.ts';

/** Weights for `config` (nLayer >= the old model's): every old tensor kept, the rest fresh from the seed, added blocks silent. */
export function grownWeights(old: ReadonlyMap<string, Float32Array>, config: GPTConfig, seed: number): Map<string, Float32Array> {
  const shapes = new Map(paramShapes(config));
  for (const [k, w] of old) {
    const shape = shapes.get(k);
    if (!shape) throw new Error(`grow: the old model's ${k} has no place in the new config (fewer layers, or no image input?)`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (w.length !== n) throw new Error(`grow: ${k} holds ${w.length} values, the new config's ${n} ([${shape.join(', ')}])`);
  }
  const out = GPT.init(config, seed).weights();
  for (const [k, w] of out) {
    const kept = old.get(k);
    if (kept) w.set(kept);
    else if (/^blocks\.\d+\.(wo|w_down)$/.test(k)) w.fill(0);
  }
  return out;
}
