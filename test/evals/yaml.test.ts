import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_YAML_BYTES, parseYaml, readYamlFile, YamlError } from '../../src/evals/yaml.ts';

/** An assert.throws check: a YamlError whose message (file:line: reason) matches. */
const refused = (re: RegExp) => (e: unknown) => e instanceof YamlError && re.test(e.message);

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

  it('names file and line for syntax errors: bad indentation, unclosed flows and quotes, tabs', () => {
    const cases: [string, RegExp][] = [
      ['a:\n    b: 1\n  c: 2\n', /^reg\.yaml:3: /],
      ['a: [1, 2\nb: 3\n', /^reg\.yaml:\d+: /],
      ['a: "open\n', /^reg\.yaml:\d+: .*quote/],
      ['a: 1\nb: {c: 2\n', /^reg\.yaml:\d+: .*flow/i],
      ['\ta: 1\n', /^reg\.yaml:1: /],
      ['a: 1\n- b\n', /^reg\.yaml:2: /],
    ];
    for (const [src, re] of cases) {
      assert.throws(
        () => parseYaml(src, 'reg.yaml'),
        (e: unknown) => e instanceof YamlError && e.file === 'reg.yaml' && re.test(e.message),
        `for ${JSON.stringify(src)}`,
      );
    }
  });

  it('refuses a name repeated at the top level, and lets a key repeated inside an entry take its last value', () => {
    assert.throws(
      () => parseYaml('a: 1\nb: 2\na: 3\n', 'reg.yaml'),
      (e: unknown) => e instanceof YamlError && e.line === 3 && /^reg\.yaml:3: "a" is defined twice/.test(e.message),
    );
    // openai/evals' modelgraded/keywords.yaml has this shape; PyYAML keeps the last value.
    const doc = parseYaml('seo:\n  input_outputs:\n    input: input\n    input: completion\n', 'keywords.yaml');
    assert.deepEqual(doc, { seo: { input_outputs: { input: 'completion' } } });
  });

  it('resolves anchors and aliases, scalars and collections alike', () => {
    const doc = parseYaml('shared: &args {samples_jsonl: a.jsonl, max_tokens: 8}\nmodel: &m small\none: {args: *args, model: *m}\n');
    assert.deepEqual(doc, {
      shared: { samples_jsonl: 'a.jsonl', max_tokens: 8 },
      model: 'small',
      one: { args: { samples_jsonl: 'a.jsonl', max_tokens: 8 }, model: 'small' },
    });
  });

  it("applies << merge keys, one mapping or a list of them, with the entry's own keys winning", () => {
    const doc = parseYaml(
      [
        'base: &base',
        '  class: evals.elsuite.basic.match:Match',
        '  args: {samples_jsonl: a.jsonl}',
        'extra: &extra {metrics: [accuracy], args: {samples_jsonl: b.jsonl}}',
        'arith.dev.v0:',
        '  <<: *base',
        '  args: {samples_jsonl: arith.jsonl}',
        'both.dev.v0:',
        '  args: {samples_jsonl: own.jsonl}',
        '  <<: [*base, *extra]',
        '',
      ].join('\n'),
      'reg.yaml',
    ) as Record<string, any>;
    assert.deepEqual(doc['arith.dev.v0'], { class: 'evals.elsuite.basic.match:Match', args: { samples_jsonl: 'arith.jsonl' } });
    assert.deepEqual(parseYaml('x: &a {p: 1}\ny: &b {q: 2}\n<<: *a\n<<: *b\n'), { x: { p: 1 }, y: { q: 2 }, p: 1, q: 2 });
    assert.deepEqual(doc['both.dev.v0'], {
      args: { samples_jsonl: 'own.jsonl' },
      class: 'evals.elsuite.basic.match:Match',
      metrics: ['accuracy'],
    });
  });

  it('refuses a "billion laughs" alias bomb, naming the file and the line of its first alias', () => {
    const bomb = ['lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `lol${i}: &lol${i} [${Array(10)
          .fill(`*lol${i - 1}`)
          .join(', ')}]`,
      );
    const started = Date.now();
    assert.throws(
      () => parseYaml(bomb.join('\n'), 'bomb.yaml'),
      (e: unknown) => e instanceof YamlError && /^bomb\.yaml:2: .*alias bomb/.test(e.message),
    );
    assert.ok(Date.now() - started < 2000, 'refused before expanding');
  });

  it('keeps a file that shares one anchor among a thousand entries: within both alias limits', () => {
    const lines = ['base: &base {class: tetra.match, args: {samples_jsonl: a.jsonl}}'];
    for (let i = 0; i < 1000; i++) lines.push(`e${i}.dev.v0: {<<: *base, description: number ${i}}`);
    const doc = parseYaml(lines.join('\n')) as Record<string, any>;
    assert.equal(Object.keys(doc).length, 1001);
    assert.deepEqual(doc['e999.dev.v0'], { class: 'tetra.match', args: { samples_jsonl: 'a.jsonl' }, description: 'number 999' });
  });

  it('refuses aliases that would take the yaml package too long to resolve, before resolving them', () => {
    // Each alias held in an anchor costs a walk of the whole document: 1,000 of them over 20,000 nodes.
    const src = `a: &a x\nb: &b [${Array(1000).fill('*a').join(', ')}]\nc: *b\nfill:\n${'- 1\n'.repeat(20_000)}`;
    const started = Date.now();
    assert.throws(() => parseYaml(src, 'web.yaml'), refused(/^web\.yaml:2: 1001 aliases in \d+ nodes would take too long/));
    assert.ok(Date.now() - started < 5000, `refused in ${Date.now() - started} ms`);
  });

  it('refuses an alias before its anchor and an alias inside its own anchor, with file:line', () => {
    assert.throws(
      () => parseYaml('a: 1\nb: *nope\nc: &nope 2\n', 'reg.yaml'),
      refused(/^reg\.yaml:2: alias \*nope has no anchor &nope before it$/),
    );
    assert.throws(
      () => parseYaml('a: 1\nb: &loop\n  - x\n  - *loop\n', 'reg.yaml'),
      (e: unknown) => e instanceof YamlError && /^reg\.yaml:4: .*inside its own anchor/.test(e.message),
    );
  });

  it('keeps yes/no/on/off/y/n strings (YAML 1.2 core schema): only true/false are booleans', () => {
    assert.deepEqual(parseYaml('choice_strings: [Yes, No, on, off, yes, no, y, n, ON, Off]\nflags: [true, false, True, FALSE]\n'), {
      choice_strings: ['Yes', 'No', 'on', 'off', 'yes', 'no', 'y', 'n', 'ON', 'Off'],
      flags: [true, false, true, false],
    });
  });

  it('reads numbers, nulls and nested maps as before', () => {
    const doc = parseYaml(
      'n: 3\nneg: -7\nf: 1.5\ne: 2e-3\nhex: 0x1F\ninf: .inf\nz: ~\nempty:\nversion: "1.0"\nbare: 1.0.3\n' +
        'args:\n  nested:\n    deeper: {k: [1, {x: y}]}\n',
    );
    assert.deepEqual(doc, {
      n: 3,
      neg: -7,
      f: 1.5,
      e: 0.002,
      hex: 31,
      inf: Number.POSITIVE_INFINITY,
      z: null,
      empty: null,
      version: '1.0',
      bare: '1.0.3',
      args: { nested: { deeper: { k: [1, { x: 'y' }] } } },
    });
  });

  it('refuses a second document at the line of its ---, and ignores an empty trailing one', () => {
    assert.throws(
      () => parseYaml('a: 1\n---\nb: 2\n', 'reg.yaml'),
      (e: unknown) => e instanceof YamlError && /^reg\.yaml:2: only one YAML document/.test(e.message),
    );
    assert.deepEqual(parseYaml('---\na: 1\n---\n', 'reg.yaml'), { a: 1 });
    assert.deepEqual(parseYaml('a: 1\n...\n', 'reg.yaml'), { a: 1 });
  });

  it("refuses tags and collection keys, which openai/evals' safe_load refuses too", () => {
    assert.throws(() => parseYaml('a: 1\nb: !!python/object:os.system ls\n', 'reg.yaml'), refused(/^reg\.yaml:2: Unresolved tag/));
    assert.throws(() => parseYaml('a: !custom x\n', 'reg.yaml'), refused(/^reg\.yaml:1: .*tag/));
    assert.throws(() => parseYaml('? [a, b]\n: 1\n', 'reg.yaml'), refused(/^reg\.yaml:1: a mapping key must be a plain value/));
  });

  it(`refuses a file over MAX_YAML_BYTES (${MAX_YAML_BYTES}) before reading it`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-yaml-'));
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, 'a: 1\n');
    truncateSync(huge, MAX_YAML_BYTES + 1); // sparse: stat says 4 MiB, nothing is written
    assert.throws(
      () => readYamlFile(huge),
      (e: unknown) => e instanceof YamlError && e.message.startsWith(`${huge}:1: `),
    );
    assert.throws(() => parseYaml(`a: "${'x'.repeat(MAX_YAML_BYTES)}"\n`, 'big.yaml'), refused(/^big\.yaml:1: .*at most/));
    writeFileSync(huge, 'a: 1\n');
    assert.deepEqual(readYamlFile(huge), { a: 1 });
  });

  it('treats an empty document or a bare --- as null, and comments-only files too', () => {
    assert.equal(parseYaml(''), null);
    assert.equal(parseYaml('# nothing\n---\n'), null);
  });
});
