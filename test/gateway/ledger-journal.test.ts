// The ledger's journal (src/gateway/ledger-journal.ts, JournaledLedger in ledger.ts): rows are
// durable on record() and reach SQLite exactly once, whoever moves them in and whenever.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LedgerRow } from '../../src/gateway/governance/contract.ts';
import { encodeRow, journalDir } from '../../src/gateway/governance/ledger-journal.ts';
import { JournaledLedger, SqliteLedger } from '../../src/gateway/governance/ledger.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-journal-'));
const row = (requestId: string, extra: Partial<LedgerRow> = {}): LedgerRow => ({
  requestId,
  keyId: 'key_x',
  plan: 'default',
  model: 'tetra-2026-11-28',
  endpoint: '/v1/chat/completions',
  promptTokens: 12,
  completionTokens: 3,
  cost: 0.00054,
  latencyMs: 1.5,
  status: 200,
  createdAt: '2026-11-29T03:00:00.000Z',
  ...extra,
});
/** A pid no process has (Linux pids stay below 2^22). */
const DEAD_PID = 4_194_999;

describe('ledger journal', () => {
  it('record() is durable at once; the worker moves rows into SQLite; close() leaves every row there and no journal', async () => {
    const db = join(tmp(), 'tetra.db');
    const ledger = new JournaledLedger(new SqliteLedger(db), { intervalMs: 20 });
    for (let i = 0; i < 50; i++) ledger.record(row(`r${i}`, { keyId: i % 2 ? null : 'key_x', cost: i / 1000 }));
    const dir = journalDir(db)!;
    assert.equal(readdirSync(dir).length, 1, 'one journal file while running');
    // The worker (its own SQLite connection) moves them in without any call from us.
    const reader = new SqliteLedger(db, { ingestOnOpen: false });
    for (let i = 0; i < 200 && reader.count() < 50; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(reader.count(), 50);
    assert.deepEqual(reader.find('r7'), [row('r7', { keyId: null, cost: 0.007 })]);
    ledger.record(row('last'));
    await ledger.close();
    assert.equal(reader.count(), 51);
    assert.deepEqual(readdirSync(dir), [], 'journal files are deleted once moved and closed');
    reader.close();
  });

  it("a killed server's journal is moved in when the ledger is next opened, exactly once, and its file deleted", () => {
    const db = join(tmp(), 'tetra.db');
    new SqliteLedger(db).close();
    const dir = journalDir(db)!;
    mkdirSync(dir);
    const file = join(dir, `${DEAD_PID}-1700000000000-000000.jsonl`);
    writeFileSync(file, encodeRow(row('a')) + encodeRow(row('b')) + encodeRow(row('c')).slice(0, 20)); // died mid-line
    const l1 = new SqliteLedger(db);
    assert.equal(l1.count(), 2, 'whole lines only');
    assert.ok(existsSync(file), 'a file with a partial line is not finished');
    // (Only possible in this test: the "dead" writer's line completes.) The rest arrives once.
    appendFileSync(file, encodeRow(row('c')).slice(20));
    const l2 = new SqliteLedger(db);
    assert.equal(l2.count(), 3);
    assert.deepEqual(l2.ingestJournals(), { rows: 0, bad: [] }, 'nothing moves twice');
    assert.equal(l2.find('c').length, 1);
    assert.ok(!existsSync(file), 'finished and fully moved: deleted');
    l1.close();
    l2.close();
  });

  it('keeps the files of writers that are alive; concurrent movers never duplicate a row', async () => {
    const db = join(tmp(), 'tetra.db');
    const ledger = new JournaledLedger(new SqliteLedger(db), { intervalMs: 1 }); // its worker moves rows constantly
    const other = new SqliteLedger(db, { ingestOnOpen: false });
    for (let i = 0; i < 300; i++) {
      ledger.record(row(`x${i}`));
      if (i % 7 === 0) other.ingestJournals(); // a second mover (e.g. `tetra usage`) racing the worker
    }
    ledger.sync();
    assert.equal(other.count(), 300);
    assert.equal(readdirSync(journalDir(db)!).length, 1, 'the live file stays while its writer runs');
    await ledger.close();
    const ids = other.db.prepare('SELECT count(DISTINCT request_id) AS n, count(*) AS m FROM usage').get() as { n: number; m: number };
    assert.deepEqual(ids, { n: 300, m: 300 });
    other.close();
  });

  it('skips an unreadable line or a line that is not a valid row, names its file and offset, and moves the rest', () => {
    const db = join(tmp(), 'tetra.db');
    new SqliteLedger(db).close();
    const dir = journalDir(db)!;
    mkdirSync(dir);
    const bad = '{"not":"a row"}\n';
    // Eleven values, but not a row: it would fail the insert (NOT NULL) and block every row after it.
    const wrongTypes = encodeRow(row('c', { plan: null as unknown as string }));
    writeFileSync(join(dir, `${DEAD_PID}-1-000000.jsonl`), encodeRow(row('a')) + bad + wrongTypes + encodeRow(row('b')));
    const l = new SqliteLedger(db, { ingestOnOpen: false });
    const r = l.ingestJournals();
    assert.equal(r.rows, 2);
    assert.equal(r.bad.length, 2);
    assert.match(
      r.bad[0],
      new RegExp(`${DEAD_PID}-1-000000\\.jsonl at byte ${Buffer.byteLength(encodeRow(row('a')))}: expected an array of 11 values`),
    );
    assert.match(r.bad[1], /plan must be a string, got null/);
    assert.deepEqual([l.find('a').length, l.find('b').length, l.find('c').length], [1, 1, 0]);
    l.close();
  });

  it('refuses a row that is not a valid ledger row before writing it', async () => {
    const ledger = new JournaledLedger(new SqliteLedger(join(tmp(), 'tetra.db')));
    assert.throws(() => ledger.record(row('n', { promptTokens: -1 })), /promptTokens must be a non-negative integer/);
    await ledger.close();
    assert.equal(ledger.store.count(), 0);
  });
});
