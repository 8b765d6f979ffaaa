// What the gateway counts for GET /metrics, on prom-client (the Node ecosystem's Prometheus
// client: exposition format, and the process and GC series operators expect). Labels only ever
// carry catalog ids, routes, status codes and limit names, never client-supplied strings, so a
// hostile client cannot blow up the number of series.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the server knows about a request once its response has finished. */
export interface RequestObservation {
  route: string;
  /** Snapshot id that served it, or '-' when none was resolved (auth or validation failure). */
  model: string;
  status: number;
  latencyMs: number;
  promptTokens: number;
  completionTokens: number;
  /** Streamed responses: time from request received to the first token written. */
  firstTokenMs?: number;
  /** A 429 from the plan's limits: which one ('requests', 'tokens', 'usage_cap'). */
  limit?: string;
}

/** Seconds; from sub-millisecond gateway work up to multi-minute CPU generations. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  private readonly requests = new Counter({
    name: 'tetra_requests_total',
    help: 'Requests answered, by model, endpoint and HTTP status.',
    labelNames: ['model', 'endpoint', 'status'],
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'tetra_tokens_total',
    help: 'Tokens served in successful responses, by model and kind (prompt or completion).',
    labelNames: ['model', 'kind'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'tetra_request_duration_seconds',
    help: 'Time from request received to response finished, by model.',
    labelNames: ['model'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly firstToken = new Histogram({
    name: 'tetra_time_to_first_token_seconds',
    help: 'Time from request received to the first streamed token, by model.',
    labelNames: ['model'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly queueDepth = new Gauge({
    name: 'tetra_queue_depth',
    help: 'Requests waiting for an engine, by model (sampled at scrape time).',
    labelNames: ['model'],
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: 'tetra_rate_limited_total',
    help: "Requests refused with 429 by the plan's limits, by limit (requests, tokens, usage_cap).",
    labelNames: ['limit'],
    registers: [this.registry],
  });

  /** processMetrics: also export prom-client's process and Node.js series (CPU, memory, GC, event-loop lag). */
  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  observe(o: RequestObservation): void {
    this.requests.inc({ model: o.model, endpoint: o.route, status: o.status });
    if (o.status < 400) {
      if (o.promptTokens) this.tokens.inc({ model: o.model, kind: 'prompt' }, o.promptTokens);
      if (o.completionTokens) this.tokens.inc({ model: o.model, kind: 'completion' }, o.completionTokens);
    }
    this.latency.observe({ model: o.model }, o.latencyMs / 1000);
    if (o.firstTokenMs !== undefined) this.firstToken.observe({ model: o.model }, o.firstTokenMs / 1000);
    if (o.limit !== undefined) this.rateLimited.inc({ limit: o.limit });
  }

  /** The exposition text; queueDepth (per snapshot id) is sampled by the caller at scrape time. */
  render(queueDepth: Record<string, number> = {}): Promise<string> {
    for (const [model, d] of Object.entries(queueDepth)) this.queueDepth.set({ model }, d);
    return this.registry.metrics();
  }
}
