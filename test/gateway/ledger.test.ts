import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerRow } from '../../src/gateway/governance/contract.ts';
import { SqliteLedger } from '../../src/gateway/governance/ledger.ts';
import { chatBody, fixtureServerPath, post, startServer } from './fixtures/processes.ts';
import { tinyCheckpoint } from './fixture.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-ledger-'));
const row = (over: Partial<LedgerRow> = {}): LedgerRow => ({
  requestId: 'r1',
  keyId: 'key_a',
  plan: 'default',
  model: 'gpt-4-0314',
  endpoint: '/v1/chat/completions',
  promptTokens: 1000,
  completionTokens: 500,
  cost: 0.06,
  latencyMs: 120,
  status: 200,
  createdAt: '2026-03-14T10:00:00.000Z',
  ...over,
});

describe('the usage ledger', () => {
  it('uses SQLite in WAL mode and keeps every field of a row', () => {
    const ledger = new SqliteLedger(join(tmp(), 'tetra.db'));
    assert.equal(ledger.db.pragma('journal_mode', { simple: true }), 'wal');
    ledger.record(row());
    ledger.record(row({ requestId: 'r2', keyId: null, status: 429, promptTokens: 0, completionTokens: 0, cost: 0 }));
    assert.deepEqual(ledger.find('r1'), [row()]);
    assert.equal(ledger.find('r2')[0].keyId, null);
    assert.equal(ledger.count(), 2);
  });

  it('group commit: rows recorded in one turn commit together, each promise resolves only once its row is stored', async () => {
    const ledger = new SqliteLedger(join(tmp(), 'tetra.db'));
    const changes = () => ledger.db.prepare('SELECT total_changes() AS n').get() as { n: number };
    const ids = Array.from({ length: 20 }, (_, i) => `g${i}`);
    const done = ids.map((requestId) => ledger.recordSoon(row({ requestId })));
    assert.equal(ledger.count(), 0, 'nothing is written before the turn ends');
    await Promise.all(done);
    assert.equal(ledger.count(), 20);
    assert.equal(changes().n, 20);
    for (const id of ids) assert.equal(ledger.find(id).length, 1);
    assert.throws(() => ledger.recordSoon(row({ requestId: '' })), /requestId is required/);
    ledger.close();
  });

  it('refuses rows with impossible values, naming the field', () => {
    const ledger = new SqliteLedger(':memory:');
    assert.throws(() => ledger.record(row({ promptTokens: -1 })), /promptTokens must be a non-negative integer, got -1/);
    assert.throws(() => ledger.record(row({ cost: NaN })), /cost must be a non-negative number, got NaN/);
    assert.throws(() => ledger.record(row({ requestId: '' })), /requestId is required/);
    assert.equal(ledger.count(), 0);
  });

  it('reports usage by key, model and day, with errors, tokens, cost and latency', () => {
    const ledger = new SqliteLedger(':memory:');
    ledger.record(row({ requestId: 'a' }));
    ledger.record(row({ requestId: 'b', latencyMs: 80, cost: 0.03 }));
    ledger.record(row({ requestId: 'c', status: 500, promptTokens: 10, completionTokens: 0, cost: 0, latencyMs: 10 }));
    ledger.record(row({ requestId: 'd', model: 'gpt-4-32k-0314', createdAt: '2026-03-15T00:00:01.000Z' }));
    ledger.record(row({ requestId: 'e', keyId: 'key_b', createdAt: '2026-03-15T23:59:59.999Z' }));
    assert.deepEqual(ledger.report(), [
      {
        key: 'key_a',
        model: 'gpt-4-0314',
        day: '2026-03-14',
        requests: 3,
        errors: 1,
        promptTokens: 2010,
        completionTokens: 1000,
        cost: 0.09,
        avgLatencyMs: 70,
        maxLatencyMs: 120,
      },
      {
        key: 'key_a',
        model: 'gpt-4-32k-0314',
        day: '2026-03-15',
        requests: 1,
        errors: 0,
        promptTokens: 1000,
        completionTokens: 500,
        cost: 0.06,
        avgLatencyMs: 120,
        maxLatencyMs: 120,
      },
      {
        key: 'key_b',
        model: 'gpt-4-0314',
        day: '2026-03-15',
        requests: 1,
        errors: 0,
        promptTokens: 1000,
        completionTokens: 500,
        cost: 0.06,
        avgLatencyMs: 120,
        maxLatencyMs: 120,
      },
    ]);
    assert.deepEqual(
      ledger.report({ by: ['day'] }).map((r) => [r.day, r.requests]),
      [
        ['2026-03-14', 3],
        ['2026-03-15', 2],
      ],
    );
    assert.deepEqual(
      ledger.report({ by: ['model'], since: '2026-03-15', keyId: 'key_a' }).map((r) => [r.model, r.requests]),
      [['gpt-4-32k-0314', 1]],
    );
    assert.deepEqual(
      ledger.report({ by: [], until: '2026-03-15' }).map((r) => r.requests),
      [3],
    );
    assert.deepEqual(new SqliteLedger(':memory:').report({ by: [] }), []);
    assert.throws(() => ledger.report({ by: ['colour' as never] }), /cannot group by 'colour'/);
  });

  /** Loads a server with 32 clients, kill -9s it after `answers` 200s, and checks every answered completion id has its row. */
  async function killUnderLoad(srv: Awaited<ReturnType<typeof startServer>>, dbPath: string, body: unknown, answers: number) {
    const ok: string[] = [];
    let failed = 0,
      sent = 0,
      stop = false;
    // 32 clients, each sending back-to-back requests, until the server dies.
    const client = async () => {
      while (!stop) {
        sent++;
        try {
          const r = await post(srv.port, '/v1/chat/completions', body);
          if (r.status === 200) ok.push(JSON.parse(r.body).id);
          else failed++;
        } catch {
          failed++;
          return; // connection refused or reset: the server is gone
        }
      }
    };
    const clients = Array.from({ length: 32 }, () => client());
    // Kill once a few hundred requests have been answered, i.e. in the middle of the load.
    while (ok.length < answers) await new Promise((r) => setTimeout(r, 5));
    srv.child.kill('SIGKILL');
    await new Promise((r) => srv.child.once('exit', r));
    stop = true;
    await Promise.all(clients);

    const ledger = new SqliteLedger(dbPath); // reopening replays the WAL, as a restarted server would
    const missing = ok.filter((id) => ledger.find(id).length !== 1);
    assert.deepEqual(missing, [], `${missing.length} of ${ok.length} answered requests have no row`);
    assert.ok(ledger.count() >= ok.length);
    assert.ok(failed > 0, 'the kill happened under load (some requests failed)');
    const r = ledger.find(ok[0])[0];
    assert.equal(r.status, 200);
    console.log(`# kill -9 after ${ok.length} answers (${sent} sent, ${failed} failed); ${ledger.count()} rows, none missing`);
    return r;
  }

  it('loses nothing under kill -9 (the gateway over a stub engine): every completion id answered 200 has its row after restart', async () => {
    const dbPath = join(tmp(), 'tetra.db');
    const srv = await startServer(fixtureServerPath, {
      TETRA_DB: dbPath,
      TETRA_PLANS: JSON.stringify({ plans: { default: { rpm: 1_000_000, tpm: 1_000_000_000 } } }),
    });
    const r = await killUnderLoad(srv, dbPath, chatBody(7), 300);
    assert.equal(r.promptTokens, 7);
    assert.equal(r.completionTokens, 2);
  });

  it('loses nothing under kill -9 (tetra serve): every completion id answered 200 has its row after restart', async () => {
    const home = tmp();
    const dbPath = join(home, 'tetra.db');
    writeFileSync(join(home, 'plans.json'), JSON.stringify({ plans: { default: { rpm: 1_000_000, tpm: 1_000_000_000 } } }));
    const srv = await startServer(join(import.meta.dirname, '../../bin/tetra.js'), { TETRA_HOME: home }, 60_000, [
      'serve',
      '--checkpoint',
      tinyCheckpoint(),
      '--port',
      '0',
    ]);
    // A random-weight model may pick a special token (ending the reply with 0 tokens): bias them away.
    const logit_bias = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [256 + i, -100]));
    const body = { model: 'tetra', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, logit_bias };
    const r = await killUnderLoad(srv, dbPath, body, 100);
    assert.equal(r.completionTokens, 1);
    assert.match(r.requestId, /^chatcmpl-/);
  });
});

