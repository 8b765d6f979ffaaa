// pass@k against values computed by hand from the binomial definition 1 - C(n-c,k)/C(n,k).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { meanPassAtK, passAtK } from '../../src/evals/passk.ts';

/** Exact binomial with BigInt, for checking the product form at sizes where doubles overflow. */
function binom(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}
const close = (a: number | null, b: number) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
const exact = (n: number, c: number, k: number) => 1 - Number((binom(n - c, k) * 10n ** 15n) / binom(n, k)) / 1e15;

describe('pass@k', () => {
  it('is c/n at k = 1', () => {
    close(passAtK(10, 3, 1), 0.3);
    assert.equal(passAtK(200, 0, 1), 0);
    assert.equal(passAtK(5, 5, 1), 1);
  });

  it('matches hand-computed binomial ratios', () => {
    // n=5, c=2, k=2: 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-12);
    // n=10, c=1, k=5: 1 - C(9,5)/C(10,5) = 1 - 126/252
    assert.ok(Math.abs(passAtK(10, 1, 5) - 0.5) < 1e-12);
    // n=4, c=1, k=3: 1 - C(3,3)/C(4,3) = 1 - 1/4
    assert.ok(Math.abs(passAtK(4, 1, 3) - 0.75) < 1e-12);
  });

  it('is 1 when fewer than k samples failed', () => {
    assert.equal(passAtK(10, 8, 3), 1);
    assert.equal(passAtK(10, 10, 10), 1);
  });

  it('stays exact at n = 200, k = 100 where the binomials overflow doubles', () => {
    for (const [c, k] of [
      [1, 100],
      [7, 10],
      [13, 100],
      [50, 1],
      [150, 10],
    ]) {
      const got = passAtK(200, c, k);
      assert.ok(Math.abs(got - exact(200, c, k)) < 1e-12, `c=${c} k=${k}: ${got} vs ${exact(200, c, k)}`);
    }
  });

  it('refuses k larger than n and counts out of range', () => {
    assert.throws(() => passAtK(5, 1, 10), /at least k samples/);
    assert.throws(() => passAtK(5, 6, 1), /c \(correct\)/);
  });

  it('averages over problems and reports null when a problem has fewer than k samples', () => {
    close(
      meanPassAtK(
        [
          { n: 10, passed: 3 },
          { n: 10, passed: 5 },
        ],
        1,
      ),
      0.4,
    );
    assert.equal(
      meanPassAtK(
        [
          { n: 10, passed: 3 },
          { n: 4, passed: 1 },
        ],
        5,
      ),
      null,
    );
  });
});
