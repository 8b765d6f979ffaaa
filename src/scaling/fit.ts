// Scaling-law fits, as the GPT-4 report and Chinchilla make them:
//   loss against compute      L(C) = a * C^b + c                 (GPT-4 report §3.1, b < 0, c the irreducible loss)
//   loss against N and D      L(N, D) = E + A / N^alpha + B / D^beta   (Chinchilla approach 3)
// Both minimise the sum of Huber losses (delta 1e-3) between log predictions and log losses,
// so one bad run moves the fit little. Chinchilla starts L-BFGS from a grid of initialisations;
// here every law is linear in its amplitudes once the exponents are fixed, so a grid over the
// exponents with a weighted linear solve for the amplitudes finds the basin, and Nelder-Mead on
// the full robust objective polishes from the best few starts. Inputs are rescaled by their
// geometric means first, so the solver never sees 1e18 FLOPs.
import { Rng } from '../tensor/index.ts';
import { nelderMead } from './minimize.ts';

export const HUBER_DELTA = 1e-3;

export interface ComputePoint {
  compute: number;
  loss: number;
}
export interface ComputeLaw {
  a: number;
  b: number;
  c: number;
}
export interface ChinchillaPoint {
  params: number;
  tokens: number;
  loss: number;
}
export interface ChinchillaLaw {
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
}

/** Chinchilla's published approach-3 fit (Hoffmann et al. 2022, §3.3). */
export const CHINCHILLA: ChinchillaLaw = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };

export class FitError extends Error {}

export function huber(r: number, delta = HUBER_DELTA): number {
  const a = Math.abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

export const computeLoss = (law: ComputeLaw, compute: number): number => law.a * compute ** law.b + law.c;
export const chinchillaLoss = (law: ChinchillaLaw, params: number, tokens: number): number =>
  law.E + law.A / params ** law.alpha + law.B / tokens ** law.beta;

/** Compute-optimal parameters and tokens for C = 6 N D under a Chinchilla law. */
export function optimalAllocation(law: ChinchillaLaw, compute: number): { params: number; tokens: number } {
  const g = ((law.alpha * law.A) / (law.beta * law.B)) ** (1 / (law.alpha + law.beta));
  const params = g * (compute / 6) ** (law.beta / (law.alpha + law.beta));
  return { params, tokens: compute / 6 / params };
}

function check(values: Record<string, number>[], fields: string[], what: string, min: number): void {
  if (values.length < min) throw new FitError(`${what}: ${values.length} points; a fit needs at least ${min}`);
  values.forEach((p, i) => {
    for (const f of fields) {
      const v = p[f];
      if (!Number.isFinite(v) || v <= 0)
        throw new FitError(`${what}: point ${i} has ${f} ${v}; every ${f} must be a positive finite number`);
    }
  });
}

const geomean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const linspace = (lo: number, hi: number, n: number) => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));

/**
 * Least squares for y ~ X w with relative weights (residual / y, so it approximates a fit in log
 * space), over the non-negative orthant: every subset of active columns is solved and the best
 * feasible one kept (at most 3 columns, so at most 7 small solves).
 */
function nonNegativeFit(columns: number[][], y: number[]): number[] | null {
  const k = columns.length,
    n = y.length;
  let best: { w: number[]; err: number } | null = null;
  for (let mask = 1; mask < 1 << k; mask++) {
    const idx = [...Array(k).keys()].filter((j) => mask & (1 << j));
    const m = idx.length;
    const ata = Array.from({ length: m }, () => new Array(m).fill(0));
    const aty = new Array(m).fill(0);
    for (let i = 0; i < n; i++) {
      const wi = 1 / (y[i] * y[i]);
      for (let r = 0; r < m; r++) {
        aty[r] += wi * columns[idx[r]][i] * y[i];
        for (let c = 0; c < m; c++) ata[r][c] += wi * columns[idx[r]][i] * columns[idx[c]][i];
      }
    }
    const sol = solve(ata, aty);
    if (!sol || sol.some((v) => !(v >= 0))) continue;
    const w = new Array(k).fill(0);
    idx.forEach((j, r) => {
      w[j] = sol[r];
    });
    let err = 0;
    for (let i = 0; i < n; i++) {
      let p = 0;
      for (let j = 0; j < k; j++) p += w[j] * columns[j][i];
      err += ((p - y[i]) / y[i]) ** 2;
    }
    if (!best || err < best.err) best = { w, err };
  }
  return best?.w ?? null;
}

