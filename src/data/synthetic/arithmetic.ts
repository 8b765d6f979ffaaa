// Arithmetic: multi-digit addition, subtraction and multiplication with exact answers (BigInt,
// so 20-digit operands are still exact).
//
// Example (seed 1):
//   user:      What is 4821 + 377?
//   assistant: 5198
//   eval:      {"input":[{"role":"user","content":"What is 4821 + 377?"}],"ideal":"5198"}
// The problem key is "a op b"; eval problems are the keys that hash into the held-out 10%.
import { collect, pick, randInt, sample, seededRandom, type GenerateOptions, type SyntheticSample } from './common.ts';

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

export function generateArithmetic(o: ArithmeticOptions): SyntheticSample[] {
  const maxDigits = o.maxDigits ?? 6;
  if (!(Number.isInteger(maxDigits) && maxDigits >= 1 && maxDigits <= 20))
    throw new RangeError(`arithmetic: maxDigits must be an integer in [1, 20], got ${maxDigits}`);
  const ops = o.ops ?? ['+', '-', '*'];
  const r = seededRandom(o.seed, ARITHMETIC_TASK);
  const operand = (): bigint => {
    const digits = randInt(r, 1, maxDigits);
    let s = String(randInt(r, digits === 1 ? 0 : 1, 9));
    for (let i = 1; i < digits; i++) s += String(randInt(r, 0, 9));
    return BigInt(s);
  };
  return collect(o.count, o.split, ARITHMETIC_TASK, () => {
    const a = operand(),
      b = operand(),
      op = pick(r, ops);
    const q = `${a} ${op} ${b}`;
    return sample(ARITHMETIC_TASK, q, [{ role: 'user', content: pick(r, PHRASES)(q) }], String(solve(a, op, b)));
  });
}
