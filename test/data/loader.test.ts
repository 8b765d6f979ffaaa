import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ShardLoader, ShardWriter, writeManifest, MANIFEST_VERSION, type Batch, type ShardInfo } from './imports.ts';
import { tempDir } from './fixtures.ts';

/** A corpus dir whose train tokens are 0,1,2,... (mod 250) over several shards. */
function corpus(tokens: number, maxTokens: number): string {
  const dir = tempDir();
  const w = new ShardWriter(dir, 'train', 257, 256, maxTokens);
  w.writeDocument(Array.from({ length: tokens - 1 }, (_, i) => i % 250));
  const train: ShardInfo[] = w.close();
  writeManifest(dir, {
    version: MANIFEST_VERSION,
    name: 't',
    createdAt: '',
    tokenizer: { name: 'bytes', vocabSize: 257, eotId: 256 },
    normalisation: '',
    dedup: { exact: '', near: '' },
    split: { valFraction: 0, rule: '' },
    shardMaxTokens: maxTokens,
    sources: [],
    excludedSources: [],
    splits: { train: { documents: 1, tokens, shards: train }, val: { documents: 0, tokens: 0, shards: [] } },
  });
  return dir;
}

const take = (l: ShardLoader, n: number): Batch[] => Array.from({ length: n }, () => l.next());
const flat = (bs: Batch[]) => bs.map((b) => [...b.inputs].join(',') + '|' + [...b.targets].join(','));

describe('shard loader', () => {
  const dir = corpus(2000, 300);

  it('gives (B, T) inputs with next-token targets from contiguous windows', () => {
    const l = new ShardLoader({ dir, split: 'train', B: 4, T: 16, seed: 1 });
    const b = l.next();
    assert.equal(b.inputs.length, 4 * 16);
    for (let r = 0; r < 4; r++) {
      for (let t = 0; t < 16; t++) {
        assert.equal(b.targets[r * 16 + t], (b.inputs[r * 16 + t] + 1) % 250, `row ${r} t ${t}`);
        if (t) assert.equal(b.inputs[r * 16 + t], b.targets[r * 16 + t - 1]);
      }
    }
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = flat(take(new ShardLoader({ dir, split: 'train', B: 3, T: 8, seed: 7 }), 10));
    const b = flat(take(new ShardLoader({ dir, split: 'train', B: 3, T: 8, seed: 7 }), 10));
    const c = flat(take(new ShardLoader({ dir, split: 'train', B: 3, T: 8, seed: 8 }), 10));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('resumed from the position after k batches yields the same following batches, across epochs', () => {
    const opts = { dir, split: 'train' as const, B: 5, T: 32, seed: 3 };
    const whole = new ShardLoader(opts);
    const perEpoch = whole.batchesPerEpoch;
    const all = take(whole, perEpoch * 2 + 3);
    for (const k of [1, 4, perEpoch - 1, perEpoch, perEpoch + 2]) {
      const first = new ShardLoader(opts);
      take(first, k);
      const saved = JSON.parse(JSON.stringify(first.position));
      const resumed = new ShardLoader({ ...opts, position: saved });
      assert.deepEqual(flat(take(resumed, all.length - k)), flat(all.slice(k)), `resume after ${k} batches`);
    }
  });

  it('visits every window once per epoch, in a new order each epoch (windows stay inside a shard)', () => {
    const l = new ShardLoader({ dir, split: 'train', B: 1, T: 50, seed: 5 });
    // 6 shards of 300 tokens hold floor(299/50) = 5 windows each, the last of 200 holds 3
    assert.equal(l.windows, 6 * 5 + 3);
    const epoch = () => take(l, l.windows).map((b) => [...b.inputs].join(','));
    const e0 = epoch();
    const e1 = epoch();
    assert.notDeepEqual(e0, e1);
    assert.deepEqual([...e0].sort(), [...e1].sort());
    assert.equal(l.position.epoch, 1);
  });

  it('rejects a bad position and a batch larger than the split', () => {
    assert.throws(
      () => new ShardLoader({ dir, split: 'train', B: 2, T: 8, seed: 1, position: { epoch: 0, cursor: -1 } }),
      /position .* is invalid/,
    );
    assert.throws(() => new ShardLoader({ dir, split: 'train', B: 1000, T: 100, seed: 1 }), /fewer than B=1000/);
  });
});
