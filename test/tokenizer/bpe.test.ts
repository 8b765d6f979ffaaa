// Byte-level BPE trained here: training on a small in-test corpus (hermetic), lossless round trips
// of any bytes, special-token safety, streaming decode, the file format and the GGUF export.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  trainBpe,
  Tokenizer,
  StreamDecoder,
  SPECIAL_TOKENS,
  saveTokenizer,
  loadTokenizer,
  toJSON,
  fromJSON,
  gpt2Export,
  byteToUnicode,
  cl100k,
} from '../../src/tokenizer/index.ts';
import { rng } from '../helpers.ts';

const CORPUS = [
  'the cat sat on the mat. the cat ate the rat. the rat ran.',
  "It's the 1st of May 2024; we'll train a tokenizer, won't we? 12345 + 678 = 13023.",
  'Tokenizers merge frequent pairs: th, he, the, then " the", " cat".',
  'Émile a mangé des crêpes 🥞🥞 à Paris. 東京は晴れ。 Привет, мир!',
  'def merge(a, b):\n    return a + b\n\n\nfor i in range(10):\n    print(i)\n',
]
  .join('\n')
  .repeat(20);

const trained = trainBpe([CORPUS], { vocabSize: 400 });
const tok = trained.tokenizer;

function randomBytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    // Mostly ASCII and valid multi-byte sequences, with stray continuation and lead bytes.
    const k = r();
    b[i] =
      k < 0.5
        ? 32 + Math.floor(r() * 95)
        : k < 0.7
          ? 0x80 + Math.floor(r() * 64)
          : k < 0.8
            ? 0xc0 + Math.floor(r() * 64)
            : Math.floor(r() * 256);
  }
  return b;
}

