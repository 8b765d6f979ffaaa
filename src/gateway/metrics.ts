// What the gateway counts for GET /metrics, behind a small interface so the governance side can
// replace the registry (GatewayOptions.metrics) without touching the routes. Labels only ever
// carry catalog ids, routes and status codes, never client-supplied strings, so a hostile
// client cannot blow up the number of series.

export interface RequestObservation {
  route: string;
  /** Snapshot id that served it, or '-' when none was resolved (auth or validation failure). */
  model: string;
  status: number;
  latencyMs: number;
  promptTokens: number;
  completionTokens: number;
}

export interface GatewayMetrics {
  observe(o: RequestObservation): void;
  /** Prometheus text exposition; queueDepth is per snapshot id, sampled at scrape time. */
  render(queueDepth: Record<string, number>): string;
}

const BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class BasicMetrics implements GatewayMetrics {
  private requests = new Map<string, number>();
  private tokens = new Map<string, number>();
  private latency = new Map<string, { buckets: number[]; sum: number; count: number }>();

  observe(o: RequestObservation): void {
    const rk = `route="${o.route}",model="${o.model}",status="${o.status}"`;
    this.requests.set(rk, (this.requests.get(rk) ?? 0) + 1);
    const served = o.status < 400;
    if (served && o.promptTokens) this.add(this.tokens, `model="${o.model}",kind="prompt"`, o.promptTokens);
    if (served && o.completionTokens) this.add(this.tokens, `model="${o.model}",kind="completion"`, o.completionTokens);
    const lk = `route="${o.route}",model="${o.model}"`;
    let h = this.latency.get(lk);
    if (!h) this.latency.set(lk, (h = { buckets: BUCKETS_S.map(() => 0), sum: 0, count: 0 }));
    const s = o.latencyMs / 1000;
    BUCKETS_S.forEach((b, i) => { if (s <= b) h!.buckets[i]++; });
    h.sum += s;
    h.count++;
  }

  private add(m: Map<string, number>, k: string, v: number) { m.set(k, (m.get(k) ?? 0) + v); }

  render(queueDepth: Record<string, number>): string {
    const out: string[] = [];
    out.push('# HELP tetra_requests_total API requests by route, model and HTTP status.', '# TYPE tetra_requests_total counter');
    for (const [k, v] of this.requests) out.push(`tetra_requests_total{${k}} ${v}`);
    out.push('# HELP tetra_tokens_total Prompt and completion tokens served.', '# TYPE tetra_tokens_total counter');
    for (const [k, v] of this.tokens) out.push(`tetra_tokens_total{${k}} ${v}`);
    out.push('# HELP tetra_request_duration_seconds Time from request to last byte.', '# TYPE tetra_request_duration_seconds histogram');
    for (const [k, h] of this.latency) {
      BUCKETS_S.forEach((b, i) => out.push(`tetra_request_duration_seconds_bucket{${k},le="${b}"} ${h.buckets[i]}`));
      out.push(`tetra_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`, `tetra_request_duration_seconds_sum{${k}} ${h.sum}`, `tetra_request_duration_seconds_count{${k}} ${h.count}`);
    }
    out.push('# HELP tetra_queue_depth Requests waiting for an engine.', '# TYPE tetra_queue_depth gauge');
    for (const [m, d] of Object.entries(queueDepth)) out.push(`tetra_queue_depth{model="${m}"} ${d}`);
    return out.join('\n') + '\n';
  }
}
