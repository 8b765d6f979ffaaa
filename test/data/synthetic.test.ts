import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  answerFor,
  englishNumber,
  frenchNumber,
  generateArithmetic,
  generateDictionary,
  generateInstructions,
  readWordNet,
  followsStyle,
  splitOfKey,
  SYSTEM_PHRASINGS,
  type InstructionSample,
  type InstructionStyle,
  type SyntheticSample,
} from './imports.ts';
import { tempDir, writeWordNet } from './fixtures.ts';

function assertDisjoint(train: SyntheticSample[], evalSet: SyntheticSample[]): void {
  const trainKeys = new Set(train.map((s) => s.key));
  const shared = evalSet.filter((s) => trainKeys.has(s.key)).map((s) => s.key);
  assert.deepEqual(shared, [], 'eval problems must never appear in training');
  for (const s of train) assert.equal(splitOfKey(s.task, s.key), 'train');
  for (const s of evalSet) assert.equal(splitOfKey(s.task, s.key), 'eval');
}

function assertShape(s: SyntheticSample): void {
  assert.deepEqual(s.messages.slice(0, -1), s.input);
  assert.deepEqual(s.messages.at(-1), { role: 'assistant', content: s.ideal });
}

describe('arithmetic generator', () => {
  const train = generateArithmetic({ seed: 1, count: 3000, split: 'train', maxDigits: 12 });
  const evalSet = generateArithmetic({ seed: 1, count: 300, split: 'eval', maxDigits: 12 });

  it('is deterministic for a seed', () => {
    assert.deepEqual(generateArithmetic({ seed: 1, count: 50, split: 'train', maxDigits: 12 }), train.slice(0, 50));
    assert.notDeepEqual(generateArithmetic({ seed: 2, count: 50, split: 'train', maxDigits: 12 }), train.slice(0, 50));
  });
  it('gives exact answers for add, subtract and multiply (checked with BigInt from the question text)', () => {
    const seen = new Set<string>();
    for (const s of [...train, ...evalSet]) {
      assertShape(s);
      const m = /(\d+) ([-+*]) (\d+)/.exec(s.input.at(-1)!.content)!;
      const [a, b] = [BigInt(m[1]), BigInt(m[3])];
      const want = m[2] === '+' ? a + b : m[2] === '-' ? a - b : a * b;
      assert.equal(s.ideal, want.toString(), s.input[0].content);
      seen.add(m[2]);
    }
    assert.deepEqual([...seen].sort(), ['*', '+', '-']);
    assert.ok(
      train.some((s) => s.ideal.replace('-', '').length >= 20),
      'multi-digit products are exact beyond 2^53',
    );
  });
  it('keeps held-out problems out of training', () => assertDisjoint(train, evalSet));
  it('names the field and limit on bad options', () => {
    assert.throws(
      () => generateArithmetic({ seed: 1, count: 1, split: 'train', maxDigits: 21 }),
      /maxDigits must be an integer in \[1, 20\], got 21/,
    );
  });
});

