// Prometheus metrics: a small registry (counters, gauges, histograms with labels) rendered in
// the text exposition format 0.0.4, and the gateway's own set (requests, tokens, latency, queue
// depth, rate-limit refusals, per model) that GET /metrics serves.

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string | number>;

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

abstract class Metric<S> {
  protected readonly series = new Map<string, { labels: string[]; state: S }>();

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[]) {
    if (!NAME_RE.test(name)) throw new Error(`metrics: invalid metric name '${name}'`);
    for (const l of labelNames) {
      if (!LABEL_RE.test(l) || l.startsWith('__') || l === 'le') throw new Error(`metrics: invalid label name '${l}' on ${name}`);
    }
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected abstract init(): S;
  protected abstract lines(name: string, labelText: (extra?: string) => string, state: S): string[];

  protected get(labels: Labels): S {
    const values = this.labelNames.map((l) => {
      const v = labels[l];
      if (v === undefined) throw new Error(`metrics: ${this.name} needs label '${l}'`);
      return String(v);
    });
    if (Object.keys(labels).length !== this.labelNames.length) {
      const extra = Object.keys(labels).filter((k) => !this.labelNames.includes(k));
      throw new Error(`metrics: ${this.name} has no label ${extra.map((e) => `'${e}'`).join(', ')} (labels: ${this.labelNames.join(', ') || 'none'})`);
    }
    const id = values.join('\u0000');
    let s = this.series.get(id);
    if (!s) this.series.set(id, (s = { labels: values, state: this.init() }));
    return s.state;
  }

  render(): string {
    const out = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, state } of this.series.values()) {
      const pairs = this.labelNames.map((l, i) => `${l}="${escapeLabel(labels[i])}"`);
      const labelText = (extra?: string) => {
        const all = extra ? [...pairs, extra] : pairs;
        return all.length ? `{${all.join(',')}}` : '';
      };
      out.push(...this.lines(this.name, labelText, state));
    }
    return out.join('\n');
  }
}

export class Counter extends Metric<{ v: number }> {
  readonly type = 'counter';
  protected init() { return { v: 0 }; }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`metrics: counter ${this.name} can only go up, got ${by}`);
    this.get(labels).v += by;
  }
  value(labels: Labels = {}): number { return this.get(labels).v; }
  protected lines(name: string, lt: (e?: string) => string, s: { v: number }) { return [`${name}${lt()} ${formatValue(s.v)}`]; }
}

export class Gauge extends Metric<{ v: number }> {
  readonly type = 'gauge';
  protected init() { return { v: 0 }; }
  set(labels: Labels, v: number): void { this.get(labels).v = v; }
  inc(labels: Labels = {}, by = 1): void { this.get(labels).v += by; }
  dec(labels: Labels = {}, by = 1): void { this.get(labels).v -= by; }
  value(labels: Labels = {}): number { return this.get(labels).v; }
  protected lines(name: string, lt: (e?: string) => string, s: { v: number }) { return [`${name}${lt()} ${formatValue(s.v)}`]; }
}

interface HistState { counts: number[]; sum: number; count: number }

