import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildCorpus, loadEncoder, MissingSourceError, readManifest, readShard, SOURCES, ShardLoader } from './imports.ts';
import { saveTokenizer, trainBpe } from '../../src/tokenizer/index.ts';
import { tempDir, writeSourceTree } from './fixtures.ts';

const FIXTURE_SOURCES = ['wordnet', 'devil', 'fortunes', 'man', 'python-doc'];
const sources = SOURCES.filter((s) => FIXTURE_SOURCES.includes(s.name));
const bin = join(import.meta.dirname, '../../bin/tetra.js');
const tetra = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

// The byte tokenizer: ids 0..255 are bytes, <|endoftext|> is 257 (after <|bos|> at 256).
const EOT = 257;
const bytes = await loadEncoder('bytes');

function decodeAll(dir: string, split: 'train' | 'val'): string[] {
  const m = readManifest(dir, { verify: true });
  const ids = m.splits[split].shards.flatMap((s) => [...readShard(join(dir, s.file)).tokens]);
  const docs: string[] = [];
  let cur: number[] = [];
  for (const id of ids) {
    if (id === EOT) {
      docs.push(Buffer.from(cur).toString('utf8'));
      cur = [];
    } else cur.push(id);
  }
  return docs;
}

describe('tetra data build (fixture sources)', () => {
  const root = tempDir();
  writeSourceTree(root);
  const out = tempDir();
  const build = () => buildCorpus({ name: 'fx', out, root, sources, encoder: bytes, valFraction: 0.3, shardMaxTokens: 1024, log: null });

  it('extracts, normalises, dedups and records each source with its licence and sizes', async () => {
    const m = await build();
    const by = Object.fromEntries(m.sources.map((s) => [s.name, s]));
    assert.deepEqual(
      m.sources.map((s) => s.name),
      FIXTURE_SOURCES,
    );
    assert.equal(by.wordnet.documents, 8);
    assert.equal(by.devil.documents, 4);
    assert.equal(by.devil.exactDuplicates, 1);
    assert.equal(by.fortunes.documents, 3); // "Short." is under min-chars
    assert.equal(by.fortunes.nearDuplicates, 1);
    assert.equal(by.man.documents, 1); // the .so link page is not a document
    for (const s of m.sources) {
      assert.ok(s.licence && s.package && s.rawBytes > 0 && s.textBytes > 0, s.name);
      assert.equal(
        s.tokens.train + s.tokens.val,
        s.keptBytes + s.keptDocuments,
        `${s.name}: byte tokens = bytes + one end-of-text per document`,
      );
    }
    const all = [...decodeAll(out, 'train'), ...decodeAll(out, 'val')];
    assert.equal(all.length, m.splits.train.documents + m.splits.val.documents);
    assert.ok(all.includes('Introduction\n\nThis page uses code and len in a made-up fixture.'), 'RST markup stripped and CRLF normalised');
    assert.ok(
      all.some((d) => d.includes('widget - makes widgets for the tests') && d.includes('turns gears into widgets.')),
      'troff stripped',
    );
    assert.ok(m.splits.val.documents > 0 && m.splits.train.documents > 0);
    assert.equal(new Set(all).size, all.length, 'no document twice, none in both splits');
  });

  it('is deterministic and resumable: a second build reuses the extracted sources and writes identical shards', async () => {
    const first = readManifest(out);
    const stats = statSync(join(out, 'work', 'devil.jsonl')).mtimeMs;
    const m = await build();
    assert.equal(statSync(join(out, 'work', 'devil.jsonl')).mtimeMs, stats, 'extraction was skipped');
    assert.deepEqual(m.splits, first.splits);
    const loader = new ShardLoader({ dir: out, split: 'train', B: 2, T: 16, seed: 1 });
    assert.equal(loader.next().inputs.length, 32);
  });

  it('tokenises with a trained BPE tokenizer file: the shards decode to the same documents', async () => {
    const texts = [...decodeAll(out, 'train'), ...decodeAll(out, 'val')];
    const tok = trainBpe(texts, { vocabSize: 300 }).tokenizer;
    const path = join(tempDir(), 'tok.json');
    saveTokenizer(tok, path);
    const bpeOut = tempDir();
    const m = await buildCorpus({
      name: 'fx-bpe',
      out: bpeOut,
      root,
      sources,
      encoder: await loadEncoder(path),
      valFraction: 0.3,
      shardMaxTokens: 1024,
      log: null,
    });
    assert.equal(m.tokenizer.name, resolve(path));
    assert.equal(m.tokenizer.vocabSize, tok.idLimit);
    const eot = tok.special('<|endoftext|>');
    const docs: string[] = [];
    for (const split of ['train', 'val'] as const) {
      let cur: number[] = [];
      for (const sh of m.splits[split].shards)
        for (const id of readShard(join(bpeOut, sh.file)).tokens) {
          if (id === eot) {
            docs.push(tok.decode(cur));
            cur = [];
          } else cur.push(id);
        }
    }
    assert.deepEqual(docs.sort(), texts.sort());
    assert.ok(
      m.splits.train.tokens + m.splits.val.tokens < texts.reduce((s, t) => s + Buffer.byteLength(t) + 1, 0),
      'BPE uses fewer tokens than bytes',
    );
  });

  it('a missing source is an error naming the package to install, unless excluded', async () => {
    const root2 = tempDir();
    writeSourceTree(root2);
    rmSync(join(root2, 'usr/share/dictd'), { recursive: true });
    const o = { name: 'fx', out: tempDir(), root: root2, sources, encoder: bytes, log: null };
    await assert.rejects(
      buildCorpus(o),
      (e: unknown) =>
        e instanceof MissingSourceError &&
        /devil \(package dict-devil: apt-get install dict-devil\)/.test(e.message) &&
        /--exclude devil/.test(e.message),
    );
    const m = await buildCorpus({ ...o, exclude: ['devil'] });
    assert.deepEqual(
      m.excludedSources.map((s) => s.name),
      ['devil'],
    );
  });
});

