// k-shot prompting as lm-evaluation-harness does it: an optional description, then k solved
// examples and the question, each rendered the same way, joined by fewshot_delimiter "\n\n".
export const FEWSHOT_DELIMITER = '\n\n';

export function fewShotPrompt(o: { description?: string; shots: string[]; question: string }): string {
  return (o.description ?? '') + [...o.shots, o.question].join(FEWSHOT_DELIMITER);
}

/** The first k of the pool (lm-eval's first_n: MMLU takes its k shots from the dev split this way). */
export function firstK<T>(pool: readonly T[], k: number, what: string): T[] {
  if (!(Number.isInteger(k) && k >= 0)) throw new RangeError(`${what}: k (shots) must be a non-negative integer, got ${k}`);
  if (k > pool.length) throw new RangeError(`${what}: asked for ${k} shots but the few-shot pool has ${pool.length} examples`);
  return pool.slice(0, k);
}
