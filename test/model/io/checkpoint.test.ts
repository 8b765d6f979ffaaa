// Checkpoints: what is saved comes back bit for bit; a checkpoint that does not fit its config
// (another architecture, a missing tensor, a corrupt file) is refused with the tensor and both
// shapes or the file named; a save that fails or a process that dies mid-save leaves the previous
// checkpoint loadable; rotation keeps the newest N and `latest` always names a finished one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { paramShapes, type GPTConfig } from '../../../src/model/config.ts';
import {
  checkpointInfo,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
  saveRotating,
  type Checkpoint,
} from '../../../src/model/io/checkpoint.ts';
import { encodeSafetensors } from '../../../src/model/io/safetensors.ts';
import { randn32, rng } from '../../helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'tetra-ckpt-'));
after(() => rmSync(root, { recursive: true, force: true }));

const config: GPTConfig = {
  vocabSize: 37,
  contextLength: 16,
  nLayer: 2,
  nEmbd: 8,
  nHead: 2,
  mlpHidden: 12,
  tiedEmbeddings: false,
  ropeBase: 10000,
  normEps: 1e-5,
};

function randomParams(c: GPTConfig, seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  return new Map(
    paramShapes(c).map(([n, s]) => [
      n,
      randn32(
        s.reduce((a, b) => a * b, 1),
        r,
      ),
    ]),
  );
}

function makeCheckpoint(seed: number, step = 100, c = config): Checkpoint {
  return {
    config: c,
    params: randomParams(c, seed),
    optimizer: {
      m: randomParams(c, seed + 1),
      v: randomParams(c, seed + 2),
      step,
      hyper: { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 },
    },
    meta: {
      step,
      tokensSeen: step * 512,
      tokenizer: { name: 'tetra-bpe-4k', sha256: 'ab'.repeat(32) },
      dataPosition: { shard: 3, offset: 12345, epoch: 0 },
      rngState: { s: [1, 2, 3, 4] },
      metrics: { loss: 2.5, lr: 3e-4 },
    },
  };
}

function assertSameTensors(got: Map<string, Float32Array>, want: Map<string, Float32Array>, what: string) {
  assert.deepEqual([...got.keys()], [...want.keys()], `${what} keys`);
  for (const [k, v] of want)
    assert.deepEqual(
      Buffer.from(got.get(k)!.buffer, got.get(k)!.byteOffset, got.get(k)!.byteLength),
      Buffer.from(v.buffer),
      `${what} ${k}`,
    );
}

/** Rewrites checkpoint.json through fn (to fake other architectures, versions, corruption). */
function editSidecar(dir: string, fn: (s: any) => void) {
  const p = join(dir, 'checkpoint.json');
  const s = JSON.parse(readFileSync(p, 'utf8'));
  fn(s);
  writeFileSync(p, JSON.stringify(s));
}

describe('checkpoint: save and load', () => {
  it('weights, optimizer moments and every piece of metadata come back exactly', () => {
    const dir = join(root, 'roundtrip');
    const ck = makeCheckpoint(1);
    saveCheckpoint(dir, ck);
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint.json', 'model.safetensors', 'optimizer.safetensors']);
    const got = loadCheckpoint(dir);
    assert.deepEqual(got.config, config);
    assertSameTensors(got.params, ck.params, 'params');
    assertSameTensors(got.optimizer!.m, ck.optimizer!.m, 'm');
    assertSameTensors(got.optimizer!.v, ck.optimizer!.v, 'v');
    assert.equal(got.optimizer!.step, 100);
    assert.deepEqual(got.optimizer!.hyper, ck.optimizer!.hyper);
    assert.deepEqual(got.meta, ck.meta);
    assert.deepEqual(checkpointInfo(dir), { config: got.config, meta: got.meta }, 'the sidecar alone gives the same config and metadata');
    const sidecar = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
    assert.equal(sidecar.version, 1);
    assert.equal(sidecar.optimizer.file, 'optimizer.safetensors');
  });

  it('a weights-only checkpoint (tied embeddings, no optimizer) loads without optimizer state', () => {
    const dir = join(root, 'weights-only');
    const c = { ...config, tiedEmbeddings: true };
    const params = randomParams(c, 5);
    saveCheckpoint(dir, { config: c, params, meta: { step: 0, tokensSeen: 0 } });
    assert.ok(!existsSync(join(dir, 'optimizer.safetensors')));
    const got = loadCheckpoint(dir);
    assert.equal(got.optimizer, undefined);
    assert.ok(!got.params.has('lm_head'));
    assertSameTensors(got.params, params, 'params');
  });

  it('refuses params that do not match the config before writing anything', () => {
    const dir = join(root, 'never-written');
    const ck = makeCheckpoint(2);
    ck.params.delete('blocks.1.wk');
    assert.throws(() => saveCheckpoint(dir, ck), /params has no tensor "blocks.1.wk" \(config expects \[8, 8\]\)/);
    const ck2 = makeCheckpoint(2);
    ck2.optimizer!.v.set('norm_f', new Float32Array(7));
    assert.throws(() => saveCheckpoint(dir, ck2), /optimizer.v "norm_f" has 7 values, config expects \[8\] = 8/);
    const ck3 = makeCheckpoint(2);
    ck3.params.set('blocks.9.wq', new Float32Array(64));
    assert.throws(() => saveCheckpoint(dir, ck3), /"blocks.9.wq" that config does not define/);
    assert.ok(!existsSync(dir));
    assert.deepEqual(
      readdirSync(root).filter((f) => f.includes('never-written')),
      [],
    );
  });
});

