// The run log: openai/evals' JSONL event file, and the same events in SQLite for queries across
// runs.
//
// JSONL (one object per line, as evals/record.py writes it):
//   {"spec": {completion_fns, eval_name, base_eval, split, run_config, created_by, run_id, created_at}}
//   {"run_id", "event_id", "sample_id", "type", "data", "created_by", "created_at"}   per event
//   {"final_report": {...metrics, usage_prompt_tokens, usage_completion_tokens}}
// Event types: sampling {prompt, sampled, usage}, match {correct, expected, picked}, metrics,
// error, and tetra's sample_result (the template's result for a finished sample, which is what
// resume and reports read).
//
// SQLite (one database for all runs): runs(run_id, eval_name, ..., final_report) and
// events(run_id, event_id, sample_id, type, data); data is JSON, so json_extract works.
//
// Writes are buffered and flushed every 200 ms (or every 4,096 events, whichever comes first), at
// the end, and on process exit or SIGINT/SIGTERM while a run is being recorded: the JSONL lines
// in one append, the SQLite rows in one transaction. A SIGKILL loses at most one interval, and
// resume redoes only those samples; events of one sample keep their order. Each event's data is
// serialised once and that JSON goes both into its line and into its row.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { tetraHome } from '../util/index.ts';
import type { RecordEvent, Recorder } from './types.ts';

export interface RunSpec {
  completion_fns: string[];
  eval_name: string;
  base_eval: string;
  split: string;
  run_config: Record<string, unknown>;
  created_by: string;
  run_id: string;
  created_at: string;
}

export interface LoggedEvent {
  run_id: string;
  event_id: number;
  sample_id: string | null;
  type: string;
  data: Record<string, unknown>;
  created_by: string;
  created_at: string;
}

export interface RunLog {
  spec: RunSpec;
  events: LoggedEvent[];
  finalReport: Record<string, unknown> | null;
  path: string;
}

/** openai/evals-style run ids: UTC yymmddHHMMSS then random letters and digits. */
export function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const ts = [
    now.getUTCFullYear() % 100,
    now.getUTCMonth() + 1,
    now.getUTCDate(),
    now.getUTCHours(),
    now.getUTCMinutes(),
    now.getUTCSeconds(),
  ]
    .map(p)
    .join('');
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let tail = '';
  for (let i = 0; i < 7; i++) tail += abc[Math.floor(Math.random() * abc.length)];
  return ts + tail;
}

export const runsDir = (): string => join(tetraHome(), 'eval-runs');
export const defaultDbPath = (): string => join(runsDir(), 'runs.sqlite');

// ---- SQLite

/** An events row: run_id, event_id, sample_id, type, data (JSON text), created_at. */
export type EventRow = [string, number, string | null, string, string, string];

export class RunDatabase {
  readonly db: Database.Database;
  private readonly insertEvent: Database.Statement;

