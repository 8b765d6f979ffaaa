// Arithmetic: multi-digit addition, subtraction and multiplication with exact answers (BigInt,
// so 20-digit operands are still exact).
//
// Example (seed 1):
//   user:      What is 4821 + 377?
//   assistant: 5198
//   eval:      {"input":[{"role":"user","content":"What is 4821 + 377?"}],"ideal":"5198"}
// The problem key is "a op b"; eval problems are the keys that hash into the held-out 10%.
import { collect, pick, randInt, sample, seededRandom, splitOfKey, type GenerateOptions, type SyntheticSample } from './common.ts';

export const ARITHMETIC_TASK = 'arithmetic';
export type ArithmeticOp = '+' | '-' | '*';

export interface ArithmeticOptions extends GenerateOptions {
  /** Largest operand length in digits (default 6, at most 20). */
  maxDigits?: number;
  ops?: ArithmeticOp[];
}

export function solve(a: bigint, op: ArithmeticOp, b: bigint): bigint {
  return op === '+' ? a + b : op === '-' ? a - b : a * b;
}

const PHRASES = [
  (q: string) => `What is ${q}?`,
  (q: string) => `Compute ${q}.`,
  (q: string) => `${q} = ?`,
  (q: string) => `Calculate ${q} and give only the number.`,
];

/** A random operand of exactly `digits` digits (0-9 for one digit). */
const operandOf = (r: () => number, digits: number): bigint => {
  let s = String(randInt(r, digits === 1 ? 0 : 1, 9));
  for (let i = 1; i < digits; i++) s += String(randInt(r, 0, 9));
  return BigInt(s);
};

export function generateArithmetic(o: ArithmeticOptions): SyntheticSample[] {
  const maxDigits = o.maxDigits ?? 6;
  if (!(Number.isInteger(maxDigits) && maxDigits >= 1 && maxDigits <= 20))
    throw new RangeError(`arithmetic: maxDigits must be an integer in [1, 20], got ${maxDigits}`);
  const ops = o.ops ?? ['+', '-', '*'];
  const r = seededRandom(o.seed, ARITHMETIC_TASK);
  const operand = (): bigint => operandOf(r, randInt(r, 1, maxDigits));
  return collect(o.count, o.split, ARITHMETIC_TASK, () => {
    const a = operand(),
      b = operand(),
      op = pick(r, ops);
    const q = `${a} ${op} ${b}`;
    return sample(ARITHMETIC_TASK, q, [{ role: 'user', content: pick(r, PHRASES)(q) }], String(solve(a, op, b)));
  });
}

// ---- addition as pretraining text, for the capability law (src/scaling/capability.ts)
//
// A corpus line is `a + b = c` with both operands of the same number of digits (the difficulty
// bucket); a capability problem is the same line cut after `= `, held out by the same key rule as
// the conversations above (a problem key `a + b` of the eval split never appears in the corpus).

export interface AdditionProblem {
  key: string;
  digits: number;
  /** Context and expected continuation: `\na + b = ` and `c\n` (a whole line after a line end). */
  prompt: string;
  answer: string;
}

const problemOf = (a: bigint, b: bigint, digits: number): AdditionProblem => ({
  key: `${a} + ${b}`,
  digits,
  prompt: `\n${a} + ${b} = `,
  answer: `${a + b}\n`,
});

/**
 * `count` addition problems of one split with both operands of `digits` digits (fewer when the
 * split holds fewer: 1-digit sums are 100 problems, about 10 of them held out).
 */
export function additionProblems(o: { seed: number; count: number; split: 'train' | 'eval'; digits: number }): AdditionProblem[] {
  if (!(Number.isInteger(o.digits) && o.digits >= 1 && o.digits <= 18))
    throw new RangeError(`addition: digits must be an integer in [1, 18], got ${o.digits}`);
  const lo = o.digits === 1 ? 0n : 10n ** BigInt(o.digits - 1),
    hi = 10n ** BigInt(o.digits);
  if ((hi - lo) ** 2n <= 10_000n) {
    const all: AdditionProblem[] = [];
    for (let a = lo; a < hi; a++)
      for (let b = lo; b < hi; b++) if (splitOfKey(ARITHMETIC_TASK, `${a} + ${b}`) === o.split) all.push(problemOf(a, b, o.digits));
    const r = seededRandom(o.seed, `${ARITHMETIC_TASK}:${o.digits}`);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, o.count);
  }
  const r = seededRandom(o.seed, `${ARITHMETIC_TASK}:${o.digits}`);
  const seen = new Set<string>();
  return collect(o.count, o.split, ARITHMETIC_TASK, () => {
    const p = problemOf(operandOf(r, o.digits), operandOf(r, o.digits), o.digits);
    if (seen.has(p.key)) return null;
    seen.add(p.key);
    return sample(ARITHMETIC_TASK, p.key, [], '');
  }).map((s) => {
    const [a, b] = s.key.split(' + ').map(BigInt);
    return problemOf(a, b, o.digits);
  });
}

/** One pretraining document: `lines` lines `a + b = c` of train-split problems, 1 to maxDigits digits. */
export function additionDocument(seed: number, index: number, lines = 32, maxDigits = 4): string {
  const r = seededRandom(seed + index * 7919, `${ARITHMETIC_TASK}:doc`);
  const out: string[] = [];
  while (out.length < lines) {
    const digits = randInt(r, 1, maxDigits);
    const p = problemOf(operandOf(r, digits), operandOf(r, digits), digits);
    if (splitOfKey(ARITHMETIC_TASK, p.key) === 'train') out.push(`${p.key} = ${p.answer.trimEnd()}`);
  }
  return out.join('\n');
}
