// The scaling report: one self-contained HTML page (inline SVG, no scripts, no CDN) showing what
// the GPT-4 report's Figure 1 shows: the ladder's final losses against compute on log-log axes,
// the fitted L(C) with its bootstrap band, the registered prediction for the target and, once
// trained, the target's measured loss; then, as its Figure 2 does, each capability bucket's
// -mean log pass rate against compute with its law and prediction; then the table of figures.
import { computeLoss, type ComputeLaw } from './fit.ts';
import type { RunResult } from './ladder.ts';
import type { LadderPlan } from './plan.ts';
import type { Prediction, RegistryEntry, Score } from './registry.ts';

export interface ReportInput {
  plan: LadderPlan;
  results: RunResult[];
  law: ComputeLaw;
  /** Laws fitted to bootstrap resamples, for the band. */
  band?: ComputeLaw[];
  prediction?: RegistryEntry & Prediction;
  score?: RegistryEntry & Score;
  /** Capability buckets (registered as `target:metric`): the report's Figure 2, one per bucket. */
  capability?: { prediction: RegistryEntry & Prediction; score?: RegistryEntry & Score }[];
}

const W = 720,
  H = 420,
  M = { l: 70, r: 20, t: 20, b: 50 };
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** One law on log-log axes: the ladder's points, the curve and band, the prediction and the measured target. */
interface Figure {
  points: { name: string; compute: number; value: number }[];
  law: ComputeLaw;
  band?: ComputeLaw[];
  targetFlops: number;
  prediction?: Prediction;
  measured?: number;
  yLabel: string;
}

function figure(f: Figure): string {
  const xs = [...f.points.map((x) => x.compute), f.targetFlops];
  const lx0 = Math.floor(Math.log10(Math.min(...xs))),
    lx1 = Math.ceil(Math.log10(Math.max(...xs)));
  const grid = Array.from({ length: 120 }, (_, i) => 10 ** (lx0 + ((lx1 - lx0) * i) / 119));
  const ys = [
    ...f.points.map((x) => x.value),
    ...grid.map((c) => computeLoss(f.law, c)),
    ...(f.prediction ? f.prediction.interval : []),
    ...(f.measured !== undefined ? [f.measured] : []),
  ].filter((y) => y > 0 && Number.isFinite(y));
  const ly0 = Math.log10(Math.min(...ys) * 0.97),
    ly1 = Math.log10(Math.max(...ys) * 1.03);
  const px = (c: number) => M.l + ((Math.log10(c) - lx0) / (lx1 - lx0)) * (W - M.l - M.r);
  const py = (l: number) => H - M.b - ((Math.log10(Math.max(l, 10 ** (ly0 - 1))) - ly0) / (ly1 - ly0)) * (H - M.t - M.b);
  const path = (pts: [number, number][]) => pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
  const parts: string[] = [];
  if (f.band?.length) {
    const lo = grid.map((c) => Math.min(...f.band!.map((b) => computeLoss(b, c))));
    const hi = grid.map((c) => Math.max(...f.band!.map((b) => computeLoss(b, c))));
    const outline = [
      ...grid.map((c, i) => [px(c), py(hi[i])] as [number, number]),
      ...grid.map((c, i) => [px(c), py(lo[i])] as [number, number]).reverse(),
    ];
    parts.push(`<path d="${path(outline)}Z" fill="#c9d7f2" stroke="none"><title>bootstrap band</title></path>`);
  }
  parts.push(
    `<path d="${path(grid.map((c) => [px(c), py(computeLoss(f.law, c))]))}" fill="none" stroke="#2a5bd7" ` +
      `stroke-width="2"><title>fitted law</title></path>`,
  );
  for (const x of f.points)
    parts.push(
      `<circle cx="${px(x.compute).toFixed(1)}" cy="${py(x.value).toFixed(1)}" r="4" fill="#222"><title>${esc(x.name)}: ` +
        `${x.value.toFixed(4)}</title></circle>`,
    );
  if (f.prediction) {
    const x = px(f.prediction.targetFlops);
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${py(f.prediction.interval[1]).toFixed(1)}" ` +
        `y2="${py(f.prediction.interval[0]).toFixed(1)}" stroke="#2a5bd7" stroke-width="2"/>`,
    );
    parts.push(
      `<rect x="${(x - 5).toFixed(1)}" y="${(py(f.prediction.loss) - 5).toFixed(1)}" width="10" height="10" fill="none" ` +
        `stroke="#2a5bd7" stroke-width="2"><title>prediction ${f.prediction.loss.toFixed(4)}</title></rect>`,
    );
  }
  if (f.measured !== undefined)
    parts.push(
      `<circle cx="${px(f.targetFlops).toFixed(1)}" cy="${py(f.measured).toFixed(1)}" r="6" fill="#d33"><title>target: ` +
        `${f.measured.toFixed(4)}</title></circle>`,
    );
  const axes: string[] = [
    `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#555"/>`,
    `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#555"/>`,
  ];
  for (let e = lx0; e <= lx1; e++)
    axes.push(`<text x="${px(10 ** e).toFixed(1)}" y="${H - M.b + 18}" text-anchor="middle" font-size="12">1e${e}</text>`);
  for (const t of niceTicks(10 ** ly0, 10 ** ly1))
    axes.push(`<text x="${M.l - 8}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end" font-size="12">${t}</text>`);
  axes.push(
    `<text x="${(W + M.l) / 2}" y="${H - 10}" text-anchor="middle" font-size="13">training compute (FLOPs)</text>`,
    `<text transform="translate(16 ${(H - M.b + M.t) / 2}) rotate(-90)" text-anchor="middle" font-size="13">${esc(f.yLabel)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"
role="img" aria-label="${esc(f.yLabel)} against compute, log-log">
${axes.join('\n')}
${parts.join('\n')}
</svg>`;
}