  constructor(readonly path: string = defaultDbPath()) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY, eval_name TEXT NOT NULL, base_eval TEXT, split TEXT,
        completion_fns TEXT NOT NULL, run_config TEXT NOT NULL, created_at TEXT NOT NULL,
        record_path TEXT, final_report TEXT);
      CREATE TABLE IF NOT EXISTS events (
        run_id TEXT NOT NULL, event_id INTEGER NOT NULL, sample_id TEXT, type TEXT NOT NULL,
        data TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (run_id, event_id));
      CREATE INDEX IF NOT EXISTS events_sample ON events (run_id, sample_id);
      CREATE INDEX IF NOT EXISTS events_type ON events (type);`);
    this.insertEvent = this.db.prepare(
      'INSERT OR REPLACE INTO events (run_id, event_id, sample_id, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  upsertRun(spec: RunSpec, recordPath: string): void {
    this.db
      .prepare(`INSERT INTO runs (run_id, eval_name, base_eval, split, completion_fns, run_config, created_at, record_path)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET record_path = excluded.record_path`)
      .run(
        spec.run_id,
        spec.eval_name,
        spec.base_eval,
        spec.split,
        JSON.stringify(spec.completion_fns),
        JSON.stringify(spec.run_config),
        spec.created_at,
        recordPath,
      );
  }

  insertEvents(events: readonly LoggedEvent[]): void {
    this.insertRows(events.map((e) => [e.run_id, e.event_id, e.sample_id, e.type, JSON.stringify(e.data), e.created_at]));
  }

  /** Rows (run_id, event_id, sample_id, type, data as JSON, created_at) in one transaction. */
  insertRows(rows: readonly EventRow[]): void {
    this.db.transaction(() => {
      for (const r of rows) this.insertEvent.run(r);
    })();
  }

  setFinalReport(runId: string, report: Record<string, unknown> | null): void {
    this.db.prepare('UPDATE runs SET final_report = ? WHERE run_id = ?').run(report ? JSON.stringify(report) : null, runId);
  }

  /** Drops a run's events except those of the given samples (resume discards half-done samples). */
  keepOnlySamples(runId: string, keep: ReadonlySet<string>): void {
    const rows = this.db.prepare('SELECT event_id, sample_id FROM events WHERE run_id = ?').all(runId) as {
      event_id: number;
      sample_id: string | null;
    }[];
    const del = this.db.prepare('DELETE FROM events WHERE run_id = ? AND event_id = ?');
    this.db.transaction(() => {
      for (const r of rows) if (r.sample_id !== null && !keep.has(r.sample_id)) del.run(runId, r.event_id);
    })();
  }

  /** The record path of a run id (or a unique prefix of one). */
  findRun(idOrPrefix: string): { run_id: string; record_path: string | null } | undefined {
    const rows = this.db
      .prepare('SELECT run_id, record_path FROM runs WHERE run_id LIKE ? ORDER BY created_at DESC')
      .all(idOrPrefix.replace(/[%_]/g, '') + '%') as { run_id: string; record_path: string | null }[];
    if (rows.length > 1 && rows[0].run_id !== idOrPrefix)
      throw new Error(
        `run id prefix "${idOrPrefix}" matches ${rows.length} runs: ${rows
          .slice(0, 5)
          .map((r) => r.run_id)
          .join(', ')}`,
      );
    return rows[0];
  }

  listRuns(limit = 20): { run_id: string; eval_name: string; completion_fns: string; created_at: string; final_report: string | null }[] {
    return this.db
      .prepare('SELECT run_id, eval_name, completion_fns, created_at, final_report FROM runs ORDER BY created_at DESC LIMIT ?')
      .all(limit) as never;
  }

  close(): void {
    this.db.close();
  }
}

// ---- the recorder a run writes through

export interface RunRecorderOptions {
  spec: RunSpec;
  path: string;
  db?: RunDatabase | null;
  flushMs?: number;
}

export class RunRecorder implements Recorder {
  readonly spec: RunSpec;
  readonly path: string;
  private readonly db: RunDatabase | null;
  private nextId = 0;
  private lines: string[] = [];
  private pending: EventRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly flushMs: number;
  /** '{"run_id":<id>,"event_id":' — every line starts so (JSON.stringify's key order). */
  private readonly linePrefix: string;
  private lastMs = -1;
  private lastIso = '';
  usage = { prompt_tokens: 0, completion_tokens: 0 };

  private constructor(o: RunRecorderOptions, nextId: number) {
    this.spec = o.spec;
    this.path = resolve(o.path);
    this.db = o.db ?? null;
    this.flushMs = o.flushMs ?? 200;
    this.nextId = nextId;
    this.linePrefix = `{"run_id":${JSON.stringify(this.spec.run_id)},"event_id":`;
  }

  /** A new log: writes the spec line (refusing to overwrite an existing file). */
  static create(o: RunRecorderOptions): RunRecorder {
    const r = new RunRecorder(o, 0);
    mkdirSync(dirname(r.path), { recursive: true });
    if (existsSync(r.path)) throw new Error(`record file ${r.path} already exists; pick another --record path or --resume it`);
    writeFileSync(r.path, JSON.stringify({ spec: o.spec }) + '\n');
    r.db?.upsertRun(o.spec, r.path);
    return r;
  }

  /**
   * Reopens an interrupted log: keeps the spec and the events of finished samples (those with a
   * sample_result), drops half-done samples' events and any final report, rewrites the file
   * atomically, and continues numbering events after the kept ones.
   */
  static resume(
    path: string,
    db: RunDatabase | null,
  ): { recorder: RunRecorder; log: RunLog; finished: Map<string, Record<string, unknown>> } {
    const log = readRunLog(path);
    const finished = new Map<string, Record<string, unknown>>();
    for (const e of log.events) if (e.type === 'sample_result' && e.sample_id) finished.set(e.sample_id, e.data);
    const kept = log.events.filter((e) => (e.sample_id === null ? e.type !== 'error' : finished.has(e.sample_id)));
    const tmp = `${path}.resume-tmp`;
    writeFileSync(tmp, [JSON.stringify({ spec: log.spec }), ...kept.map((e) => JSON.stringify(e))].join('\n') + '\n');
    renameSync(tmp, path);
    const r = new RunRecorder(
      { spec: log.spec, path, db },
      kept.reduce((m, e) => Math.max(m, e.event_id + 1), 0),
    );
    for (const e of kept) if (e.type === 'sampling') r.addUsage(e.data);
    if (db) {
      db.upsertRun(log.spec, r.path);
      db.keepOnlySamples(log.spec.run_id, new Set(finished.keys()));
      db.insertEvents(kept);
      db.setFinalReport(log.spec.run_id, null);
    }
    return { recorder: r, log: { ...log, events: kept, finalReport: null }, finished };
  }

  private addUsage(data: Record<string, unknown>): void {
    const u = data.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined;
    if (u) {
      this.usage.prompt_tokens += u.prompt_tokens ?? 0;
      this.usage.completion_tokens += u.completion_tokens ?? 0;
    }
  }

  record(e: RecordEvent): void {
    const id = this.nextId++;
    const now = Date.now();
    if (now !== this.lastMs) {
      this.lastMs = now;
      this.lastIso = new Date(now).toISOString();
    }
    if (e.type === 'sampling') this.addUsage(e.data);
    // Byte for byte JSON.stringify(LoggedEvent), with data serialised once for the line and the row.
    const sampleId = e.sampleId ?? null;
    const data = JSON.stringify(e.data);
    this.lines.push(
      `${this.linePrefix}${id},"sample_id":${sampleId === null ? 'null' : JSON.stringify(sampleId)},"type":${JSON.stringify(e.type)}` +
        `${data === undefined ? '' : `,"data":${data}`},"created_by":"","created_at":"${this.lastIso}"}`,
    );
    if (this.db) this.pending.push([this.spec.run_id, id, sampleId, e.type, data ?? 'null', this.lastIso]);
    if (this.lines.length >= FLUSH_EVENTS) this.flush();
    else if (!this.timer) {
      if (!this.live) {
        this.live = true;
        liveRecorders.add(this);
        watchExit();
      }
      this.timer = setTimeout(this.onTimer, this.flushMs);
      this.timer.unref();
    }
  }

  private live = false;
  private readonly onTimer = () => {
    this.timer = null;
    this.flush();
  };

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.lines.length) {
      const text = this.lines.join('\n') + '\n';
      this.lines = [];
      appendFileSync(this.path, text);
    }
    if (this.db && this.pending.length) {
      const rows = this.pending;
      this.pending = [];
      this.db.insertRows(rows);
    }
    if (this.live) {
      this.live = false;
      liveRecorders.delete(this);
    }
  }

  /** Writes the final_report line (metrics plus token usage) and flushes everything. */
  finish(metrics: Record<string, unknown>): Record<string, unknown> {
    const report = { ...metrics, usage_prompt_tokens: this.usage.prompt_tokens, usage_completion_tokens: this.usage.completion_tokens };
    this.flush();
    appendFileSync(this.path, JSON.stringify({ final_report: report }) + '\n');
    this.db?.setFinalReport(this.spec.run_id, report);
    return report;
  }
}

const FLUSH_EVENTS = 4096;

// Recorders holding buffered events, flushed on exit and on SIGINT/SIGTERM (both synchronous, so
// nothing buffered is lost when a run ends without finish() or is interrupted).
const liveRecorders = new Set<RunRecorder>();
let watching = false;

function flushLive(): void {
  for (const r of [...liveRecorders]) {
    try {
      r.flush();
    } catch {
      /* a failing disk must not turn an exit into a crash loop */
    }
  }
}

function watchExit(): void {
  if (watching) return;
  watching = true;
  process.on('exit', flushLive);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      flushLive();
      // Alone, we must not swallow the signal: restore the default action and raise it again.
      // With other listeners (the CLI's Ctrl-C handler) they decide what happens next.
      if (process.listenerCount(sig) === 1) {
        process.off(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** Reads a JSONL run log; a torn last line (a crash mid-write) is ignored, any other bad line is an error. */
export function readRunLog(path: string): RunLog {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  let spec: RunSpec | null = null;
  let finalReport: Record<string, unknown> | null = null;
  const events: LoggedEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(l);
    } catch (e) {
      if (i >= lines.length - 2) continue; // the last line may be cut short by a crash
      throw new Error(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (o.spec) spec = o.spec as RunSpec;
    else if (o.final_report) finalReport = o.final_report as Record<string, unknown>;
    else events.push(o as unknown as LoggedEvent);
  }
  if (!spec) throw new Error(`${path}: no spec line; is this an eval record file?`);
  return { spec, events, finalReport, path: resolve(path) };
}
