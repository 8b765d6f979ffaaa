import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseYaml, YamlError } from '../../src/evals/yaml.ts';

describe('YAML for registry files', () => {
  it('reads an eval alias and its versioned entry with nested args and a trailing comment', () => {
    const doc = parseYaml(
      `
# spelling evals, written for these tests
spell-check:
  id: spell-check.dev.v1
  description: "does the model fix one typo?"
  metrics: [accuracy, f1_score]
spell-check.dev.v1:
  class: evals.elsuite.basic.fuzzy_match:FuzzyMatch
  args:
    samples_jsonl: spelling/dev.jsonl   # under data/
    max_tokens: 32
    num_few_shot: 0
`,
      'spell.yaml',
    );
    assert.deepEqual(doc, {
      'spell-check': { id: 'spell-check.dev.v1', description: 'does the model fix one typo?', metrics: ['accuracy', 'f1_score'] },
      'spell-check.dev.v1': {
        class: 'evals.elsuite.basic.fuzzy_match:FuzzyMatch',
        args: { samples_jsonl: 'spelling/dev.jsonl', max_tokens: 32, num_few_shot: 0 },
      },
    });
  });

  it('reads a model-graded spec: literal block prompt, letters, flow scores with quoted keys', () => {
    const doc = parseYaml(`
tone:
  prompt: |
    Read the reply below and judge its tone.

    Reply: {completion}
  choice_strings: PNU
  choice_scores: {"P": 1.0, 'N': 0, U: 0.5}
  input_outputs:
    input: completion
  eval_type: classify
`) as Record<string, Record<string, unknown>>;
    assert.equal(doc.tone.prompt, 'Read the reply below and judge its tone.\n\nReply: {completion}\n');
    assert.deepEqual(doc.tone.choice_scores, { P: 1, N: 0, U: 0.5 });
    assert.equal(doc.tone.choice_strings, 'PNU');
  });

  it('applies block scalar chomping (|-, |+) and folding (>)', () => {
    const doc = parseYaml('a: |-\n  x\n  y\n\nb: >\n  one\n  two\n\n  three\nc: |+\n  keep\n\nd: end\n') as Record<string, string>;
    assert.equal(doc.a, 'x\ny');
    assert.equal(doc.b, 'one two\nthree\n');
    assert.equal(doc.c, 'keep\n\n');
    assert.equal(doc.d, 'end');
  });

  it('reads block sequences of scalars, mappings and sequences, also at the key indent', () => {
    const doc = parseYaml('set:\n  evals:\n  - alpha\n  - beta*\nrows:\n  - name: a\n    n: 1\n  - - x\n    - y\n') as Record<
      string,
      unknown
    >;
    assert.deepEqual(doc.set, { evals: ['alpha', 'beta*'] });
    assert.deepEqual(doc.rows, [{ name: 'a', n: 1 }, ['x', 'y']]);
  });

  it('reads flow collections across lines, quoted strings with escapes, and core-schema scalars', () => {
    const doc = parseYaml(`x: {a: [1, 2.5,\n   "q\\"t\\n"], b: ~, c: true}\ny: 'it''s'\nz: yes\nw: "two\n  lines"\nv: -3e2\n`) as Record<
      string,
      unknown
    >;
    assert.deepEqual(doc.x, { a: [1, 2.5, 'q"t\n'], b: null, c: true });
    assert.equal(doc.y, "it's");
    assert.equal(doc.z, 'yes', 'YAML 1.2: yes stays a string (a choice string Yes must not turn into true)');
    assert.equal(doc.w, 'two lines');
    assert.equal(doc.v, -300);
  });

  it('continues a plain scalar on more-indented lines and keeps # inside words', () => {
    const doc = parseYaml('desc: a long\n  description over\n  lines\nurl: http://host:8/x#frag\n') as Record<string, string>;
    assert.equal(doc.desc, 'a long description over lines');
    assert.equal(doc.url, 'http://host:8/x#frag');
  });

  it('names file and line for duplicate keys, bad indentation, unclosed flows and quotes, a second document, and tabs', () => {
    const cases: [string, RegExp][] = [
      ['a: 1\nb: 2\na: 3\n', /reg\.yaml:3: .*unique/i],
      ['a:\n    b: 1\n  c: 2\n', /reg\.yaml:3: /],
      ['a: [1, 2\nb: 3\n', /reg\.yaml:\d+: /],
      ['a: "open\n', /reg\.yaml:\d+: .*quote/],
      ['a: 1\n---\nb: 2\n', /reg\.yaml:2: only one YAML document/],
      ['\ta: 1\n', /reg\.yaml:1: /],
    ];
    for (const [src, re] of cases) {
      assert.throws(
        () => parseYaml(src, 'reg.yaml'),
        (e: unknown) => e instanceof YamlError && re.test(e.message),
        `for ${JSON.stringify(src)}`,
      );
    }
  });

  it('reads anchors, aliases and merge keys, as real registries use them', () => {
    const doc = parseYaml(
      [
        'base: &base',
        '  class: evals.elsuite.basic.match:Match',
        '  args: {samples_jsonl: a.jsonl}',
        'arith.dev.v0:',
        '  <<: *base',
        '  args: {samples_jsonl: arith.jsonl}',
        'same: *base',
        '',
      ].join('\n'),
      'reg.yaml',
    ) as Record<string, any>;
    assert.equal(doc['arith.dev.v0'].class, 'evals.elsuite.basic.match:Match');
    assert.deepEqual(doc['arith.dev.v0'].args, { samples_jsonl: 'arith.jsonl' });
    assert.deepEqual(doc.same, doc.base);
  });

  it('refuses an alias bomb with the file name, and keeps yes/no/on/off strings', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    assert.throws(
      () => parseYaml(bomb.join('\n'), 'bomb.yaml'),
      (e: unknown) => e instanceof YamlError && /^bomb\.yaml:\d+: .*alias/i.test(e.message),
    );
    assert.deepEqual(parseYaml('choice_strings: [Yes, No, on, off]\nn: 3\nf: 1.5\nz: ~\n'), {
      choice_strings: ['Yes', 'No', 'on', 'off'],
      n: 3,
      f: 1.5,
      z: null,
    });
  });

  it('treats an empty document or a bare --- as null, and comments-only files too', () => {
    assert.equal(parseYaml(''), null);
    assert.equal(parseYaml('# nothing\n---\n'), null);
  });
});
