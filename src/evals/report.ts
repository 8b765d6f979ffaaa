// Reading a finished (or interrupted) run back: one row per sample with prompt, output, expected
// answer and verdict; a terminal summary table; and a self-contained HTML page (inline CSS, JS
// and SVG, no external URLs) with the metrics, their intervals, the calibration plot when the
// samples carry confidences, and every sample, filterable by text and verdict.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { calibrationOf, type Calibration } from './metrics.ts';
import { readRunLog, type RunDatabase, type RunLog } from './recorder.ts';
import { chatToText } from './samples.ts';
import type { Sample } from './types.ts';

export interface SampleRow {
  sampleId: string;
  index: number;
  prompt: string;
  output: string;
  expected: string;
  verdict: 'correct' | 'incorrect' | 'invalid' | 'error' | 'unfinished' | 'scored';
  /** Template-specific detail: the choice, score, f1, confidence... */
  result: Record<string, unknown> | null;
  error?: string;
  /** Every completion of the sample in order (model-graded ones include the grader's). */
  samplings: { prompt: string; sampled: string; fn?: string }[];
}

/** A run by JSONL path, or by run id (a unique prefix is enough) looked up in the run database. */
export function openRun(ref: string, db?: RunDatabase | null): RunLog {
  if (existsSync(ref)) return readRunLog(resolve(ref));
  if (!db) throw new Error(`no record file ${ref}, and no run database to look the run id up in`);
  const hit = db.findRun(ref);
  if (!hit) throw new Error(`no run ${ref}: not a record file, and the run database (${db.path}) has no such run id`);
  if (!hit.record_path || !existsSync(hit.record_path))
    throw new Error(`run ${hit.run_id}: its record file ${hit.record_path ?? '(none)'} is gone`);
  return readRunLog(hit.record_path);
}

const text = (x: unknown): string =>
  x === null || x === undefined
    ? ''
    : typeof x === 'string'
      ? x
      : Array.isArray(x) && x.every((m) => m && typeof m === 'object' && 'content' in m)
        ? chatToText(x as Sample['input'])
        : JSON.stringify(x);

export function verdictOf(result: Record<string, unknown> | null): SampleRow['verdict'] {
  if (!result) return 'unfinished';
  if (result.invalid === true) return 'invalid';
  if (typeof result.correct === 'boolean') return result.correct ? 'correct' : 'incorrect';
  if (typeof result.score === 'number') return result.score > 0 ? 'correct' : 'incorrect';
  return 'scored';
}

export function sampleRows(log: RunLog): SampleRow[] {
  const by = new Map<string, SampleRow>();
  const row = (id: string): SampleRow => {
    let r = by.get(id);
    if (!r) {
      const idx = Number(id.slice(id.lastIndexOf('.') + 1));
      r = {
        sampleId: id,
        index: Number.isFinite(idx) ? idx : -1,
        prompt: '',
        output: '',
        expected: '',
        verdict: 'unfinished',
        result: null,
        samplings: [],
      };
      by.set(id, r);
    }
    return r;
  };
  for (const e of log.events) {
    if (!e.sample_id) continue;
    const r = row(e.sample_id);
    if (e.type === 'sampling') {
      const sampled = Array.isArray(e.data.sampled) ? String(e.data.sampled[0] ?? '') : text(e.data.sampled);
      r.samplings.push({ prompt: text(e.data.prompt), sampled, fn: e.data.fn as string | undefined });
      if (r.samplings.length === 1) {
        r.prompt = text(e.data.prompt);
        r.output = sampled;
      }
    } else if (e.type === 'match' && !r.expected) {
      r.expected = text(e.data.expected);
    } else if (e.type === 'sample_result') {
      const result = (e.data.result ?? e.data) as Record<string, unknown>;
      r.result = result;
      if (!r.expected && e.data.ideal !== undefined && e.data.ideal !== null) r.expected = text(e.data.ideal);
      if (!r.prompt && e.data.input !== undefined) r.prompt = text(e.data.input);
      r.verdict = verdictOf(result);
      r.error = undefined;
    } else if (e.type === 'error' && !r.result) {
      r.verdict = 'error';
      r.error = String(e.data.message ?? '');
    }
  }
  return [...by.values()].sort((a, b) => a.index - b.index);
}

// ---- terminal summary

