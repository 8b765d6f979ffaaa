// pass@k: the probability that at least one of k completions drawn without replacement from n
// generated ones passes, when c of the n passed (the unbiased estimator of the Codex paper):
//   pass@k = 1 - C(n-c, k) / C(n, k)
// The binomials overflow long before n = 200, so it is computed as the equal product
//   C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i)
// which stays in [0, 1] throughout. When n - c < k every draw of k holds a pass: pass@k = 1.

export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`pass@k: n (samples) must be a positive integer, got ${n}`);
  if (!(Number.isInteger(c) && c >= 0 && c <= n)) throw new RangeError(`pass@k: c (correct) must be an integer in [0, n=${n}], got ${c}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= n))
    throw new RangeError(`pass@k: k must be an integer in [1, n=${n}], got ${k} (generate at least k samples per problem)`);
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/**
 * Mean pass@k over problems, or null when some problem has fewer than k samples (the mean would
 * mix estimators; human-eval likewise reports only the k every problem supports).
 */
export function meanPassAtK(problems: readonly { n: number; passed: number }[], k: number): number | null {
  if (!problems.length || problems.some((p) => p.n < k)) return null;
  return problems.reduce((s, p) => s + passAtK(p.n, p.passed, k), 0) / problems.length;
}