describe('tetra data (command line)', () => {
  it('rejects an unknown flag with one line and exit code 2', () => {
    const r = tetra(['data', 'build', '--colour']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), 'tetra data: unknown flag --colour (see tetra data --help)');
  });
  it('names the field and the limit on a bad value', () => {
    const r = tetra(['data', 'build', '--val-fraction', '0.9']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--val-fraction must be a number in \[0, 0.5\], got 0.9/);
  });
  it('builds from a fixture root, reports a missing source by package, and checks the result', () => {
    const root = tempDir();
    writeSourceTree(root);
    const out = tempDir();
    const r = tetra(['data', 'build', '--root', root, '--out', out, '--sources', 'devil,fortunes,wordnet,gcide']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing corpus sources: gcide \(package dict-gcide: apt-get install dict-gcide\)/);
    const ok = tetra(['data', 'build', '--root', root, '--out', out, '--sources', 'devil,fortunes,wordnet,gcide', '--exclude', 'gcide']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^devil +4 +3 /m);
    assert.equal(tetra(['data', 'check', '--out', out, '--verify']).status, 0);
    rmSync(join(out, readdirSync(out).find((f) => f.startsWith('train_'))!));
    const bad = tetra(['data', 'check', '--out', out]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /train_000000\.bin: shard named in .*manifest\.json is missing/);
  });
  it('writes synthetic chat and eval files', () => {
    const out = tempDir();
    const r = tetra(['data', 'synth', '--task', 'arithmetic', '--count', '20', '--eval-count', '5', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const chat = readFileSync(join(out, 'arithmetic.train.chat.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const ev = readFileSync(join(out, 'arithmetic.eval.eval.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(chat.length, 20);
    assert.equal(ev.length, 5);
    assert.equal(chat[0].messages.at(-1).role, 'assistant');
    assert.ok(typeof ev[0].ideal === 'string' && Array.isArray(ev[0].input));
  });
});
