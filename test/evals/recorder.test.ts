import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Registry } from '../../src/evals/registry.ts';
import { runEval } from '../../src/evals/runner.ts';
import { RunDatabase, RunRecorder } from '../../src/evals/recorder.ts';
import { DummyCompletionFn } from '../../src/evals/completion/index.ts';
import { isolateHome, jsonl, tempTree } from './helpers.ts';

const root = tempTree({
  'evals/w.yaml': 'word:\n  id: word.test.v1\nword.test.v1:\n  class: evals.elsuite.basic.match:Match\n  args: {samples_jsonl: w.jsonl}\n',
  'data/w.jsonl': jsonl([
    { input: 'a', ideal: 'yes' },
    { input: 'b', ideal: 'no' },
    { input: 'c', ideal: ['nope', 'ye'] },
  ]),
});

describe('recorder', () => {
  it('writes openai/evals JSONL: a spec line, per-sample events, a final_report line', async () => {
    isolateHome();
    const path = join(root, 'log.jsonl');
    const db = new RunDatabase(join(root, 'runs.sqlite'));
    const r = await runEval({
      registry: new Registry([root]),
      evalName: 'word',
      completionFns: [new DummyCompletionFn('yes')],
      db,
      progress: null,
      recordPath: path,
    });
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const spec = lines[0].spec;
    assert.deepEqual(
      Object.keys(spec).sort(),
      ['base_eval', 'completion_fns', 'created_at', 'created_by', 'eval_name', 'run_config', 'run_id', 'split'].sort(),
    );
    assert.deepEqual([spec.eval_name, spec.base_eval, spec.split, spec.completion_fns], ['word.test.v1', 'word', 'test', ['dummy']]);
    const events = lines.slice(1, -1);
    for (const e of events)
      assert.deepEqual(Object.keys(e).sort(), ['created_at', 'created_by', 'data', 'event_id', 'run_id', 'sample_id', 'type'].sort());
    assert.deepEqual(
      events.map((e) => e.event_id),
      events.map((_, i) => i),
    );
    assert.deepEqual([...new Set(events.map((e) => e.sample_id))].sort(), ['word.test.0', 'word.test.1', 'word.test.2']);
    const s0 = events.filter((e) => e.sample_id === 'word.test.0').map((e) => e.type);
    assert.deepEqual(s0, ['sampling', 'match', 'sample_result']);
    const sampling = events.find((e) => e.type === 'sampling');
    assert.deepEqual(Object.keys(sampling.data).sort(), ['fn', 'prompt', 'sampled']);
    const match2 = events.find((e) => e.type === 'match' && e.sample_id === 'word.test.2');
    assert.deepEqual(match2.data, { correct: true, expected: ['nope', 'ye'], picked: 'ye', sampled: 'yes' });
    const final = lines[lines.length - 1].final_report;
    assert.equal(final.accuracy, 2 / 3);
    assert.equal(final.usage_prompt_tokens, 0);

    // The same events in SQLite, queryable across runs.
    const rows = db.db
      .prepare(
        "SELECT sample_id, json_extract(data, '$.correct') AS correct FROM events WHERE run_id = ? AND type = 'match' ORDER BY sample_id",
      )
      .all(r.runId);
    assert.deepEqual(rows, [
      { sample_id: 'word.test.0', correct: 1 },
      { sample_id: 'word.test.1', correct: 0 },
      { sample_id: 'word.test.2', correct: 1 },
    ]);
    const run = db.db.prepare('SELECT eval_name, record_path, final_report FROM runs WHERE run_id = ?').get(r.runId) as {
      eval_name: string;
      record_path: string;
      final_report: string;
    };
    assert.equal(run.eval_name, 'word.test.v1');
    assert.equal(run.record_path, path);
    assert.equal(JSON.parse(run.final_report).accuracy, 2 / 3);
    assert.equal((db.db.prepare('SELECT count(*) AS n FROM events WHERE run_id = ?').get(r.runId) as { n: number }).n, events.length);
    assert.equal(db.findRun(r.runId.slice(0, 15))?.run_id, r.runId, 'a run id prefix finds the run');
    db.close();
  });

  it('refuses to overwrite an existing record file', async () => {
    const path = join(root, 'log.jsonl');
    await assert.rejects(
      runEval({
        registry: new Registry([root]),
        evalName: 'word',
        completionFns: [new DummyCompletionFn('yes')],
        db: null,
        progress: null,
        recordPath: path,
      }),
      /already exists/,
    );
  });
});

