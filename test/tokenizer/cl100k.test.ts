// cl100k: our encoder must give exactly js-tiktoken's ids (GPT-4's counts) on any text.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { Tiktoken } from 'js-tiktoken/lite';
import ranks from 'js-tiktoken/ranks/cl100k_base';
import { cl100k, pretokenize, type Tokenizer } from '../../src/tokenizer/index.ts';
import { rng } from '../helpers.ts';

let tok: Tokenizer;
let ref: Tiktoken;
before(async () => {
  tok = await cl100k();
  ref = new Tiktoken(ranks);
});

const VARIED = [
  '',
  ' ',
  'hello world',
  'Hello, World!',
  "I'm here, you're there, they've gone, we'll see, he'd know, it's MINE, DON'T, I'M, We'Re",
  'numbers 1 12 123 1234 12345 3.14159 -42 1,000,000 ١٢٣٤ ๑๒๓ ²³ Ⅻ',
  'whitespace:  two   three\t\ttabs\n\nnewlines\r\n\r\nCRLF   \n  trailing   ',
  '      leading spaces and a lone one ',
  'emoji 👍 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🤖🤖🤖',
  'café naïve Ünïcödé Straße ÆØÅ',
  '日本語のテキスト、中文文本。한국어 텍스트',
  'Русский текст, ελληνικά, עברית, العربية, हिन्दी',
  'def f(x):\n    return x**2  # square\n\nclass A:\n\tpass\n',
  'if (a && b || !c) { x += y >> 2; } // comment /* block */',
  '<|endoftext|> <|user|> <|system|> <|im_start|>',
  'https://example.com/path?q=1&r=2#frag user@example.com',
  '\ud800 lone high, lone low \udc00, pair \ud83d\ude00',
  'a'.repeat(500) + ' ' + '1'.repeat(50) + ' ' + '!?'.repeat(40),
  '\u00a0nbsp\u2003emsp\u3000ideographic\ufefffeff',
];

function sameAsRef(text: string): void {
  const ours = tok.encode(text);
  const theirs = ref.encode(text, [], []);
  assert.deepEqual(ours, theirs, `ids differ for ${JSON.stringify(text.slice(0, 80))}`);
}

describe('cl100k encoding', () => {
  it('gives js-tiktoken ids on varied text (unicode, emoji, numbers, whitespace runs, contractions, code)', () => {
    for (const t of VARIED) sameAsRef(t);
    sameAsRef(VARIED.join('\n'));
  });

  it('gives js-tiktoken ids on random strings drawn from a mixed alphabet', () => {
    const r = rng(7);
    const alphabet = [
      ...'abcXYZ019 \t\n\r\'"!?.,-_()[]{}<>|/\\@#$%^&*+=~`',
      'é',
      'ß',
      'ж',
      'λ',
      '中',
      'の',
      '한',
      '👍',
      '🏽',
      '\u200d',
      '\u00a0',
      '١',
      '²',
      '\u0301',
      's',
      "'s",
      "'LL",
    ];
    for (let n = 0; n < 300; n++) {
      let s = '';
      const len = Math.floor(r() * 60);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      sameAsRef(s);
    }
  });

  it('gives js-tiktoken ids on chunks long enough for the heap-based merge', () => {
    sameAsRef('🤖'.repeat(300));
    sameAsRef('x' + ' '.repeat(700) + 'y');
    sameAsRef('ab'.repeat(200) + 'cdé'.repeat(100));
    const r = rng(3);
    const letters = [...'abcdefghijklmnopqrstuvwxyzéàжλ中の한'];
    for (let n = 0; n < 5; n++) {
      let s = ' ';
      for (let i = 0; i < 400; i++) s += letters[Math.floor(r() * letters.length)];
      sameAsRef(s);
    }
  });

  it('encodes a 256 KB single chunk in well under a second (no quadratic merge)', () => {
    const t0 = performance.now();
    const ids = tok.encode('🤖'.repeat(65536));
    assert.equal(ids.length, 3 * 65536);
    assert.ok(performance.now() - t0 < 1000, `took ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it('splits text into chunks that concatenate back to the text', () => {
    for (const t of VARIED) assert.equal(pretokenize(t).join(''), t);
  });

  it('decodes ids back to the text', () => {
    for (const t of VARIED) if (!/[\ud800-\udfff]/.test(t.replace(/\ud83d\ude00/g, ''))) assert.equal(tok.decode(tok.encode(t)), t);
  });

  it('gives the same ids whether a chunk is cached or not', () => {
    const text = VARIED.join(' ');
    const first = tok.encode(text);
    assert.deepEqual(tok.encode(text), first);
  });

  it('keeps OpenAI specials at their ids and puts the chat specials after them', () => {
    assert.equal(tok.vocabSize, 100256);
    assert.equal(tok.special('<|endoftext|>'), 100257);
    assert.equal(tok.special('<|endofprompt|>'), 100276);
    assert.equal(tok.special('<|bos|>'), 100277);
    assert.equal(tok.decode([tok.special('<|user|>')]), '<|user|>');
  });
});
