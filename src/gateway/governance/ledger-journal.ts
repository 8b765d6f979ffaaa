// The ledger's write-ahead journal: how a served request's row becomes durable in one append.
//
// A SQLite commit per request (WAL pages for the table and its three indexes, and every ~250
// rows a checkpoint that copies megabytes) cost the gateway about half a millisecond of CPU per
// request and put multi-millisecond stalls on the request path. Instead, the server appends each
// row as one JSON line to a journal file with a single write() before it answers: once write()
// returns, the line is in the OS page cache and survives the process dying (kill -9 included),
// exactly the guarantee of SQLite's WAL with synchronous=NORMAL. A worker thread moves the lines
// into SQLite in batches (ledger-worker.ts), off the request path.
//
// Files: `<db>.journal/<pid>-<start ms>-<seq>.jsonl`, one writer process each, rotated at 8 MiB.
// Each line is the row's values in a fixed order. Moving lines into SQLite is one transaction
// that inserts them and advances the file's offset in `ledger_journal`, so a crash between the
// two cannot duplicate or drop rows, and any number of readers may ingest at once (the server's
// worker, `tetra usage`, a restarted server). Only whole lines are taken. A file is deleted once
// fully ingested and no longer written to: its writer has rotated past it, or is gone.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerRow } from './contract.ts';
import type { Db } from '../home.ts';

/** Where a database file's journal lives; null for in-memory databases (nothing to journal to). */
export function journalDir(dbPath: string): string | null {
  return dbPath === ':memory:' || dbPath === '' ? null : `${dbPath}.journal`;
}

const FIELDS = [
  'requestId',
  'keyId',
  'plan',
  'model',
  'endpoint',
  'promptTokens',
  'completionTokens',
  'cost',
  'latencyMs',
  'status',
  'createdAt',
] as const;

export function encodeRow(r: LedgerRow): string {
  return (
    JSON.stringify([
      r.requestId,
      r.keyId,
      r.plan,
      r.model,
      r.endpoint,
      r.promptTokens,
      r.completionTokens,
      r.cost,
      r.latencyMs,
      r.status,
      r.createdAt,
    ]) + '\n'
  );
}

/** What a row must be before it is journaled or inserted (ledger.ts checks rows on record, ingestion on decode). */
export function checkRow(r: LedgerRow): void {
  for (const f of ['promptTokens', 'completionTokens', 'status'] as const) {
    if (!Number.isInteger(r[f]) || r[f] < 0) throw new RangeError(`ledger: ${f} must be a non-negative integer, got ${r[f]}`);
  }
  for (const f of ['cost', 'latencyMs'] as const) {
    if (!Number.isFinite(r[f]) || r[f] < 0) throw new RangeError(`ledger: ${f} must be a non-negative number, got ${r[f]}`);
  }
  if (!r.requestId) throw new RangeError('ledger: requestId is required');
}

/**
 * A journal line back to a row; a line that is not a valid row throws (and is skipped, not inserted: a bad row must not
 * block the rest).
 */
function decodeRow(line: string): LedgerRow {
  const v = JSON.parse(line) as unknown[];
  if (!Array.isArray(v) || v.length !== FIELDS.length) throw new Error(`expected an array of ${FIELDS.length} values`);
  const row = Object.fromEntries(FIELDS.map((f, i) => [f, v[i]])) as unknown as LedgerRow;
  for (const f of ['plan', 'model', 'endpoint', 'createdAt'] as const) {
    if (typeof row[f] !== 'string') throw new Error(`ledger: ${f} must be a string, got ${JSON.stringify(row[f])}`);
  }
  checkRow(row);
  return row;
}

/** Journals this process writes now (by file prefix); a worker thread is told its own through `own`. */
export const writing = new Set<string>();

const prefixOf = (file: string) => file.split('-').slice(0, 2).join('-');

function ownerAlive(file: string): boolean {
  const pid = Number(file.split('-')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  // Same pid, another prefix: an earlier process that had our pid (a restarted container's pid 1).
  if (pid === process.pid) return writing.has(prefixOf(file));
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The journal a process writes: its file prefix, and the file it appends to now (null: closed). */
export interface OwnJournal {
  prefix: string;
  live: string | null;
}

const statements = new WeakMap<Db, ReturnType<typeof prepare>>();
function prepare(db: Db) {
  db.exec('CREATE TABLE IF NOT EXISTS ledger_journal (file TEXT PRIMARY KEY, offset INTEGER NOT NULL)');
  return {
    getOffset: db.prepare<[string], number>('SELECT offset FROM ledger_journal WHERE file = ?').pluck(),
    setOffset: db.prepare(
      'INSERT INTO ledger_journal (file, offset) VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET offset = excluded.offset',
    ),
    forget: db.prepare('DELETE FROM ledger_journal WHERE file = ?'),
  };
}
/** Prepared once per connection (the worker runs a pass every 50 ms). */
function statementsOf(db: Db) {
  let s = statements.get(db);
  if (!s) statements.set(db, (s = prepare(db)));
  return s;
}

export interface IngestResult {
  rows: number;
  /** Lines that could not be read as rows (named with file and byte offset); they are skipped. */
  bad: string[];
}

/**
 * Moves every journal line not yet in the database into it, and deletes the files that are fully
 * moved and finished: `own`'s files before its live one (all of them once it is closed), and the
 * files of processes that are gone.
 */
export function ingestJournals(db: Db, insert: (rows: LedgerRow[]) => void, dir: string, own: OwnJournal | null = null): IngestResult {
  const out: IngestResult = { rows: 0, bad: [] };
  if (!existsSync(dir)) return out;
  const { getOffset, setOffset, forget } = statementsOf(db);
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    const path = join(dir, file);
    const complete = db
      .transaction((): boolean => {
        const from = getOffset.get(file) ?? 0;
        let fd: number;
        try {
          fd = openSync(path, 'r');
        } catch {
          return false;
        } // deleted by another reader meanwhile
        try {
          const size = fstatSync(fd).size;
          if (size <= from) return size === from;
          const buf = Buffer.allocUnsafe(size - from);
          const n = readSync(fd, buf, 0, buf.length, from);
          const end = buf.lastIndexOf(10, n - 1) + 1; // whole lines only: a line being written waits
          if (end === 0) return false;
          const rows: LedgerRow[] = [];
          let at = 0;
          while (at < end) {
            const nl = buf.indexOf(10, at);
            const line = buf.toString('utf8', at, nl);
            try {
              rows.push(decodeRow(line));
            } catch (e) {
              out.bad.push(`${path} at byte ${from + at}: ${(e as Error).message}`);
            }
            at = nl + 1;
          }
          insert(rows);
          setOffset.run(file, from + end);
          out.rows += rows.length;
          return from + end === size;
        } finally {
          closeSync(fd);
        }
      })
      .immediate();
    const finished = own && prefixOf(file) === own.prefix ? own.live === null || file < own.live : !ownerAlive(file);
    if (complete && finished) {
      // Fully moved, and nobody appends to it any more (rotated past by us, or its writer is gone).
      try {
        unlinkSync(path);
      } catch {
        /* another reader got there first */
      }
      forget.run(file);
    }
  }
  return out;
}