describe('checkpoint: loading refuses checkpoints that do not fit', () => {
  const fresh = (name: string) => {
    const dir = join(root, name);
    saveCheckpoint(dir, makeCheckpoint(3));
    return dir;
  };

  it('a checkpoint of another architecture names the tensor and both shapes', () => {
    const dir = fresh('other-arch');
    editSidecar(dir, (s) => {
      s.config.nEmbd = 16;
      s.config.nHead = 2;
    });
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) => {
        assert.match(e.message, /model.safetensors tensor "wte" has shape \[37, 8\] but the config expects \[37, 16\]/);
        assert.ok(e.message.includes(dir));
        return true;
      },
    );
  });

  it('a missing tensor is named with the shape the config expects', () => {
    const dir = fresh('missing-tensor');
    const ck = makeCheckpoint(3);
    const bytes = encodeSafetensors(
      paramShapes(config)
        .filter(([n]) => n !== 'norm_f')
        .map(([n, s]) => [n, { shape: s, data: ck.params.get(n)! }]),
    );
    writeFileSync(join(dir, 'model.safetensors'), bytes);
    editSidecar(dir, (s) => {
      delete s.weights.sha256;
    });
    assert.throws(() => loadCheckpoint(dir), /model.safetensors has no tensor "norm_f"; the config expects \[8\]/);
  });

  it('a corrupt safetensors header names the file, with and without the recorded sha256', () => {
    const dir = fresh('corrupt');
    const path = join(dir, 'optimizer.safetensors');
    const bytes = readFileSync(path);
    bytes[5] = 0x7f; // header length now far beyond the file
    writeFileSync(path, bytes);
    assert.throws(
      () => loadCheckpoint(dir),
      /optimizer.safetensors does not match the sha256.*optimizer.safetensors: not a valid safetensors file: header length/,
    );
    editSidecar(dir, (s) => {
      delete s.optimizer.sha256;
    });
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) => e.message.includes(path) && /header length \d+ is larger/.test(e.message),
    );
    assert.ok(loadCheckpoint(dir, { withOptimizer: false }).params.size > 0, 'the weights alone still load');
  });

  it('an invalid config, a wrong format version, a missing sidecar', () => {
    const dir = fresh('bad-sidecar');
    editSidecar(dir, (s) => {
      s.config.nHead = 3;
    });
    assert.throws(() => loadCheckpoint(dir), /invalid config: config.nHead \(3\) must divide config.nEmbd \(8\)/);
    editSidecar(dir, (s) => {
      s.config.nHead = 2;
      s.version = 99;
    });
    assert.throws(() => loadCheckpoint(dir), /format version 99; this tetra reads version 1/);
    rmSync(join(dir, 'checkpoint.json'));
    assert.throws(() => loadCheckpoint(dir), /no checkpoint.json \(not a checkpoint, or a save that never finished\)/);
    assert.throws(() => loadCheckpoint(join(root, 'nowhere')), /nowhere: directory does not exist/);
  });
});

