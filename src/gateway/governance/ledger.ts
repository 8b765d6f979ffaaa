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
// Cost on the request path: `tetra serve` records through JournaledLedger (below): one append to
// a journal file per request, moved into SQLite by a worker thread (see ledger-journal.ts). The
// durability is the same (the journal line is in the page cache when record() returns); what
// moves off the request path is the commit and the WAL checkpoints. SqliteLedger.record and
// recordSoon (group commit: rows finishing in one event-loop turn share one transaction) remain
// for embedders that want rows in SQLite the moment they are answered. Opening a SqliteLedger on
// a file moves in any journaled rows first, so `tetra usage` and a restarted server see every
// row of a server that was killed.
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Ledger, LedgerRow } from './contract.ts';
import { openDb, type Db } from '../home.ts';
import { checkRow, encodeRow, ingestJournals, journalDir, writing, type IngestResult, type OwnJournal } from './ledger-journal.ts';

const ROTATE_BYTES = 8 << 20;

export interface LedgerOptions {
  synchronous?: 'normal' | 'full';
  /** Move journaled rows in when opening (default true; the journal's own worker passes false). */
  ingestOnOpen?: boolean;
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
    this.insertMany = this.db.transaction((rows: LedgerRow[]) => {
      for (const r of rows) this.insert.run(r);
    });
    // Rows a server journaled but had not moved in yet (it was killed, or is still running).
    if (opts.ingestOnOpen !== false) this.ingestJournals();
  }

  /** Moves journaled rows into this database (see ledger-journal.ts); `own` when called by the journal's writer. */
  ingestJournals(own: OwnJournal | null = null): IngestResult {
    const dir = journalDir(this.db.name);
    return dir ? ingestJournals(this.db, this.insertMany, dir, own) : { rows: 0, bad: [] };
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
    return this.db
      .prepare<[string], Record<string, unknown>>('SELECT * FROM usage WHERE request_id = ? ORDER BY id')
      .all(requestId)
      .map(fromDb);
  }

  count(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM usage').get()!.n;
  }

  report(q: UsageQuery = {}): UsageReportRow[] {
    const by = q.by ?? ['key', 'model', 'day'];
    for (const d of by)
      if (!(d in COLUMNS)) throw new RangeError(`usage: cannot group by '${d}' (expected ${Object.keys(COLUMNS).join(', ')})`);
    const where: string[] = [];
    const params: Record<string, string> = {};
    if (q.since) {
      where.push('created_at >= @since');
      params.since = q.since;
    }
    if (q.until) {
      where.push('created_at < @until');
      params.until = q.until;
    }
    if (q.keyId) {
      where.push('key_id = @keyId');
      params.keyId = q.keyId;
    }
    if (q.model) {
      where.push('model = @model');
      params.model = q.model;
    }
    const dims = by.map((d) => `${COLUMNS[d]} AS "${d}"`);
    const positions = by.map((_, i) => i + 1).join(', ');
    const groupBy = by.length ? ` GROUP BY ${positions} ORDER BY ${positions}` : '';
    const sql = `SELECT ${[
      ...dims,
      'count(*) AS requests',
      'sum(status >= 400) AS errors',
      'sum(prompt_tokens) AS promptTokens',
      'sum(completion_tokens) AS completionTokens',
      'sum(cost) AS cost',
      'avg(latency_ms) AS avgLatencyMs',
      'max(latency_ms) AS maxLatencyMs',
    ].join(', ')} FROM usage${where.length ? ` WHERE ${where.join(' AND ')}` : ''}${groupBy}`;
    const rows = this.db.prepare(sql).all(params) as UsageReportRow[];
    // An empty ledger still has one (all-zero) total row from SQL's aggregate; drop it.
    return rows
      .filter((r) => r.requests > 0)
      .map((r) => ({
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

/**
 * The server's ledger: `record` appends the row to this process's journal (durable when it
 * returns; TETRA_LEDGER_SYNC=full adds an fdatasync per row) and a worker thread moves rows into
 * SQLite every `intervalMs`. `sync()` ingests at once (tests, reports); `close()` stops the
 * worker and leaves every row in SQLite.
 */
export class JournaledLedger implements Ledger {
  private readonly dir: string;
  private readonly prefix = `${process.pid}-${Date.now()}`;
  private seq = 0;
  private fd: number;
  private file: string;
  private bytes = 0;
  private worker: Worker | null;
  private readonly exited: Promise<void>;
  private readonly fullSync: boolean;

  constructor(
    readonly store: SqliteLedger,
    opts: { intervalMs?: number; synchronous?: 'normal' | 'full'; log?: (line: string) => void } = {},
  ) {
    this.fullSync = opts.synchronous === 'full';
    const dbPath = store.db.name;
    const dir = journalDir(dbPath);
    if (!dir) throw new Error('ledger journal: an in-memory database has no journal; use SqliteLedger.record');
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    this.file = this.nextName();
    this.fd = openSync(join(dir, this.file), 'a');
    writing.add(this.prefix);
    const log = opts.log ?? ((l: string) => console.error(l));
    // The worker runs TypeScript through tsx, as the main thread does.
    const boot =
      `import('tsx/esm/api').then((m) => { m.register(); return ` +
      `import(${JSON.stringify(new URL('./ledger-worker.ts', import.meta.url).href)}); });`;
    this.worker = new Worker(boot, {
      eval: true,
      workerData: { dbPath, own: { prefix: this.prefix, live: this.file }, intervalMs: opts.intervalMs ?? 50 },
    });
    this.worker.on('message', (m: { bad?: string[]; error?: string }) => {
      for (const b of m.bad ?? []) log(`tetra serve: ledger journal: skipped an unreadable line in ${b}`);
      if (m.error)
        log(`tetra serve: ledger journal: moving rows into SQLite failed (they stay in the journal and are retried): ${m.error}`);
    });
    this.worker.on('error', (e) =>
      log(`tetra serve: ledger journal worker failed (rows stay in the journal until the next start): ${e.message}`),
    );
    this.exited = new Promise((resolve) => this.worker!.once('exit', () => resolve()));
    this.worker.unref();
  }

  private nextName(): string {
    return `${this.prefix}-${String(this.seq++).padStart(6, '0')}.jsonl`;
  }

  /** Durable when it returns: one write() of the encoded row to the journal. */
  record(row: LedgerRow): void {
    checkRow(row);
    const line = Buffer.from(encodeRow(row));
    let at = 0;
    while (at < line.length) at += writeSync(this.fd, line, at);
    if (this.fullSync) fdatasyncSync(this.fd);
    this.bytes += line.length;
    if (this.bytes >= ROTATE_BYTES) {
      closeSync(this.fd);
      this.file = this.nextName();
      this.fd = openSync(join(this.dir, this.file), 'a');
      this.bytes = 0;
      this.worker?.postMessage({ live: this.file });
    }
  }

  /** Moves every journaled row into SQLite now, on this thread. */
  sync(): IngestResult {
    return this.store.ingestJournals({ prefix: this.prefix, live: this.file });
  }

  async close(): Promise<void> {
    if (this.worker) {
      this.worker.ref(); // wait for its last pass even when nothing else keeps the process alive
      this.worker.postMessage({ stop: true });
      await this.exited;
      this.worker = null;
    }
    closeSync(this.fd);
    writing.delete(this.prefix);
    this.store.ingestJournals({ prefix: this.prefix, live: null }); // every row in SQLite, our files deleted
  }
}
