// The usage ledger: one row per request (key, model snapshot, tokens, cost, latency, status) in
// SQLite, written synchronously before the response goes out, and the reports `tetra usage`
// prints (by key, model and day).
//
// Durability: WAL with synchronous=NORMAL by default. A committed row is in the WAL file (the
// OS page cache) when record() returns, so it survives the server process dying at any point,
// kill -9 included (tested). It does not survive the *machine* losing power before the OS
// flushes; `synchronous: 'full'` (TETRA_LEDGER_SYNC=full) fsyncs every row for that, at the cost
// of one fsync per request.
//
// Cost on the request path: the server calls recordSoon(), which commits every row recorded in
// one event-loop turn in one transaction (group commit: one WAL append and fewer checkpoints for
// many rows; 16 concurrent rows cost ~60 us each against ~170 us one by one, checkpoints
// included) and resolves once that commit is done, so a response still goes out only after its
// row is durable. (Checkpointing from a worker thread was tried: under sustained load the WAL
// never gets fully checkpointed between writes, so it cannot restart and grows without bound.)
import type { Ledger, LedgerRow } from './governance.ts';
import { openDb, type Db } from './home.ts';

export interface LedgerOptions {
  synchronous?: 'normal' | 'full';
}

export type UsageDimension = 'key' | 'model' | 'day' | 'plan' | 'status';

export interface UsageQuery {
  /** Group by these, in this order (default key, model, day). Empty = one total row. */
  by?: UsageDimension[];
  /** Inclusive lower bound on created_at (ISO date or timestamp). */
  since?: string;
  /** Exclusive upper bound on created_at. */
  until?: string;
  keyId?: string;
  model?: string;
}

export interface UsageReportRow {
  key?: string | null;
  model?: string;
  day?: string;
  plan?: string;
  status?: number;
  requests: number;
  /** Requests that ended in an error status (>= 400). */
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cost: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

const COLUMNS: Record<UsageDimension, string> = {
  key: 'key_id',
  model: 'model',
  day: 'substr(created_at, 1, 10)',
  plan: 'plan',
  status: 'status',
};

function checkRow(r: LedgerRow): void {
  for (const f of ['promptTokens', 'completionTokens', 'status'] as const) {
    if (!Number.isInteger(r[f]) || r[f] < 0) throw new RangeError(`ledger: ${f} must be a non-negative integer, got ${r[f]}`);
  }
  for (const f of ['cost', 'latencyMs'] as const) {
    if (!Number.isFinite(r[f]) || r[f] < 0) throw new RangeError(`ledger: ${f} must be a non-negative number, got ${r[f]}`);
  }
  if (!r.requestId) throw new RangeError('ledger: requestId is required');
}

export class SqliteLedger implements Ledger {
  readonly db: Db;
  private readonly insert;
  private readonly insertMany;
  private pending: { row: LedgerRow; resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(dbOrPath: Db | string, opts: LedgerOptions = {}) {
    this.db = typeof dbOrPath === 'string' ? openDb(dbOrPath) : dbOrPath;
    this.db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS usage (
      id INTEGER PRIMARY KEY,
      request_id TEXT NOT NULL,
      key_id TEXT,
      plan TEXT NOT NULL,
      model TEXT NOT NULL,
      endpoint TEXT NOT NULL,
      prompt_tokens INTEGER NOT NULL,
      completion_tokens INTEGER NOT NULL,
      cost REAL NOT NULL,
      latency_ms REAL NOT NULL,
      status INTEGER NOT NULL,
      created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS usage_created ON usage (created_at);
    CREATE INDEX IF NOT EXISTS usage_key_created ON usage (key_id, created_at);
    CREATE INDEX IF NOT EXISTS usage_request ON usage (request_id);`);
    this.insert = this.db.prepare(`INSERT INTO usage
      (request_id, key_id, plan, model, endpoint, prompt_tokens, completion_tokens, cost, latency_ms, status, created_at)
      VALUES (@requestId, @keyId, @plan, @model, @endpoint, @promptTokens, @completionTokens, @cost, @latencyMs, @status, @createdAt)`);
    this.insertMany = this.db.transaction((rows: LedgerRow[]) => { for (const r of rows) this.insert.run(r); });
  }

  /** Synchronous: the row is committed when this returns (see the durability note above). */
  record(row: LedgerRow): void {
    checkRow(row);
    this.insert.run(row);
  }

  /** Group commit (see the note above): resolves once the row's transaction has committed. */
  recordSoon(row: LedgerRow): Promise<void> {
    checkRow(row);
    return new Promise((resolve, reject) => {
      if (this.pending.push({ row, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    try {
      if (batch.length === 1) this.insert.run(batch[0].row);
      else this.insertMany(batch.map((b) => b.row));
    } catch (e) {
      for (const b of batch) b.reject(e);
      return;
    }
    for (const b of batch) b.resolve();
  }


  /** Rows for one request id (normally one). */
  find(requestId: string): LedgerRow[] {
    return this.db.prepare<[string], Record<string, unknown>>('SELECT * FROM usage WHERE request_id = ? ORDER BY id').all(requestId).map(fromDb);
  }

  count(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM usage').get()!.n;
  }

  report(q: UsageQuery = {}): UsageReportRow[] {
    const by = q.by ?? ['key', 'model', 'day'];
    for (const d of by) if (!(d in COLUMNS)) throw new RangeError(`usage: cannot group by '${d}' (expected ${Object.keys(COLUMNS).join(', ')})`);
    const where: string[] = [];
    const params: Record<string, string> = {};
    if (q.since) { where.push('created_at >= @since'); params.since = q.since; }
    if (q.until) { where.push('created_at < @until'); params.until = q.until; }
    if (q.keyId) { where.push('key_id = @keyId'); params.keyId = q.keyId; }
    if (q.model) { where.push('model = @model'); params.model = q.model; }
    const dims = by.map((d) => `${COLUMNS[d]} AS "${d}"`);
    const sql = `SELECT ${[...dims,
      'count(*) AS requests',
      'sum(status >= 400) AS errors',
      'sum(prompt_tokens) AS promptTokens',
      'sum(completion_tokens) AS completionTokens',
      'sum(cost) AS cost',
      'avg(latency_ms) AS avgLatencyMs',
      'max(latency_ms) AS maxLatencyMs',
    ].join(', ')} FROM usage${where.length ? ` WHERE ${where.join(' AND ')}` : ''}${by.length ? ` GROUP BY ${by.map((_, i) => i + 1).join(', ')} ORDER BY ${by.map((_, i) => i + 1).join(', ')}` : ''}`;
    const rows = this.db.prepare(sql).all(params) as UsageReportRow[];
    // An empty ledger still has one (all-zero) total row from SQL's aggregate; drop it.
    return rows.filter((r) => r.requests > 0).map((r) => ({
      ...r,
      cost: Math.round(r.cost * 1e9) / 1e9,
      avgLatencyMs: Math.round(r.avgLatencyMs * 100) / 100,
    }));
  }

  close(): void {
    if (this.pending.length) this.flush();
    this.db.close();
  }
}

function fromDb(r: Record<string, unknown>): LedgerRow {
  return {
    requestId: r.request_id as string,
    keyId: r.key_id as string | null,
    plan: r.plan as string,
    model: r.model as string,
    endpoint: r.endpoint as string,
    promptTokens: r.prompt_tokens as number,
    completionTokens: r.completion_tokens as number,
    cost: r.cost as number,
    latencyMs: r.latency_ms as number,
    status: r.status as number,
    createdAt: r.created_at as string,
  };
}
