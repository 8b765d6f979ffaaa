// `tetra tokenize` and `tetra tokenizer train`, run as a user would: spawning bin/tetra.js.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '../../bin/tetra.js');
function tetra(args: string[], input: string | Buffer = '') {
  const r = spawnSync(process.execPath, [bin, ...args], { input, env: process.env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}
const dir = mkdtempSync(join(tmpdir(), 'tetra-tok-cli-'));

describe('tetra tokenize', () => {
  it('prints cl100k ids and their count as one JSON object', () => {
    const r = tetra(['tokenize', '--encoding', 'cl100k'], 'hello world');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.toString()), { tokens: [15339, 1917], count: 2 });
  });

  it('decodes its own output back to the exact input bytes, invalid UTF-8 included', () => {
    const input = Buffer.concat([Buffer.from('héllo 👍 <|user|>\n'), Buffer.from([0xff, 0xc3, 0x28])]);
    const enc = tetra(['tokenize'], input);
    assert.equal(enc.code, 0, enc.stderr);
    const dec = tetra(['tokenize', '--decode'], enc.stdout);
    assert.equal(dec.code, 0, dec.stderr);
    assert.deepEqual(dec.stdout, input);
    assert.equal(tetra(['tokenize', '--decode'], '[15339, 1917]').stdout.toString(), 'hello world');
  });

  it('rejects malformed --decode input with one line naming the problem', () => {
    for (const [input, want] of [
      ['[1, 2', /stdin is not JSON/],
      ['{"ids": [1]}', /expected \{"tokens"/],
      ['[1, -3]', /tokens\[1\] = -3 is not a token id \(integers 0\.\.\d+\)/],
    ] as const) {
      const r = tetra(['tokenize', '--decode'], input);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, want);
    }
  });

  it('rejects an unknown flag with exit code 2 and an unreadable --encoding file with one line', () => {
    const r = tetra(['tokenize', '--colour']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'tetra tokenize: unknown flag --colour (see tetra tokenize --help)');
    const missing = tetra(['tokenize', '--encoding', join(dir, 'nope.json')], 'x');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr.trim(), /^tetra tokenize: --encoding: cannot read tokenizer file .*nope\.json: ENOENT$/);
  });
});

describe('tetra tokenizer train', () => {
  it('trains from files, writes a tokenizer that tetra tokenize can use, and reports progress', () => {
    const a = join(dir, 'a.txt'),
      b = join(dir, 'b.txt'),
      out = join(dir, 'tok.json');
    writeFileSync(a, 'the quick brown fox jumps over the lazy dog\n'.repeat(50));
    writeFileSync(b, 'pack my box with five dozen liquor jugs\n'.repeat(50));
    const r = tetra(['tokenizer', 'train', '--input', a, b, '--vocab-size', '300', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /merges 44\/44, .*eta/);
    assert.match(r.stderr, /trained 300 tokens/);
    const file = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(file.format, 'tetra-bpe');
    assert.equal(file.tokens.length, 300);
    assert.equal(file.special_tokens['<|bos|>'], 300);
    const enc = tetra(['tokenize', '--encoding', out], 'the lazy dog');
    const { tokens, count } = JSON.parse(enc.stdout.toString());
    assert.ok(count < 12 && count === tokens.length, enc.stdout.toString());
    assert.ok(tokens.every((id: number) => id < 300));
  });

  it('names the field and the limit for bad arguments', () => {
    const a = join(dir, 'a.txt');
    writeFileSync(a, 'text');
    const cases: [string[], RegExp, number][] = [
      [
        ['--input', a, '--vocab-size', '100', '--out', join(dir, 'x.json')],
        /--vocab-size must be an integer in \[256, 65536\], got 100/,
        2,
      ],
      [
        ['--input', a, '--vocab-size', '70000', '--out', join(dir, 'x.json')],
        /--vocab-size must be an integer in \[256, 65536\], got 70000/,
        2,
      ],
      [
        ['--input', join(dir, 'missing.txt'), '--vocab-size', '300', '--out', join(dir, 'x.json')],
        /cannot read --input .*missing\.txt: ENOENT/,
        1,
      ],
      [['--vocab-size', '300', '--out', join(dir, 'x.json')], /--input FILE is required/, 2],
    ];
    for (const [args, want, code] of cases) {
      const r = tetra(['tokenizer', 'train', ...args]);
      assert.equal(r.code, code, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, want);
    }
  });
});