describe('recorder buffering', () => {
  const spec = (id: string) => ({
    completion_fns: ['f'],
    eval_name: 'e.dev.v0',
    base_eval: 'e',
    split: 'dev',
    run_config: {},
    created_by: '',
    run_id: id,
    created_at: new Date(0).toISOString(),
  });

  it('writes each event line as JSON.stringify of the logged event, and the same rows to SQLite', () => {
    const dir = tempTree({});
    const db = new RunDatabase(join(dir, 'runs.sqlite'));
    const rec = RunRecorder.create({ spec: spec('run"1'), path: join(dir, 'log.jsonl'), db });
    const datas = [
      { prompt: [{ role: 'user', content: 'q "1"\n\u2028é' }], sampled: ['x'], usage: { prompt_tokens: 3, completion_tokens: 1 } },
      { correct: true, picked: null, n: 1.5 },
      {},
    ];
    datas.forEach((d, i) => rec.record({ type: i ? 'match' : 'sampling', sampleId: i === 2 ? null : `e.dev.${i}`, data: d }));
    rec.finish({ accuracy: 1 });
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').slice(1, -1);
    assert.equal(lines.length, 3);
    lines.forEach((l, i) => {
      const created = JSON.parse(l).created_at as string;
      assert.equal(
        l,
        JSON.stringify({
          run_id: 'run"1',
          event_id: i,
          sample_id: i === 2 ? null : `e.dev.${i}`,
          type: i ? 'match' : 'sampling',
          data: datas[i],
          created_by: '',
          created_at: created,
        }),
      );
    });
    const rows = db.db.prepare('SELECT event_id, sample_id, type, data FROM events ORDER BY event_id').all() as { data: string }[];
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.data)),
      datas,
    );
    assert.deepEqual(rec.usage, { prompt_tokens: 3, completion_tokens: 1 });
    db.close();
  });

  // A child process records events and then leaves without finish(): by exit, by an unhandled
  // SIGINT (which must still end it), or with a Ctrl-C handler of its own (which decides).
  for (const how of ['exit', 'sigint', 'sigint-handled'] as const) {
    it(`flushes buffered events on ${how}`, () => {
      const dir = tempTree({});
      const recorderUrl = new URL('../../src/evals/recorder.ts', import.meta.url).href;
      const script = `
        import { RunRecorder, RunDatabase } from ${JSON.stringify(recorderUrl)};
        const db = new RunDatabase(${JSON.stringify(join(dir, 'runs.sqlite'))});
        const rec = RunRecorder.create({ path: ${JSON.stringify(join(dir, 'log.jsonl'))}, db, flushMs: 60000,
          spec: { completion_fns: ['f'], eval_name: 'e', base_eval: 'e', split: 'dev', run_config: {}, created_by: '', run_id: 'r', created_at: '' } });
        for (let i = 0; i < 10; i++) rec.record({ type: 'match', sampleId: 'e.dev.' + i, data: { i } });
        const how = ${JSON.stringify(how)};
        if (how === 'exit') process.exit(3);
        if (how === 'sigint-handled') process.on('SIGINT', () => { console.log('handled'); process.exitCode = 4; });
        process.kill(process.pid, 'SIGINT');
        setTimeout(() => {}, how === 'sigint' ? 5000 : 50);
      `;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      if (how === 'exit') assert.equal(r.status, 3, r.stderr);
      if (how === 'sigint') assert.equal(r.signal, 'SIGINT', `the signal still ends the process (${r.stderr})`);
      if (how === 'sigint-handled') {
        assert.equal(r.status, 4, r.stderr);
        assert.match(r.stdout, /handled/);
      }
      const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');
      assert.equal(lines.length, 11, 'the spec line and all 10 events');
      const db = new RunDatabase(join(dir, 'runs.sqlite'));
      assert.equal((db.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 10);
      db.close();
    });
  }
});