export function scalingReport(r: ReportInput): string {
  const ladder = r.results.filter((x) => x.name !== r.plan.target.name);
  const measured = r.results.find((x) => x.name === r.plan.target.name);
  const lossFigure = figure({
    points: ladder.map((x) => ({ name: x.name, compute: x.flops, value: x.valLoss })),
    law: r.law,
    band: r.band,
    targetFlops: r.plan.target.flops,
    prediction: r.prediction,
    measured: measured?.valLoss,
    yLabel: 'final validation loss',
  });
  const capabilityFigures = (r.capability ?? []).map(
    (c) =>
      `<h2>Capability: ${esc(c.prediction.target)}</h2>\n` +
      figure({
        points: c.prediction.ladder.map((p, i) => ({ name: `ladder point ${i + 1}`, compute: p.compute, value: p.loss })),
        law: c.prediction.law,
        targetFlops: c.prediction.targetFlops,
        prediction: c.prediction,
        measured: c.score?.measuredLoss,
        yLabel: '-mean log pass rate',
      }) +
      `\n<p>${
        c.score
          ? `measured ${c.score.measuredLoss.toFixed(4)}, predicted ${c.score.predictedLoss.toFixed(4)}, ` +
            `error ${c.score.errorPct.toFixed(2)}%`
          : `predicted ${c.prediction.loss.toFixed(4)}; the target is not scored yet`
      }</p>`,
  );
  const rows = [...ladder, ...(measured ? [measured] : [])]
    .map(
      (x) =>
        `<tr><td>${esc(x.name)}</td><td>${x.depth}</td><td>${x.width ?? ''}</td><td>${x.params}</td><td>${x.tokens}</td>` +
        `<td>${x.flops.toExponential(2)}</td><td>${x.valLoss.toFixed(4)}</td><td>${x.valBpb?.toFixed(4) ?? ''}</td></tr>`,
    )
    .join('\n');
  const figures = [
    `L(C) = ${r.law.a.toPrecision(4)} &middot; C<sup>${r.law.b.toFixed(4)}</sup> + ${r.law.c.toFixed(4)}`,
    `extrapolation: ${(r.plan.target.flops / Math.max(...ladder.map((x) => x.flops))).toFixed(0)}x the largest ladder run`,
    r.prediction
      ? `registered prediction: ${r.prediction.loss.toFixed(4)} (${(r.prediction.level * 100).toFixed(0)}% interval ` +
        `${r.prediction.interval[0].toFixed(4)}-${r.prediction.interval[1].toFixed(4)}), ${esc(r.prediction.createdAt)}`
      : 'no prediction registered yet',
    r.score
      ? `measured: ${r.score.measuredLoss.toFixed(4)}, error ${r.score.errorPct.toFixed(2)}% ` +
        `(${r.score.withinInterval ? 'inside' : 'outside'} the interval)`
      : 'target not scored yet',
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tetra scaling report</title>
<style>body{font:15px system-ui,sans-serif;max-width:780px;margin:2em auto;color:#222}table{border-collapse:collapse}
td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}</style>
</head><body>
<h1>Scaling report</h1>
${lossFigure}
<p>Black: ladder runs. Blue: the fitted law and its bootstrap band;
 the square and bar are the prediction and its interval, registered before the target started. Red: the target's measured loss.</p>
<ul>${figures.map((f) => `<li>${f}</li>`).join('')}</ul>
${capabilityFigures.join('\n')}
<table><tr><th>run</th><th>depth</th><th>width</th><th>params</th><th>tokens</th><th>FLOPs</th><th>val loss</th><th>val bpb</th></tr>
${rows}
</table>
</body></html>
`;
}

/** Round tick values between lo and hi for a log axis of losses. */
function niceTicks(lo: number, hi: number): number[] {
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 4));
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(Number(t.toPrecision(6)));
  return ticks.length > 8 ? ticks.filter((_, i) => i % Math.ceil(ticks.length / 8) === 0) : ticks;
}