describe('checkpoint: a failed save leaves the previous checkpoint intact', () => {
  it('an error thrown after the files are written, before the rename: old checkpoint loads, no temp left', () => {
    const dir = join(root, 'atomic');
    const v1 = makeCheckpoint(10, 100);
    saveCheckpoint(dir, v1);
    let sawTemp = '';
    assert.throws(
      () =>
        saveCheckpoint(dir, makeCheckpoint(11, 200), {
          beforeCommit: (tmp) => {
            sawTemp = tmp;
            assert.ok(existsSync(join(tmp, 'checkpoint.json')));
            throw new Error('disk full (simulated)');
          },
        }),
      /disk full/,
    );
    assert.ok(sawTemp && !existsSync(sawTemp), 'temp directory removed');
    const got = loadCheckpoint(dir);
    assert.equal(got.meta.step, 100);
    assertSameTensors(got.params, v1.params, 'params');
  });

  it('a process killed mid-save (SIGKILL before the rename) leaves the old checkpoint; the next rotating save clears the debris', () => {
    const rot = join(root, 'killed');
    saveRotating(rot, makeCheckpoint(20, 100), 3);
    const script = `
      import { saveRotating } from ${JSON.stringify(new URL('../../../src/model/io/checkpoint.ts', import.meta.url).pathname)};
      import { paramShapes } from ${JSON.stringify(new URL('../../../src/model/config.ts', import.meta.url).pathname)};
      const config = ${JSON.stringify(config)};
      const params = new Map(paramShapes(config).map(([n, s]) => [n, new Float32Array(s.reduce((a, b) => a * b, 1)).fill(7)]));
      saveRotating(${JSON.stringify(rot)}, { config, params, meta: { step: 200, tokensSeen: 1 } }, 3,
        { beforeCommit: () => process.kill(process.pid, 'SIGKILL') });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const debris = readdirSync(rot).filter((f) => f.startsWith('.step-000200.tmp-'));
    assert.equal(debris.length, 1, `the killed save left its temp directory: ${readdirSync(rot)}`);
    assert.deepEqual(
      listCheckpoints(rot).map((c) => c.step),
      [100],
      'the half-written save is not a checkpoint',
    );
    assert.equal(latestCheckpoint(rot), join(rot, 'step-000100'));
    assert.equal(loadCheckpoint(latestCheckpoint(rot)!).meta.step, 100);
    saveRotating(rot, makeCheckpoint(21, 300), 3);
    assert.deepEqual(readdirSync(rot).sort(), ['latest', 'step-000100', 'step-000300']);
  });
});

describe('checkpoint: rotation', () => {
  it('keeps the newest N step directories and points latest at the newest', () => {
    const rot = join(root, 'rotation');
    for (const step of [100, 200, 300, 400]) saveRotating(rot, makeCheckpoint(step, step), 2);
    assert.deepEqual(readdirSync(rot).sort(), ['latest', 'step-000300', 'step-000400']);
    assert.equal(readFileSync(join(rot, 'latest'), 'utf8'), 'step-000400\n');
    assert.equal(loadCheckpoint(latestCheckpoint(rot)!).meta.step, 400);
  });

  it('latest falls back to the highest finished step when the pointer is missing or stale', () => {
    const rot = join(root, 'fallback');
    for (const step of [5, 1000000]) saveRotating(rot, makeCheckpoint(step, step), 5);
    assert.equal(latestCheckpoint(rot), join(rot, 'step-1000000'));
    writeFileSync(join(rot, 'latest'), 'step-000007\n'); // names a directory that does not exist
    assert.equal(latestCheckpoint(rot), join(rot, 'step-1000000'));
    rmSync(join(rot, 'latest'));
    assert.equal(latestCheckpoint(rot), join(rot, 'step-1000000'));
    assert.equal(latestCheckpoint(join(root, 'empty-root')), null);
  });

  it('a failed rotating save keeps latest on the previous checkpoint', () => {
    const rot = join(root, 'rot-fail');
    saveRotating(rot, makeCheckpoint(1, 10), 2);
    assert.throws(
      () =>
        saveRotating(rot, makeCheckpoint(2, 20), 2, {
          beforeCommit: () => {
            throw new Error('simulated');
          },
        }),
      /simulated/,
    );
    assert.equal(readFileSync(join(rot, 'latest'), 'utf8'), 'step-000010\n');
    assert.deepEqual(readdirSync(rot).sort(), ['latest', 'step-000010']);
  });
});
