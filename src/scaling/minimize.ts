// Nelder-Mead simplex minimisation: derivative-free, robust on the small (2-5 parameter), smooth
// but badly scaled objectives scaling-law fits produce. The fits give it a good start (a linear
// solve for the amplitudes at each exponent), so one simplex run from there is enough.

export interface MinimizeOptions {
  /** Stop when the simplex's values differ by less than this (absolute). Default 1e-12. */
  tolerance?: number;
  /** Default 4000 * dimensions. */
  maxEvaluations?: number;
  /** Initial simplex step per coordinate (default 10% of |x0|, or 0.1 where x0 is 0). */
  step?: number[];
}

export interface Minimum {
  x: number[];
  value: number;
  evaluations: number;
}

/** Minimises f from x0 with the standard coefficients (reflect 1, expand 2, contract 0.5, shrink 0.5), restarted once at the optimum. */
export function nelderMead(f: (x: number[]) => number, x0: number[], o: MinimizeOptions = {}): Minimum {
  let best = simplexRun(f, x0, o);
  // A restart from the answer rebuilds a simplex that may have collapsed onto a ridge.
  const again = simplexRun(f, best.x, o);
  if (again.value <= best.value) best = { ...again, evaluations: best.evaluations + again.evaluations };
  return best;
}

function simplexRun(f: (x: number[]) => number, x0: number[], o: MinimizeOptions): Minimum {
  const n = x0.length;
  const tol = o.tolerance ?? 1e-12;
  const maxEval = o.maxEvaluations ?? 4000 * n;
  let evaluations = 0;
  const value = (x: number[]) => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  const pts: number[][] = [x0.slice()];
  for (let i = 0; i < n; i++) {
    const p = x0.slice();
    p[i] += o.step?.[i] ?? (x0[i] !== 0 ? 0.1 * Math.abs(x0[i]) : 0.1);
    pts.push(p);
  }
  let vals = pts.map(value);
  const combine = (a: number[], b: number[], t: number) => a.map((ai, i) => ai + t * (b[i] - ai));
  while (evaluations < maxEval) {
    const order = vals.map((_, i) => i).sort((a, b) => vals[a] - vals[b]);
    const sorted = order.map((i) => pts[i]);
    vals = order.map((i) => vals[i]);
    pts.splice(0, pts.length, ...sorted);
    if (Math.abs(vals[n] - vals[0]) <= tol) break;
    const centroid = new Array(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += pts[i][j] / n;
    const reflected = combine(centroid, pts[n], -1);
    const fr = value(reflected);
    if (fr < vals[0]) {
      const expanded = combine(centroid, pts[n], -2);
      const fe = value(expanded);
      if (fe < fr) {
        pts[n] = expanded;
        vals[n] = fe;
      } else {
        pts[n] = reflected;
        vals[n] = fr;
      }
    } else if (fr < vals[n - 1]) {
      pts[n] = reflected;
      vals[n] = fr;
    } else {
      const outside = fr < vals[n];
      const contracted = combine(centroid, outside ? reflected : pts[n], 0.5);
      const fc = value(contracted);
      if (fc < (outside ? fr : vals[n])) {
        pts[n] = contracted;
        vals[n] = fc;
      } else {
        for (let i = 1; i <= n; i++) {
          pts[i] = combine(pts[0], pts[i], 0.5);
          vals[i] = value(pts[i]);
        }
      }
    }
  }
  let b = 0;
  for (let i = 1; i <= n; i++) if (vals[i] < vals[b]) b = i;
  return { x: pts[b], value: vals[b], evaluations };
}
