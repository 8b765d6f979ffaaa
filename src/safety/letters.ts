// A text classifier made of a small tetra model that answers with one letter: given a system
// instruction and a user text, the scores are the softmax over the labels' logits at the answer
// position, so one forward pass classifies and the scores are probabilities. The rubric
// classifier (rbrm.ts) and the moderation classifier (moderation.ts) are two of these; both are
// trained with the SFT loop (train.ts).
import { argmax, KVCache, logSoftmax, step, type GPT } from '../model/index.ts';
import type { Backend } from '../tensor/index.ts';
import { renderPrompt, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';

/**
 * Longest text kept, in UTF-8 bytes (a byte model's tokens; at most as many tokens for any other
 * tokenizer): the start of a text is what decides. Counted in bytes, not characters, so a text of
 * multi-byte characters (a sampled model's replacement characters, say) fits the context too.
 */
export const MAX_BYTES = 240;
const utf8 = new TextEncoder();
/** s cut to at most max UTF-8 bytes (then "..." is appended). */
export function clip(s: string, max = MAX_BYTES): string {
  const bytes = utf8.encode(s);
  if (bytes.length <= max) return s;
  // Cut at a character boundary: drop the continuation bytes (10xxxxxx) of a character cut in two.
  let end = Math.max(0, max);
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return `${new TextDecoder().decode(bytes.subarray(0, end))}...`;
}

export interface Classified<L extends string> {
  label: L;
  scores: Record<L, number>;
}

/** The classifier's conversation for one text; with a label, a training example. */
export function letterConversation(system: string, text: string, label?: string): ChatMessage[] {
  const m: ChatMessage[] = [
    { role: 'system', content: system },
    { role: 'user', content: text },
  ];
  return label ? [...m, { role: 'assistant', content: label }] : m;
}

export class LetterClassifier<L extends string> {
  private readonly ids: number[];

  constructor(
    readonly model: GPT,
    readonly tok: Tokenizer,
    private readonly backend: Backend<Float32Array>,
    readonly labels: readonly L[],
    readonly system: string,
  ) {
    this.ids = labels.map((l) => {
      const ids = tok.encode(l);
      if (ids.length !== 1) throw new Error(`classifier: the tokenizer splits "${l}" into ${ids.length} tokens; a label must be one token`);
      return ids[0];
    });
  }

  classifyText(text: string): Classified<L> {
    const ids = renderPrompt(this.tok, letterConversation(this.system, text), { maxTokens: this.model.config.contextLength }).ids;
    const logits = step(this.model, this.backend, [{ cache: new KVCache(this.model.config), tokens: Int32Array.from(ids) }]);
    const lp = logSoftmax(this.ids.map((t) => logits[t]));
    const scores = Object.fromEntries(this.labels.map((l, i) => [l, Math.exp(lp[i])])) as Record<L, number>;
    return { label: this.labels[argmax(lp)], scores };
  }
}