describe('dictionary generator (WordNet records)', () => {
  const dir = tempDir();
  writeWordNet(dir);
  const synsets = readWordNet(dir);

  it('parses WordNet data lines: lemmas, hypernym pointers, definition and examples', () => {
    const q = synsets.find((s) => s.lemmas[0] === 'quadruped')!;
    assert.deepEqual(q.lemmas, ['quadruped', 'four-footed beast']);
    assert.deepEqual(q.hypernyms, [100]);
    assert.equal(q.definition, 'an animal in a test that walks on four legs');
    assert.deepEqual(q.examples, ['the quadruped crossed the field']);
    assert.equal(synsets.length, 8);
  });

  const train = generateDictionary({ seed: 4, count: 40, split: 'train', synsets });
  it('answers from the records: definitions, hypernyms and synonyms', () => {
    const kinds = new Set<string>();
    for (const s of train) {
      assertShape(s);
      const q = s.input[0].content;
      let m: RegExpExecArray | null;
      if ((m = /^(?:What does the \w+ "(.+)" mean\?|Define "(.+)"\.|What is the meaning of "(.+)"\?|What is an? ([^"]+)\?)$/.exec(q))) {
        const word = m[1] ?? m[2] ?? m[3] ?? m[4];
        kinds.add('definition');
        assert.equal(s.ideal, synsets.find((x) => x.lemmas.includes(word))!.definition);
      } else if ((m = /^An? (.+) is a kind of what\?$/.exec(q))) {
        kinds.add('hypernym');
        const syn = synsets.find((x) => x.lemmas.includes(m![1]))!;
        assert.equal(s.ideal, synsets.find((x) => x.offset === syn.hypernyms[0])!.lemmas[0]);
      } else if ((m = /^Give a synonym of "(.+)"\.$/.exec(q))) {
        kinds.add('synonym');
        const syn = synsets.find((x) => x.lemmas.includes(m![1]))!;
        assert.ok(syn.lemmas.includes(s.ideal) && s.ideal !== m[1]);
      } else assert.fail(`unexpected question ${q}`);
    }
    assert.deepEqual([...kinds].sort(), ['definition', 'hypernym', 'synonym']);
  });
  it('is deterministic and keeps held-out words out of training', () => {
    assert.deepEqual(generateDictionary({ seed: 4, count: 40, split: 'train', synsets }), train);
    const keys = new Set(synsets.flatMap((s) => s.lemmas.map((l) => l.toLowerCase())));
    const evalKeys = [...keys].filter((k) => splitOfKey('dictionary', k) === 'eval');
    assert.ok(evalKeys.length > 0, `the fixture should hold at least one held-out word (keys: ${[...keys].join(', ')})`);
    assertDisjoint(train, generateDictionary({ seed: 4, count: 5, split: 'eval', synsets }));
  });
});

describe('instruction-following generator', () => {
  const train = generateInstructions({ seed: 9, count: 2000, split: 'train' });
  const evalSet = generateInstructions({ seed: 9, count: 200, split: 'eval' });

  it('is deterministic for a seed', () => {
    assert.deepEqual(generateInstructions({ seed: 9, count: 100, split: 'train' }), train.slice(0, 100));
  });
  it('follows each system message', () => {
    const byStyle = new Map<string, InstructionSample[]>();
    for (const s of train) {
      assertShape(s);
      byStyle.set(s.style, [...(byStyle.get(s.style) ?? []), s]);
    }
    assert.equal(byStyle.size, 7);
    const user = (s: SyntheticSample) => s.input.at(-1)!.content;
    for (const s of byStyle.get('uppercase')!) assert.equal(s.ideal, s.ideal.toUpperCase());
    for (const s of byStyle.get('one-word')!) assert.match(s.ideal, /^([a-z]+(-[a-z]+)?|\d+)$/);
    for (const s of byStyle.get('json')!) assert.deepEqual(Object.keys(JSON.parse(s.ideal)), ['answer']);
    for (const s of byStyle.get('reverse')!) assert.equal([...s.ideal].reverse().join(''), user(s));
    for (const s of byStyle.get('count-words')!) assert.equal(Number(s.ideal), user(s).split(' ').length);
    for (const s of byStyle.get('french')!) {
      const m = /^What is (\d+) \+ (\d+)\?$/.exec(user(s));
      if (m) assert.equal(s.ideal, `${m[1]} plus ${m[2]} font ${frenchNumber(Number(m[1]) + Number(m[2]))}.`);
    }
    for (const s of byStyle.get('plain')!) {
      assert.equal(s.input[0].role, 'user', 'no system message');
      const m = /^What is (\d+) \+ (\d+)\?$/.exec(user(s));
      if (m) assert.equal(s.ideal, `${m[1]} + ${m[2]} is ${Number(m[1]) + Number(m[2])}.`);
    }
    // Every ideal answer has the form its system message asks for.
    for (const s of train) assert.ok(followsStyle(s.style, user(s), s.ideal), `${s.style}: ${s.ideal}`);
  });
  it('says each system message four ways in training and holds a fifth out', () => {
    for (const [style, ways] of Object.entries(SYSTEM_PHRASINGS)) {
      const seen = new Set(train.filter((s) => s.style === style).map((s) => s.input[0].content));
      assert.deepEqual([...seen].sort(), ways.slice(0, -1).sort(), style);
    }
    const held = generateInstructions({ seed: 9, count: 100, split: 'eval', phrasings: 'held-out' });
    const heldWays = new Set(Object.values(SYSTEM_PHRASINGS).map((w) => w.at(-1)));
    for (const s of held) if (s.style !== 'plain') assert.ok(heldWays.has(s.input[0].content), s.input[0].content);
    assertDisjoint(train, held);
  });
  it('tells a reply that follows the system message from one that does not', () => {
    const no: [InstructionStyle, string, string][] = [
      ['one-word', 'What is 2 + 2?', 'it is four'],
      ['uppercase', 'What is 2 + 2?', '2 + 2 is 4.'],
      ['uppercase', 'What is 2 + 2?', '4'],
      ['json', 'What is 2 + 2?', '{"answer": 4, "why": 1}'],
      ['json', 'What is 2 + 2?', '[4]'],
      ['french', 'What is 2 + 2?', '2 + 2 is 4.'],
      ['reverse', 'What is 2 + 2?', 'What is 2 + 2?'],
      ['reverse', 'What is 2 + 2?', '?'],
      ['reverse', 'What is 2 + 2?', '4 si tahW'],
      ['count-words', 'What is 2 + 2?', 'four'],
      ['plain', 'What is 2 + 2?', '  '],
    ];
    for (const [style, u, r] of no) assert.equal(followsStyle(style, u, r), false, `${style}: ${r}`);
    const yes: [InstructionStyle, string, string][] = [
      ['one-word', 'What is 2 + 2?', 'five'],
      ['uppercase', 'What is 2 + 2?', '2 + 2 IS 5.'],
      ['json', 'What is 2 + 2?', '{"answer": 5}'],
      ['french', 'What is 2 + 2?', '2 plus 2 font cinq.'],
      ['reverse', 'What is 2 + 2?', '?5 + 2 si tahW'],
      ['count-words', 'What is 2 + 2?', '7'],
    ];
    for (const [style, u, r] of yes) assert.equal(followsStyle(style, u, r), true, `${style}: ${r} has the form, though wrong`);
  });
  it('spells numbers in English and French', () => {
    assert.deepEqual([0, 12, 21, 42, 105, 190].map(englishNumber), [
      'zero',
      'twelve',
      'twenty-one',
      'forty-two',
      'one hundred and five',
      'one hundred and ninety',
    ]);
    assert.deepEqual([1, 17, 21, 70, 71, 77, 80, 81, 91, 99, 100, 198, 200].map(frenchNumber), [
      'un',
      'dix-sept',
      'vingt et un',
      'soixante-dix',
      'soixante et onze',
      'soixante-dix-sept',
      'quatre-vingts',
      'quatre-vingt-un',
      'quatre-vingt-onze',
      'quatre-vingt-dix-neuf',
      'cent',
      'cent quatre-vingt-dix-huit',
      'deux cents',
    ]);
    assert.equal(answerFor('one-word', { key: 'k', text: 'x', answer: 5, sentence: '', french: '', oneWord: 'five' }), 'five');
  });
  it('keeps held-out questions out of training under every system message', () => assertDisjoint(train, evalSet));
});