describe('tetra usage', () => {
  const bin = join(import.meta.dirname, '../../bin/tetra.js');
  it('prints usage by key, model and day with a total line, or JSON', () => {
    const dir = tmp();
    const db = join(dir, 'tetra.db');
    const ledger = new SqliteLedger(db);
    ledger.record(row({ requestId: 'a' }));
    ledger.record(row({ requestId: 'b', keyId: null, model: 'tetra-small-0001', cost: 0 }));
    ledger.close();
    const t = spawnSync(process.execPath, [bin, 'usage', '--db', db], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const lines = t.stdout.trim().split('\n');
    assert.match(lines[0], /^KEY\s+MODEL\s+DAY\s+REQUESTS\s+ERRORS\s+PROMPT\s+COMPLETION\s+COST\s+AVG_MS\s+MAX_MS$/);
    assert.match(lines[1], /^\(loopback\)\s+tetra-small-0001\s+2026-03-14\s+1\s+0\s+1000\s+500\s+\$0\.0000/);
    assert.match(lines[2], /^key_a\s+gpt-4-0314\s+2026-03-14\s+1\s+0\s+1000\s+500\s+\$0\.0600/);
    assert.match(lines[3], /^total\s+2\s+0\s+2000\s+1000\s+\$0\.0600/);
    const j = spawnSync(process.execPath, [bin, 'usage', '--db', db, '--by', 'model', '--json'], { encoding: 'utf8' });
    assert.deepEqual(
      JSON.parse(j.stdout).map((r: { model: string; requests: number }) => [r.model, r.requests]),
      [
        ['gpt-4-0314', 1],
        ['tetra-small-0001', 1],
      ],
    );
    const bad = spawnSync(process.execPath, [bin, 'usage', '--db', db, '--since', 'yesterday'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), "tetra usage: --since must be a date like 2026-03-14, got 'yesterday'");
    const none = spawnSync(process.execPath, [bin, 'usage', '--db', join(dir, 'nope.db')], { encoding: 'utf8' });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no ledger at .*nope\.db/);
  });
});
