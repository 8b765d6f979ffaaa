// Comparing two runs: each shared metric's difference (B - A) with a 95% bootstrap interval,
// paired over the samples both runs finished when they share sample ids (the same eval and
// sample order), unpaired otherwise; and the samples whose verdict flipped.
import { bootstrapDiff, bootstrapDiffUnpaired, type Interval } from './metrics.ts';
import type { RunLog } from './recorder.ts';
import { sampleRows, type SampleRow } from './report.ts';

export interface MetricDiff {
  metric: string;
  a: number;
  b: number;
  diff: number;
  ci: Interval | null;
  paired: boolean;
}
export interface Flip {
  sampleId: string;
  from: string;
  to: string;
  prompt: string;
  outputA: string;
  outputB: string;
  expected: string;
}
export interface Comparison {
  a: RunLog;
  b: RunLog;
  metrics: MetricDiff[];
  flips: Flip[];
  shared: number;
}

/** A sample's value for a per-sample metric, or undefined when the sample does not carry it. */
function perSample(r: SampleRow, metric: string): number | undefined {
  const res = r.result;
  if (!res) return undefined;
  if (metric === 'accuracy') return typeof res.correct === 'boolean' ? (res.correct ? 1 : 0) : undefined;
  const v = res[metric];
  return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : undefined;
}

const SKIP = /(_ci_low|_ci_high|_bootstrap_std)$|^usage_|^n$|^unfinished$|^errors$/;

export function compareRuns(a: RunLog, b: RunLog): Comparison {
  const ra = sampleRows(a),
    rb = sampleRows(b);
  const mapB = new Map(rb.map((r) => [r.sampleId, r]));
  const shared = ra.filter((r) => r.result && mapB.get(r.sampleId)?.result);
  const fa = a.finalReport ?? {},
    fb = b.finalReport ?? {};
  const metrics: MetricDiff[] = [];
  for (const k of Object.keys(fa)) {
    if (SKIP.test(k) || typeof fa[k] !== 'number' || typeof fb[k] !== 'number') continue;
    const va = fa[k] as number,
      vb = fb[k] as number;
    let ci: Interval | null = null,
      paired = false;
    const pa = shared.map((r) => perSample(r, k)),
      pb = shared.map((r) => perSample(mapB.get(r.sampleId)!, k));
    if (shared.length && pa.every((x) => x !== undefined) && pb.every((x) => x !== undefined)) {
      ci = bootstrapDiff(pa as number[], pb as number[]);
      paired = true;
    } else {
      const xa = ra.map((r) => perSample(r, k)).filter((x): x is number => x !== undefined);
      const xb = rb.map((r) => perSample(r, k)).filter((x): x is number => x !== undefined);
      if (xa.length && xb.length) ci = bootstrapDiffUnpaired(xa, xb);
    }
    metrics.push({ metric: k, a: va, b: vb, diff: vb - va, ci, paired });
  }
  const flips: Flip[] = [];
  for (const r of shared) {
    const o = mapB.get(r.sampleId)!;
    const from = r.result!.choice !== undefined && r.verdict === 'scored' ? String(r.result!.choice) : r.verdict;
    const to = o.result!.choice !== undefined && o.verdict === 'scored' ? String(o.result!.choice) : o.verdict;
    if (from !== to)
      flips.push({ sampleId: r.sampleId, from, to, prompt: r.prompt, outputA: r.output, outputB: o.output, expected: r.expected });
  }
  return { a, b, metrics, flips, shared: shared.length };
}

const clip = (s: string, n: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? t.slice(0, n - 1) + '…' : t;
};

export function formatComparison(c: Comparison, maxFlips = 20): string {
  const f = (x: number) => x.toFixed(4);
  const lines = [
    `A: ${c.a.spec.run_id}  ${c.a.spec.eval_name}  (${c.a.spec.completion_fns.join(', ')})`,
    `B: ${c.b.spec.run_id}  ${c.b.spec.eval_name}  (${c.b.spec.completion_fns.join(', ')})`,
    `samples finished by both: ${c.shared}`,
    '',
  ];
  const w = Math.max(6, ...c.metrics.map((m) => m.metric.length));
  lines.push(`${'metric'.padEnd(w)}  ${'A'.padStart(8)}  ${'B'.padStart(8)}  ${'B - A'.padStart(8)}  95% CI of B - A`);
  for (const m of c.metrics) {
    const ci = m.ci
      ? `[${f(m.ci.low)}, ${f(m.ci.high)}] ${m.paired ? 'paired' : 'unpaired'}${m.ci.low > 0 || m.ci.high < 0 ? ' *' : ''}`
      : '';
    lines.push(`${m.metric.padEnd(w)}  ${f(m.a).padStart(8)}  ${f(m.b).padStart(8)}  ${(m.diff >= 0 ? '+' : '') + f(m.diff)}  ${ci}`);
  }
  lines.push('', `flipped samples: ${c.flips.length}${c.flips.length > maxFlips ? ` (first ${maxFlips})` : ''}`);
  for (const fl of c.flips.slice(0, maxFlips)) {
    lines.push(
      `  ${fl.sampleId}: ${fl.from} -> ${fl.to}  prompt "${clip(fl.prompt, 60)}"  A "${clip(fl.outputA, 30)}"  B ` +
        `"${clip(fl.outputB, 30)}"  expected "${clip(fl.expected, 30)}"`,
    );
  }
  return lines.join('\n');
}

/**
 * Several runs of one eval side by side (base, SFT, SFT+DPO...): each metric of the first run per
 * run, and each later run's difference from the first with its 95% interval (compareRuns).
 */
export function formatSideBySide(runs: RunLog[]): string {
  if (runs.length < 2) throw new Error('side by side: give at least two runs');
  const [first, ...rest] = runs;
  const base = first.finalReport ?? {};
  const diffs = rest.map((r) => new Map(compareRuns(first, r).metrics.map((m) => [m.metric, m])));
  const f = (x: number) => x.toFixed(4);
  const names = runs.map((_, i) => `${String.fromCharCode(65 + (i % 26))}${i >= 26 ? i : ''}`);
  const lines = runs.map((r, i) => `${names[i]}: ${r.spec.run_id}  ${r.spec.eval_name}  (${r.spec.completion_fns.join(', ')})`);
  const metrics = Object.keys(base).filter((k) => !SKIP.test(k) && typeof base[k] === 'number');
  const w = Math.max(6, ...metrics.map((m) => m.length));
  const col = 22;
  const heads = rest.map((_, i) => `  ${`${names[i + 1]} (${names[i + 1]} - A)`.padEnd(col)}`);
  lines.push('', `${'metric'.padEnd(w)}  ${names[0].padStart(8)}${heads.join('')}`);
  for (const m of metrics) {
    const a = base[m] as number;
    const cells = rest.map((r, i) => {
      const v = r.finalReport?.[m];
      if (typeof v !== 'number') return `  ${'n/a'.padEnd(col)}`;
      const ci = diffs[i].get(m)?.ci;
      const star = ci && (ci.low > 0 || ci.high < 0) ? '*' : '';
      return `  ${`${f(v)} (${v - a >= 0 ? '+' : ''}${f(v - a)}${star})`.padEnd(col)}`;
    });
    lines.push(`${m.padEnd(w)}  ${f(a).padStart(8)}${cells.join('')}`);
  }
  lines.push('', '* the 95% interval of the difference from A excludes 0');
  return lines.join('\n');
}
