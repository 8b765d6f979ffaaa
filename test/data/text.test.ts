import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExactDeduper,
  NearDeduper,
  estimatedJaccard,
  minhash,
  normalizeText,
  splitOf,
  stripGcide,
  stripHtml,
  stripTroff,
  sha256HexForTest,
} from './imports.ts';

describe('normalisation', () => {
  it('composes Unicode (NFC), turns CRLF and CR into LF, drops controls, trailing spaces and extra blank lines', () => {
    assert.equal(normalizeText('\n\ncafe\u0301  \r\nline\rtwo\u0007\n\n\n\nend \n\n'), 'caf\u00e9\nline\ntwo\n\nend');
  });
  it('keeps tabs inside lines', () => {
    assert.equal(normalizeText('a\tb'), 'a\tb');
  });
  it('strips HTML tags, scripts and entities', () => {
    assert.equal(
      normalizeText(
        stripHtml('<html><head><title>x</title></head><body><script>var a=1</script><p>Fish &amp; chips&#33;</p><p>Two</p></body></html>'),
      ),
      'Fish & chips!\n\nTwo',
    );
  });
  it('strips troff requests and font escapes but keeps the words', () => {
    assert.equal(
      normalizeText(stripTroff('.TH X 1\n.SH NAME\nx \\- does \\fBthings\\fR\n.B bold words\n')),
      'NAME\nx - does things\nbold words',
    );
  });
  it('strips GCIDE pronunciation codes, attributions and cross-reference braces', () => {
    assert.equal(
      normalizeText(
        stripGcide('accrete \\ac*crete"\\ ([a^]k*kr[=e]t"), v. i.\n   1. To grow together. See {Crescent}.\n      [1913 Webster]\n'),
      ),
      'accrete, v. i.\n1. To grow together. See Crescent.',
    );
  });
});

describe('deduplication', () => {
  it('exact dedup keeps the first copy only', () => {
    const d = new ExactDeduper();
    assert.deepEqual(
      ['a b', 'c', 'a b', 'c', 'a b '].map((t) => d.add(t)),
      [true, true, false, false, true],
    );
  });

  const base =
    'the quick brown fox jumps over the lazy dog while the farmer watches from the old wooden gate near the river bank at dawn and the birds sing loudly';
  // 120 distinct words: 116 shingles of 5 words. One changed word alters 5 of them
  // (Jaccard 111/121 = 0.92); one changed word in every 6 alters nearly all (Jaccard < 0.2).
  const words = Array.from({ length: 120 }, (_, i) => `w${(i * 37) % 1009}`);
  it('near dedup drops a document that differs from a kept one by one word (Jaccard 0.92 >= 0.8)', () => {
    const d = new NearDeduper();
    assert.equal(d.add(words.join(' ')), true);
    const oneWord = words.map((w, i) => (i === 60 ? 'changed' : w)).join(' ');
    assert.ok(estimatedJaccard(minhash(words.join(' ')), minhash(oneWord)) >= 0.8);
    assert.equal(d.add(oneWord), false);
  });
  it('near dedup keeps a document that shares many words but few 5-word runs (Jaccard < 0.8)', () => {
    const d = new NearDeduper();
    assert.equal(d.add(words.join(' ')), true);
    assert.equal(d.add(words.map((w, i) => (i % 6 === 0 ? `x${i}` : w)).join(' ')), true);
  });
  it('near dedup keeps documents that only share a few phrases', () => {
    const d = new NearDeduper();
    assert.equal(d.add(base), true);
    assert.equal(
      d.add('the quick brown fox jumps over a fence and then runs into the forest where nobody can find it for many days and nights'),
      true,
    );
    assert.equal(d.add('an entirely different text about compilers, registers, and the allocation of temporaries in loops'), true);
    assert.equal(d.size, 3);
  });
  it('MinHash estimates Jaccard similarity: identical texts give 1, unrelated texts near 0', () => {
    assert.equal(estimatedJaccard(minhash(base), minhash(base)), 1);
    assert.ok(
      estimatedJaccard(
        minhash(base),
        minhash('completely unrelated words about kernels and caches and threads and memory bandwidth limits'),
      ) < 0.1,
    );
  });
});

describe('train/validation split', () => {
  const hashes = Array.from({ length: 4000 }, (_, i) => sha256HexForTest(`document ${i}`));
  it('is a pure function of the document hash (same answer in any order)', () => {
    const a = hashes.map((h) => splitOf(h, 0.1));
    const b = [...hashes]
      .reverse()
      .map((h) => splitOf(h, 0.1))
      .reverse();
    assert.deepEqual(a, b);
  });
  it('puts about valFraction of documents in val, and none for 0', () => {
    const val = hashes.filter((h) => splitOf(h, 0.1) === 'val').length;
    assert.ok(val > 300 && val < 500, `val=${val} of 4000`);
    assert.equal(hashes.filter((h) => splitOf(h, 0) === 'val').length, 0);
  });
  it('rejects a fraction outside [0, 1)', () => {
    assert.throws(() => splitOf(hashes[0], 1), /valFraction must be in \[0, 1\), got 1/);
  });
});
