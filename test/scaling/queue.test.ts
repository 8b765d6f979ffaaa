// A ladder across machines, here as two worker processes on one machine with a real redis-server:
// every run is done exactly once, and a worker killed mid-run gives its job back, the other
// worker resuming that run from the checkpoints it left.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readResults } from '../../src/scaling/index.ts';
import { writeGrammarCorpus } from '../fixtures/grammar-corpus.ts';
import { redisSkipReason, startRedis, type RedisServer } from '../gateway/fixtures/redis.ts';

const bin = join(import.meta.dirname, '../../bin/tetra.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-queue-'));
const skip = redisSkipReason();

describe('a ladder on a job queue', { skip }, () => {
  let redis: RedisServer;
  const children: ChildProcess[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await redis.stop();
  });

  const spawnTetra = (args: string[], env: Record<string, string> = {}) => {
    const c = spawn(process.execPath, [bin, 'scale', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let err = '';
    c.stderr!.on('data', (d: Buffer) => {
      err += d;
    });
    return { child: c, stderr: () => err };
  };

  it('two workers do every run exactly once; killing one mid-run hands its run to the other, which resumes it', async () => {
    const data = tmp(),
      dir = tmp(),
      planFile = join(dir, 'plan.in.json'),
      out = join(dir, 'ladder');
    writeGrammarCorpus(data);
    const plan = spawnSync(
      process.execPath,
      [
        bin,
        'scale',
        'plan',
        '--target-flops',
        '6e11',
        '--ladder-flops',
        '1.6e11',
        '--data',
        data,
        '--seq-len',
        '64',
        '--runs',
        '4',
        '--span',
        '2',
        '--min-extrapolation',
        '10',
        '--out',
        planFile,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(plan.status, 0, plan.stderr);
    const env = { TETRA_SCALE_LOCK_MS: '1500' };
    const workers = [spawnTetra(['worker', '--queue', redis.url], env), spawnTetra(['worker', '--queue', redis.url], env)];
    const run = spawnTetra(['run', '--plan', planFile, '--data', data, '--out', out, '--queue', redis.url]);
    const finished = new Promise<number | null>((resolve) => run.child.once('exit', resolve));

    // Kill the first worker to start a run, once that run has a checkpoint to resume from.
    let killed: { name: string } | null = null;
    const deadline = Date.now() + 60_000;
    while (!killed && Date.now() < deadline) {
      for (const w of workers) {
        const started = [...w.stderr().matchAll(/scale: (run-\d+): depth/g)].map((m) => m[1]);
        const current = started.at(-1);
        if (
          current &&
          existsSync(join(out, 'runs', current, 'checkpoints', 'latest')) &&
          !readResults(out).some((r) => r.name === current)
        ) {
          w.child.kill('SIGKILL');
          killed = { name: current };
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(killed, 'a worker started a run and checkpointed it');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      finished,
      new Promise((r) => {
        timer = setTimeout(() => r('timeout'), 150_000);
      }),
    ]);
    clearTimeout(timer);
    assert.equal(code, 0, `tetra scale run: ${run.stderr()}`);
    const results = readResults(out);
    assert.deepEqual(results.map((r) => r.name).sort(), ['run-01', 'run-02', 'run-03', 'run-04'], 'each run recorded exactly once');
    const resumed = results.find((r) => r.name === killed!.name)!;
    assert.ok((resumed.resumedFrom ?? 0) > 0, `${killed.name} resumed from its checkpoint: ${JSON.stringify(resumed)}`);
  });
});
