// The HumanEval eval end to end on original fixture problems: completions from a scripted
// completion function run in the sandbox, and pass@k comes out as hand-computed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { extractCode, HumanEvalEval, type HumanEvalSample } from '../../src/evals/humaneval.ts';
import { loadHumanEval } from '../../src/evals/loaders/humaneval.ts';
import { sandboxSupport } from '../../src/evals/sandbox.ts';
import type { CompletionFn, CompletionOptions, RecordEvent } from '../../src/evals/types.ts';
import { makeCtx } from './fixtures/context.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'humaneval.jsonl');
const support = sandboxSupport();
const skip = !support.ok
  ? `no sandbox here: ${support.reason}`
  : spawnSync('/usr/bin/python3', ['-c', 'pass']).status !== 0
    ? 'no /usr/bin/python3'
    : false;

/** Completes each prompt from a per-task list of answers, cycling; records the options it got. */
function scriptedFn(answers: Record<string, string[]>, problems: HumanEvalSample[], seen: CompletionOptions[] = []): CompletionFn {
  const next = new Map<string, number>();
  return {
    name: 'scripted',
    chat: async () => {
      throw new Error('not used');
    },
    complete: async (prompt, opts) => {
      seen.push(opts);
      const p = problems.find((q) => q.prompt === prompt)!;
      const texts = Array.from({ length: opts.n ?? 1 }, () => {
        const i = next.get(p.task_id) ?? 0;
        next.set(p.task_id, i + 1);
        return answers[p.task_id][i % answers[p.task_id].length];
      });
      return { texts };
    },
  };
}

describe('HumanEval loader', () => {
  it('reads the public JSONL format, plain or gzipped', () => {
    const plain = loadHumanEval(fixture);
    assert.equal(plain.length, 3);
    assert.deepEqual(Object.keys(plain[0]).sort(), ['canonical_solution', 'entry_point', 'input', 'prompt', 'task_id', 'test']);
    assert.equal(plain[0].input, plain[0].prompt);
    const dir = mkdtempSync(join(tmpdir(), 'tetra-he-'));
    try {
      writeFileSync(join(dir, 'HumanEval.jsonl.gz'), gzipSync(readFileSync(fixture)));
      assert.deepEqual(loadHumanEval(join(dir, 'HumanEval.jsonl.gz')), plain);
      writeFileSync(join(dir, 'bad.jsonl'), '{"task_id":"x","prompt":"p","test":"t","entry_point":"not an identifier"}\n');
      assert.throws(() => loadHumanEval(join(dir, 'bad.jsonl')), /bad.jsonl:1: entry_point must be a Python identifier/);
      assert.throws(() => loadHumanEval(join(dir, 'missing.jsonl')), /cannot read benchmark file .*missing.jsonl.*Benchmarks and sandbox/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HumanEval eval', { skip }, () => {
  const problems = loadHumanEval(fixture);

  it('canonical solutions pass and wrong, crashing or hanging ones fail', async () => {
    const wrong: Record<string, string> = {
      'TetraEval/0': '    return len(word)\n',
      'TetraEval/1': '    raise RuntimeError("no")\n',
      'TetraEval/2': '    while True:\n        pass\n',
    };
    const answers = Object.fromEntries(problems.map((p) => [p.task_id, [p.canonical_solution!, wrong[p.task_id]]]));
    const t = new HumanEvalEval({ n: 2, ks: [1, 2], sandbox: { cpuSeconds: 1, wallSeconds: 20 } });
    const events: RecordEvent[] = [];
    const fn = scriptedFn(answers, problems);
    const rs = await Promise.all(problems.map((p, i) => t.evalSample(p, makeCtx([fn], i, events))));
    assert.deepEqual(
      rs.map((r) => r.passed),
      [1, 1, 1],
    );
    assert.deepEqual(
      rs.map((r) => r.statuses[1]),
      ['error', 'error', 'cpu-limit'],
    );
    const m = t.aggregate(rs);
    assert.equal(m['pass@1'], 0.5);
    assert.equal(m['pass@2'], 1);
    assert.equal(m.problems, 3);
    assert.ok(events.some((e) => e.type === 'sampling') && events.some((e) => e.type === 'metrics'));
  });

  it('pass@k over n = 5 samples per problem matches hand-computed values', async () => {
    const p = problems[0];
    // 2 of 5 pass: pass@1 = 0.4, pass@2 = 1 - C(3,2)/C(5,2) = 0.7, pass@5 = 1.
    const answers = {
      [p.task_id]: [p.canonical_solution!, '    return 0\n', p.canonical_solution!, '    return -1\n', '    return None\n'],
    };
    const seen: CompletionOptions[] = [];
    const t = new HumanEvalEval({ n: 5, ks: [1, 2, 5, 10], temperature: 0.6 });
    const r = await t.evalSample(p, makeCtx([scriptedFn(answers, [p], seen)]));
    assert.equal(r.passed, 2);
    const m = t.aggregate([r]);
    assert.ok(Math.abs((m['pass@1'] as number) - 0.4) < 1e-12);
    assert.ok(Math.abs((m['pass@2'] as number) - 0.7) < 1e-12);
    assert.equal(m['pass@5'], 1);
    assert.equal('pass@10' in m, false, 'k > n is not reported');
    assert.equal(seen[0].temperature, 0.6);
    assert.deepEqual(seen[0].stop, ['\nclass ', '\ndef ', '\n#', '\nif __name__', '\nprint(']);
  });

  it('a completion that exits 0 before the tests run does not pass', async () => {
    const p = problems[0];
    const r = await new HumanEvalEval().evalSample(
      p,
      makeCtx([scriptedFn({ [p.task_id]: ['    return 0\nimport os\nos._exit(0)\n'] }, [p])]),
    );
    assert.equal(r.passed, 0);
    assert.deepEqual(r.statuses, ['error']);
  });

  it('takes the code out of a chat reply with a fenced block', async () => {
    const p = problems[1];
    const chatFn: CompletionFn = {
      name: 'chatty',
      chat: async (_m, o) => ({
        texts: Array.from(
          { length: o.n ?? 1 },
          () =>
            `Here you go:\n\`\`\`python\ndef rotate_left(items, k):\n    if not items:\n        return []\n    k %= len(items)\n    return items[k:] + items[:k]\n\`\`\`\nDone.`,
        ),
      }),
    };
    const r = await new HumanEvalEval().evalSample(p, makeCtx([chatFn]));
    assert.equal(r.passed, 1);
    assert.equal(extractCode('no fence'), 'no fence');
  });
});