describe('BPE training', () => {
  it('grows the vocabulary to the requested size with the 256 bytes first', () => {
    assert.equal(tok.vocabSize, 400);
    assert.equal(trained.merges.length, 144);
    for (let b = 0; b < 256; b++) assert.deepEqual([...tok.vocab.token(b)], [b]);
  });

  it('merges the most frequent pair first, and every merge joins earlier tokens', () => {
    // "th"/"he"/" t" are the most frequent pairs in this corpus; the first merge must be one of
    // the pairs with the highest weighted count, computed here by brute force.
    const counts = new Map<string, number>();
    const bytes = new TextEncoder();
    for (const chunk of CORPUS.match(new RegExp(tok.pattern, 'gu'))!) {
      const b = bytes.encode(chunk);
      for (let i = 0; i + 1 < b.length; i++) {
        const k = `${b[i]},${b[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
    const best = Math.max(...counts.values());
    const [a, b, id] = trained.merges[0];
    assert.equal(counts.get(`${a},${b}`), best);
    assert.equal(id, 256);
    for (const [l, r, m] of trained.merges) {
      assert.ok(l < m && r < m, `merge ${m} uses a later token`);
      assert.deepEqual([...tok.vocab.token(m)], [...tok.vocab.token(l), ...tok.vocab.token(r)]);
    }
  });

  it('is deterministic: the same corpus gives the same merges', () => {
    assert.deepEqual(trainBpe([CORPUS], { vocabSize: 400 }).merges, trained.merges);
  });

  it('compresses its training text better than raw bytes', () => {
    const ids = tok.encode(CORPUS);
    assert.ok(ids.length < new TextEncoder().encode(CORPUS).length / 2, `only ${ids.length} tokens`);
  });

  it('rejects vocabulary sizes outside [256, 65536], naming the limit', () => {
    assert.throws(() => trainBpe([CORPUS], { vocabSize: 255 }), /\[256, 65536\], got 255/);
    assert.throws(() => trainBpe([CORPUS], { vocabSize: 65537 }), /\[256, 65536\], got 65537/);
    assert.equal(trainBpe([CORPUS], { vocabSize: 256 }).tokenizer.encode('ab').length, 2);
  });

  it('reports progress with rate and ETA', () => {
    const seen: string[] = [];
    trainBpe(['abc abc abd'], { vocabSize: 260, onProgress: (p) => seen.push(`${p.phase} ${p.done}/${p.total}`) });
    assert.ok(seen.includes('count 11/11') && seen.some((s) => s.startsWith('merge ')), seen.join('; '));
  });
});

describe('encode and decode', () => {
  it('round-trips random byte strings, invalid UTF-8 included', () => {
    const r = rng(1234);
    for (let n = 0; n < 300; n++) {
      const b = randomBytes(r, Math.floor(r() * 80));
      assert.deepEqual(tok.decodeBytes(tok.encodeBytes(b)), b);
    }
  });

  it('round-trips random byte strings with cl100k too', async () => {
    const big = await cl100k();
    const r = rng(99);
    for (let n = 0; n < 200; n++) {
      const b = randomBytes(r, Math.floor(r() * 80));
      assert.deepEqual(big.decodeBytes(big.encodeBytes(b)), b);
    }
  });

  it('round-trips emoji and mixed scripts as text', () => {
    const s = 'Émile 👨‍👩‍👧 東京 Привет \n\t 1234567';
    assert.equal(tok.decode(tok.encode(s)), s);
  });

  it('never emits a special token for text that spells one', () => {
    for (const name of SPECIAL_TOKENS) {
      const ids = tok.encode(`say ${name} now`);
      for (const id of ids) assert.ok(!tok.isSpecial(id), `${name} came out as special id ${id}`);
      assert.equal(tok.decode(ids), `say ${name} now`);
    }
  });

  it('puts the special tokens right after the BPE ids, in the documented order', () => {
    SPECIAL_TOKENS.forEach((name, i) => assert.equal(tok.special(name), 400 + i));
    assert.equal(tok.idLimit, 400 + SPECIAL_TOKENS.length);
    assert.equal(tok.decode([tok.special('<|assistant|>')]), '<|assistant|>');
    assert.throws(() => tok.decode([9999]), /token id 9999 is outside/);
  });
});

describe('streaming decode', () => {
  it('never emits U+FFFD mid-stream for characters split across tokens', async () => {
    const big = await cl100k();
    const text = '🤖 emoji 👨‍👩‍👧‍👦 split 東京 across tokens 🇫🇷!';
    const ids = big.encode(text);
    // cl100k encodes these emoji as several byte-level tokens each, so some token ends mid-character.
    assert.ok(
      ids.some((id) => big.decode([id]).includes('\ufffd')),
      'test text no longer splits a character',
    );
    const s = new StreamDecoder(big);
    let out = '';
    for (const id of ids) {
      const piece = s.push(id);
      assert.ok(!piece.includes('\ufffd'), `U+FFFD after token ${id}`);
      out += piece;
    }
    out += s.flush();
    assert.equal(out, text);
  });

  it('reports an unfinished character at the end of the stream', () => {
    const s = new StreamDecoder(tok);
    assert.equal(s.push(tok.encodeBytes(Uint8Array.of(0xf0, 0x9f))), '');
    assert.equal(s.flush(), '\ufffd');
  });
});

describe('tokenizer file', () => {
  it('saves and loads to a tokenizer that encodes identically', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-tok-'));
    const path = join(dir, 'tok.json');
    saveTokenizer(tok, path);
    const back = loadTokenizer(path);
    assert.deepEqual(back.specials, tok.specials);
    assert.equal(back.pattern, tok.pattern);
    assert.deepEqual(back.encode(CORPUS), tok.encode(CORPUS));
  });

  it('rejects a malformed file naming the field', () => {
    const good = toJSON(tok);
    assert.throws(() => fromJSON({ ...good, version: 2 }), /"version" 2 is not supported/);
    assert.throws(() => fromJSON({ ...good, tokens: good.tokens.slice(1) }), /byte 0 has no token/);
    assert.throws(() => fromJSON({ ...good, special_tokens: { '<|bos|>': 5 } }), /special ids must come after/);
    const dir = mkdtempSync(join(tmpdir(), 'tetra-tok-'));
    writeFileSync(join(dir, 'bad.json'), '{nope');
    assert.throws(() => loadTokenizer(join(dir, 'bad.json')), /not JSON/);
    assert.throws(() => loadTokenizer(join(dir, 'missing.json')), /cannot read tokenizer file .*ENOENT/);
  });

  it('exports gpt2-style tokens and merges for GGUF', () => {
    const g = gpt2Export(tok);
    const b2u = byteToUnicode();
    assert.equal(new Set(b2u).size, 256);
    assert.equal(b2u[32], 'Ġ'); // GPT-2 shows a space as U+0120
    assert.equal(b2u[10], 'Ċ');
    assert.equal(g.tokens.length, tok.idLimit);
    assert.equal(g.tokens[tok.special('<|bos|>')], '<|bos|>');
    assert.equal(g.tokenTypes[tok.special('<|bos|>')], 3);
    // Every trained token comes from one merge of two earlier tokens.
    assert.equal(g.merges.length, trained.merges.length);
    const [a, b, id] = trained.merges[0];
    assert.equal(g.merges[0], `${g.tokens[a]} ${g.tokens[b]}`);
    for (const m of g.merges) {
      const [l, r] = m.split(' ');
      assert.ok(g.tokens.includes(l + r), `merge ${m} makes no token`);
    }
    assert.ok(g.tokens.indexOf(g.merges[0].replace(' ', '')) === id);
  });

  it('builds a tokenizer from any byte vocabulary, rejecting duplicates', () => {
    const bytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    assert.throws(() => new Tokenizer([...bytes, Uint8Array.of(97)], {}), /repeats the bytes of token 97/);
  });
});