/** Gaussian elimination with partial pivoting; null when singular. */
function solve(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    if (Math.abs(m[p][c]) < 1e-300) return null;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

const logSumExp = (xs: number[]) => {
  const mx = Math.max(...xs);
  return mx + Math.log(xs.reduce((s, x) => s + Math.exp(x - mx), 0));
};

/** Where a non-negative linear solve left an amplitude at 0, its log starts well below the others. */
const safeLog = (v: number, floor: number) => Math.log(v > 0 ? v : floor);

/** Fits L(C) = a * C^b + c (c >= 0, the irreducible loss) to a ladder's final losses. */
export function fitComputeLaw(points: ComputePoint[], delta = HUBER_DELTA): ComputeLaw & { objective: number } {
  check(points as unknown as Record<string, number>[], ['compute', 'loss'], 'L(C) fit', 4);
  const ref = geomean(points.map((p) => p.compute));
  const x = points.map((p) => p.compute / ref),
    y = points.map((p) => p.loss),
    logY = y.map(Math.log);
  // log L = LSE(log a' + b log x, log c): the Chinchilla form with one term.
  const objective = ([la, b, lc]: number[]) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += huber(logSumExp([la + b * Math.log(x[i]), lc]) - logY[i], delta);
    return s;
  };
  const floor = Math.min(...y) * 1e-3;
  const starts: { x: number[]; v: number }[] = [];
  for (const b of linspace(-2, -0.002, 80)) {
    const w = nonNegativeFit([x.map((xi) => xi ** b), x.map(() => 1)], y);
    if (!w || !(w[0] > 0)) continue;
    const s = [Math.log(w[0]), b, safeLog(w[1], floor)];
    starts.push({ x: s, v: objective(s) });
  }
  if (!starts.length) throw new FitError('L(C) fit: the losses do not fall with compute, so no a * C^b + c with b < 0 fits them');
  starts.sort((p, q) => p.v - q.v);
  let best = { x: starts[0].x, value: starts[0].v };
  for (const s of starts.slice(0, 4)) {
    const m = nelderMead(objective, s.x);
    if (m.value < best.value) best = m;
  }
  const [la, b, lc] = best.x;
  return { a: Math.exp(la) * ref ** -b, b, c: Math.exp(lc), objective: best.value };
}

/** Fits Chinchilla's L(N, D) = E + A / N^alpha + B / D^beta (approach 3). */
export function fitChinchilla(points: ChinchillaPoint[], delta = HUBER_DELTA): ChinchillaLaw & { objective: number } {
  check(points as unknown as Record<string, number>[], ['params', 'tokens', 'loss'], 'L(N, D) fit', 5);
  const nRef = geomean(points.map((p) => p.params)),
    dRef = geomean(points.map((p) => p.tokens));
  const ln = points.map((p) => Math.log(p.params / nRef)),
    ld = points.map((p) => Math.log(p.tokens / dRef));
  const y = points.map((p) => p.loss),
    logY = y.map(Math.log);
  const objective = ([la, lb, le, alpha, beta]: number[]) => {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += huber(logSumExp([la - alpha * ln[i], lb - beta * ld[i], le]) - logY[i], delta);
    return s;
  };
  const floor = Math.min(...y) * 1e-3;
  const starts: { x: number[]; v: number }[] = [];
  for (const alpha of linspace(0.02, 1.5, 30)) {
    for (const beta of linspace(0.02, 1.5, 30)) {
      const w = nonNegativeFit([ln.map((l) => Math.exp(-alpha * l)), ld.map((l) => Math.exp(-beta * l)), y.map(() => 1)], y);
      if (!w) continue;
      const s = [safeLog(w[0], floor), safeLog(w[1], floor), safeLog(w[2], floor), alpha, beta];
      starts.push({ x: s, v: objective(s) });
    }
  }
  if (!starts.length) throw new FitError('L(N, D) fit: no non-negative E, A, B fits these losses');
  starts.sort((p, q) => p.v - q.v);
  let best = { x: starts[0].x, value: starts[0].v };
  for (const s of starts.slice(0, 5)) {
    const m = nelderMead(objective, s.x);
    if (m.value < best.value) best = m;
  }
  const [la, lb, le, alpha, beta] = best.x;
  return { E: Math.exp(le), A: Math.exp(la) * nRef ** alpha, B: Math.exp(lb) * dRef ** beta, alpha, beta, objective: best.value };
}

export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
  level: number;
}

/**
 * Fits to bootstrap resamples of the points (with replacement). Resamples with fewer than
 * `minDistinct` distinct points are drawn again (a law cannot be fitted to two points); a
 * resample the fit refuses (FitError) is skipped.
 */
export function bootstrapFits<P, T>(
  points: P[],
  fit: (sample: P[]) => T,
  o: { samples?: number; seed?: number; minDistinct?: number } = {},
): T[] {
  const samples = o.samples ?? 200,
    rng = new Rng(o.seed ?? 1),
    minDistinct = o.minDistinct ?? Math.min(4, points.length);
  const fits: T[] = [];
  for (let s = 0; s < samples; s++) {
    let idx: number[];
    do idx = points.map(() => Math.floor(rng.next() * points.length));
    while (new Set(idx).size < minDistinct);
    try {
      fits.push(fit(idx.map((i) => points[i])));
    } catch (e) {
      if (!(e instanceof FitError)) throw e;
    }
  }
  return fits;
}

/** A percentile bootstrap interval for a statistic of a fit (a prediction, an exponent). */
export function bootstrap<P>(
  points: P[],
  statistic: (sample: P[]) => number,
  o: { samples?: number; level?: number; seed?: number; minDistinct?: number } = {},
): Interval {
  const samples = o.samples ?? 200,
    level = o.level ?? 0.9;
  const values = bootstrapFits(points, statistic, { ...o, samples }).filter((v) => Number.isFinite(v));
  if (values.length < samples / 2) throw new FitError(`bootstrap: only ${values.length} of ${samples} resamples could be fitted`);
  values.sort((a, b) => a - b);
  const q = (p: number) => values[Math.min(values.length - 1, Math.max(0, Math.round(p * (values.length - 1))))];
  return { estimate: statistic(points), lo: q((1 - level) / 2), hi: q(1 - (1 - level) / 2), level };
}