export class Histogram extends Metric<HistState> {
  readonly type = 'histogram';
  readonly buckets: number[];
  constructor(name: string, help: string, labelNames: readonly string[], buckets: number[]) {
    super(name, help, labelNames);
    if (!buckets.length || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) {
      throw new Error(`metrics: ${name} buckets must be finite and strictly increasing, got ${buckets.join(', ')}`);
    }
    this.buckets = buckets;
  }
  protected init(): HistState { return { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }; }
  observe(labels: Labels, v: number): void {
    const s = this.get(labels);
    // Counts per bucket are kept non-cumulative and summed at render time, so observe is O(log n).
    let lo = 0, hi = this.buckets.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (v <= this.buckets[mid]) hi = mid; else lo = mid + 1; }
    if (lo < this.buckets.length) s.counts[lo]++;
    s.sum += v;
    s.count++;
  }
  snapshot(labels: Labels = {}): { sum: number; count: number } {
    const s = this.get(labels);
    return { sum: s.sum, count: s.count };
  }
  protected lines(name: string, lt: (e?: string) => string, s: HistState): string[] {
    const out: string[] = [];
    let cum = 0;
    this.buckets.forEach((b, i) => {
      cum += s.counts[i];
      out.push(`${name}_bucket${lt(`le="${formatValue(b)}"`)} ${cum}`);
    });
    out.push(`${name}_bucket${lt('le="+Inf"')} ${s.count}`);
    out.push(`${name}_sum${lt()} ${formatValue(s.sum)}`);
    out.push(`${name}_count${lt()} ${s.count}`);
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric<unknown>>();

  private add<M extends Metric<any>>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metrics: '${m.name}' is already registered`);
    this.metrics.set(m.name, m);
    return m;
  }
  counter(name: string, help: string, labels: readonly string[] = []): Counter { return this.add(new Counter(name, help, labels)); }
  gauge(name: string, help: string, labels: readonly string[] = []): Gauge { return this.add(new Gauge(name, help, labels)); }
  histogram(name: string, help: string, labels: readonly string[], buckets: number[]): Histogram { return this.add(new Histogram(name, help, labels, buckets)); }

  render(): string {
    return [...this.metrics.values()].map((m) => m.render()).join('\n') + '\n';
  }
}

// ---- the gateway's metrics ----
import type { GatewayMetrics as ServerMetrics, RequestObservation as ServerObservation } from './metrics.ts';

/** Seconds; from sub-millisecond gateway work up to multi-minute CPU generations. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface RequestObservation {
  model: string;
  endpoint: string;
  status: number;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  /** Time to first token for streamed responses. */
  firstTokenMs?: number;
}

/** Also the server's GatewayMetrics (src/gateway/metrics.ts): pass it as GatewayOptions.metrics. */
export class GatewayMetrics implements ServerMetrics {
  readonly registry = new Registry();
  readonly requests = this.registry.counter('tetra_requests_total', 'Requests answered, by model, endpoint and HTTP status.', ['model', 'endpoint', 'status']);
  readonly tokens = this.registry.counter('tetra_tokens_total', 'Tokens processed, by model and kind (prompt or completion).', ['model', 'kind']);
  readonly latency = this.registry.histogram('tetra_request_duration_seconds', 'Time from request received to response finished, by model.', ['model'], LATENCY_BUCKETS);
  readonly firstToken = this.registry.histogram('tetra_time_to_first_token_seconds', 'Time to the first streamed token, by model.', ['model'], LATENCY_BUCKETS);
  readonly queueDepth = this.registry.gauge('tetra_queue_depth', 'Requests admitted and waiting for or running on an engine, by model.', ['model']);
  readonly rateLimited = this.registry.counter('tetra_rate_limited_total', 'Requests refused with 429, by limit (requests, tokens, usage_cap).', ['limit']);

  observeRequest(o: RequestObservation): void {
    this.requests.inc({ model: o.model, endpoint: o.endpoint, status: o.status });
    if (o.promptTokens) this.tokens.inc({ model: o.model, kind: 'prompt' }, o.promptTokens);
    if (o.completionTokens) this.tokens.inc({ model: o.model, kind: 'completion' }, o.completionTokens);
    this.latency.observe({ model: o.model }, o.latencyMs / 1000);
    if (o.firstTokenMs !== undefined) this.firstToken.observe({ model: o.model }, o.firstTokenMs / 1000);
  }

  /** A 429, by the limit that refused it: 'requests', 'tokens' or 'usage_cap'. */
  observeRefusal(limit: string): void { this.rateLimited.inc({ limit }); }

  /** Pair each enter with one leave (in a finally) so the gauge cannot drift. */
  enterQueue(model: string): void { this.queueDepth.inc({ model }); }
  leaveQueue(model: string): void { this.queueDepth.dec({ model }); }

  /** The server's per-request hook (its `route` is our `endpoint`). */
  observe(o: ServerObservation): void {
    this.observeRequest({ model: o.model, endpoint: o.route, status: o.status, promptTokens: o.status < 400 ? o.promptTokens : 0, completionTokens: o.status < 400 ? o.completionTokens : 0, latencyMs: o.latencyMs });
  }

  /** queueDepth (per snapshot, sampled at scrape time by the server) replaces the gauge's values. */
  render(queueDepth?: Record<string, number>): string {
    if (queueDepth) for (const [model, d] of Object.entries(queueDepth)) this.queueDepth.set({ model }, d);
    return this.registry.render();
  }
}