const fmt = (v: unknown): string =>
  typeof v === 'number'
    ? Number.isInteger(v)
      ? String(v)
      : v.toFixed(4)
    : v === null || v === undefined
      ? '-'
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);

/** Metric rows: name, value, and the 95% interval when the report has one. */
export function metricRows(report: Record<string, unknown>): [string, string, string][] {
  const rows: [string, string, string][] = [];
  for (const [k, v] of Object.entries(report)) {
    if (/_ci_(low|high)$/.test(k)) continue;
    const lo = report[`${k}_ci_low`],
      hi = report[`${k}_ci_high`];
    const ci = typeof lo === 'number' && typeof hi === 'number';
    rows.push([k, ci && typeof v === 'number' ? v.toFixed(4) : fmt(v), ci ? `[${lo.toFixed(4)}, ${hi.toFixed(4)}]` : '']);
  }
  return rows;
}

export function summaryTable(log: RunLog): string {
  const rows = sampleRows(log);
  const tally = new Map<string, number>();
  for (const r of rows) tally.set(r.verdict, (tally.get(r.verdict) ?? 0) + 1);
  const head = [
    `run ${log.spec.run_id}  eval ${log.spec.eval_name}  completion fns ${log.spec.completion_fns.join(', ')}`,
    `samples ${rows.length}: ` +
      `${[...tally].map(([k, n]) => `${k} ${n}`).join(', ')}${log.finalReport ? '' : '  (no final report: interrupted?)'}`,
  ];
  const m = metricRows(log.finalReport ?? {});
  const w0 = Math.max(6, ...m.map((r) => r[0].length)),
    w1 = Math.max(5, ...m.map((r) => r[1].length));
  const table = [
    `${'metric'.padEnd(w0)}  ${'value'.padStart(w1)}  95% CI`,
    `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(20)}`,
    ...m.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`),
  ];
  return [...head, '', ...table].join('\n');
}

// ---- HTML

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A reliability diagram: accuracy per confidence bin against the diagonal, bar width = bin. */
export function reliabilitySvg(cal: Calibration, title = 'Reliability diagram'): string {
  const W = 360,
    H = 360,
    P = 40,
    S = W - 2 * P;
  const x = (v: number) => P + v * S,
    y = (v: number) => H - P - v * S;
  const bars = cal.bins
    .map((b) => {
      if (!b.count) return '';
      const h = (b.accuracy ?? 0) * S;
      const gap = (b.confidence ?? 0) - (b.accuracy ?? 0);
      return (
        `<rect x="${x(b.lo).toFixed(1)}" y="${(H - P - h).toFixed(1)}" width="${((b.hi - b.lo) * S - 1).toFixed(1)}" ` +
        `height="${h.toFixed(1)}" fill="#4a7bd0"><title>confidence ${b.lo.toFixed(2)}-${b.hi.toFixed(2)}: ${b.count} samples, ` +
        `accuracy ${(b.accuracy ?? 0).toFixed(3)}, mean confidence ${(b.confidence ?? 0).toFixed(3)}, gap ` +
        `${gap.toFixed(3)}</title></rect>`
      );
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (t) =>
        `<text x="${x(t)}" y="${H - P + 16}" font-size="11" text-anchor="middle">${t}</text><text x="${P - 6}" y="${y(t) + 4}" ` +
        `font-size="11" text-anchor="end">${t}</text>`,
    )
    .join('');
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
<rect x="${P}" y="${P}" width="${S}" height="${S}" fill="#f6f7f9" stroke="#999"/>${bars}
<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#d33" stroke-dasharray="4 3"/>${ticks}
<text x="${W / 2}" y="${H - 6}" font-size="12" text-anchor="middle">confidence</text>
<text x="12" y="${H / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">accuracy</text>
<text x="${W / 2}" y="${P - 12}"
font-size="13" text-anchor="middle">${esc(title)} (ECE ${cal.ece.toFixed(4)}, ${cal.bins.length} bins, n=${cal.n})</text></svg>`;
}

export interface HtmlOptions {
  bins?: number;
}

export function htmlReport(log: RunLog, o: HtmlOptions = {}): string {
  const rows = sampleRows(log);
  const cal = calibrationOf(
    rows.filter((r) => r.result).map((r) => r.result!),
    o.bins ?? 10,
  );
  const metrics = metricRows(log.finalReport ?? {});
  const verdicts = [...new Set(rows.map((r) => r.verdict))].sort();
  const sampling = (x: { fn?: string; prompt: string; sampled: string }, i: number) =>
    `<div class="s"><b>#${i + 1}${x.fn ? ` ${esc(x.fn)}` : ''}</b>${pre(x.prompt)}<b>&rarr;</b>${pre(x.sampled)}</div>`;
  const pre = (s: string) => `<pre>${esc(s)}</pre>`;
  const detail = (r: SampleRow) => {
    const res = r.result
      ? Object.entries(r.result)
          .filter(([k]) => !['sampleId'].includes(k) && !(typeof r.result![k] === 'string' && (r.result![k] as string).length > 200))
          .map(([k, v]) => `${esc(k)}=${esc(fmt(v))}`)
          .join(' ')
      : '';
    const more =
      r.samplings.length > 1
        ? `<details><summary>${r.samplings.length} ` + `completions</summary>${r.samplings.map(sampling).join('')}</details>`
        : '';
    return `${res}${r.error ? `<div class="err">${esc(r.error)}</div>` : ''}${more}`;
  };
  const body = rows
    .map(
      (r) =>
        `<tr class="v-${r.verdict}" ` +
        `data-verdict="${r.verdict}"><td>${esc(r.sampleId)}</td><td>${pre(r.prompt)}</td><td>${pre(r.output)}</td>` +
        `<td>${pre(r.expected)}</td><td class="verdict">${r.verdict}</td><td>${detail(r)}</td></tr>`,
    )
    .join('\n');
  const spec = log.spec;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(spec.eval_name)} - ${esc(spec.run_id)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}
pre{white-space:pre-wrap;word-break:break-word;margin:0;max-width:40em;font:12px/1.35 ui-monospace,monospace}
.v-correct .verdict{color:#176b2c;font-weight:600}.v-incorrect .verdict,.v-error .verdict{color:#b3261e;font-weight:600}
.v-invalid .verdict{color:#a15c00;font-weight:600}
.err{color:#b3261e}.meta td:first-child{font-weight:600}#filters{margin:12px 0}.s{margin:6px 0}
</style></head><body>
<h1>${esc(spec.eval_name)}</h1>
<table class="meta"><tr><td>run</td><td>${esc(spec.run_id)}</td></tr><tr><td>completion functions</td>
<td>${esc(spec.completion_fns.join(', '))}</td></tr>
<tr><td>created</td><td>${esc(spec.created_at)}</td></tr><tr><td>samples</td>
<td>${rows.length}${log.finalReport ? '' : ' (no final report: the run was interrupted)'}</td></tr>
<tr><td>run config</td><td>${pre(JSON.stringify(spec.run_config, null, 1))}</td></tr></table>
<h2>Metrics</h2>
<table><tr><th>metric</th><th>value</th><th>95% bootstrap CI</th>
</tr>${metrics.map(([a, b, c]) => `<tr><td>${esc(a)}</td><td>${esc(b)}</td><td>${esc(c)}</td></tr>`).join('')}</table>
${cal ? `<h2>Calibration</h2>${reliabilitySvg(cal)}` : ''}
<h2>Samples</h2>
<div id="filters"><input id="q" type="search" placeholder="filter text" size="40"> <select id="verdict">
<option value="">all verdicts</option>${verdicts.map((v) => `<option>${v}</option>`).join('')}</select> <span id="shown"></span></div>
<table id="samples"><thead><tr><th>sample</th><th>prompt</th><th>output</th><th>expected</th><th>verdict</th><th>detail</th></tr>
</thead><tbody>
${body}
</tbody></table>
<script>
(function(){var q=document.getElementById('q'),v=document.getElementById('verdict'),n=document.getElementById('shown');
var rows=[].slice.call(document.querySelectorAll('#samples tbody tr'));
function apply(){var t=q.value.toLowerCase(),w=v.value,k=0;
rows.forEach(function(r){var ok=(!w||r.dataset.verdict===w)&&(!t||r.textContent.toLowerCase().indexOf(t)>=0);
r.style.display=ok?'':'none';if(ok)k++;});n.textContent=k+' of '+rows.length+' shown';}
q.addEventListener('input',apply);v.addEventListener('change',apply);apply();})();
</script></body></html>
`;
}
