// The JSON constraint as a specification: seeded random schemas with random matching values,
// written with random (bounded) whitespace, escapes and multi-byte characters.
// - every byte prefix of a valid document is accepted, and the whole is complete;
// - bytes that can never appear at a place (outside or inside strings) are rejected;
// - soundness: whatever a random mutation leaves accepted can still be finished (by a walk that
//   only takes allowed bytes), and the finished text parses and matches the schema;
// - the sampler helper picks the most likely allowed token and stops at a complete value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createJsonConstraint, JsonSchemaError, pickConstrained, type JsonConstraint } from '../../src/engine/json-constraint.ts';
import { rng } from '../helpers.ts';

type Schema = Record<string, unknown>;
const enc = (s: string) => new TextEncoder().encode(s);

// ---------------------------------------------------------------------------------------------
// generators

const STRING_CHARS = ['a', 'b', 'z', ' ', '"', '\\', '/', '\n', '\t', 'é', '€', '😀', '中', '\u0001'];

function randString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) s += STRING_CHARS[Math.floor(r() * STRING_CHARS.length)];
  return s;
}

function randSchema(r: () => number, depth: number): Schema {
  const kinds =
    depth > 2
      ? ['string', 'number', 'integer', 'boolean', 'null', 'enum']
      : ['object', 'object', 'array', 'string', 'number', 'integer', 'boolean', 'null', 'enum', 'any', 'union'];
  const kind = kinds[Math.floor(r() * kinds.length)];
  switch (kind) {
    case 'object': {
      const properties: Record<string, Schema> = {};
      const names = ['id', 'name', 'tags', 'a"b', 'é', 'x'];
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) properties[names[Math.floor(r() * names.length)]] = randSchema(r, depth + 1);
      const keys = Object.keys(properties);
      const s: Schema = { type: 'object', properties, required: keys.filter(() => r() < 0.6) };
      if (r() < 0.6) s.additionalProperties = false;
      return s;
    }
    case 'array': {
      const s: Schema = { type: 'array', items: randSchema(r, depth + 1) };
      if (r() < 0.4) s.minItems = Math.floor(r() * 2);
      if (r() < 0.4) s.maxItems = 2 + Math.floor(r() * 2);
      return s;
    }
    case 'enum':
      return { enum: ['red', 'gr"een', 3, 12, null, true, [1, 2], { k: 'v' }].filter(() => r() < 0.5).concat(['blue']) };
    case 'any':
      return {};
    case 'union':
      return { type: ['string', 'null'] };
    default:
      return { type: kind };
  }
}

function randValue(s: Schema, r: () => number, depth = 0): unknown {
  if (s.enum) {
    const e = s.enum as unknown[];
    return e[Math.floor(r() * e.length)];
  }
  if (s.const !== undefined) return s.const;
  let type = s.type as string | string[] | undefined;
  if (Array.isArray(type)) type = type[Math.floor(r() * type.length)];
  if (type === undefined) {
    const any = depth > 2 ? ['string', 'number', 'boolean', 'null'] : ['object', 'array', 'string', 'number', 'boolean', 'null'];
    type = any[Math.floor(r() * any.length)];
  }
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, Schema>;
      const out: Record<string, unknown> = {};
      const req = new Set((s.required ?? []) as string[]);
      for (const [k, ps] of Object.entries(props)) if (req.has(k) || r() < 0.5) out[k] = randValue(ps, r, depth + 1);
      if (s.additionalProperties !== false && r() < 0.5) out[`extra${Math.floor(r() * 3)}\\`] = randValue({}, r, depth + 1);
      return out;
    }
    case 'array': {
      const lo = (s.minItems as number) ?? 0,
        hi = Math.min((s.maxItems as number) ?? 4, 4);
      const n = lo + Math.floor(r() * (Math.max(hi, lo) - lo + 1));
      return Array.from({ length: n }, () => randValue((s.items ?? {}) as Schema, r, depth + 1));
    }
    case 'string':
      return randString(r);
    case 'number':
      return [0, -1.5, 3.25e-7, 1e21, 42, -0.001][Math.floor(r() * 6)];
    case 'integer':
      return [0, -7, 123456, 1][Math.floor(r() * 4)];
    case 'boolean':
      return r() < 0.5;
    default:
      return null;
  }
}

/** JSON with random whitespace between tokens (never trailing: a done value ends the output). */
function write(v: unknown, r: () => number, enumLike = false): string {
  const ws = () => (r() < 0.3 ? [' ', '\n  ', '\t', ''][Math.floor(r() * 4)] : '');
  if (enumLike || v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => write(x, r) + ws()).join(`,${ws()}`)}]`;
  return `{${ws()}${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${write(x, r)}${ws()}`)
    .join(`,${ws()}`)}}`;
}

/** A document for schema s: enum values compact (as the constraint documents), others spaced. */
function writeFor(s: Schema, v: unknown, r: () => number): string {
  if (s.enum || s.const !== undefined) return JSON.stringify(v);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const props = (s.properties ?? {}) as Record<string, Schema>;
    const parts = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}${r() < 0.3 ? ' ' : ''}:${writeFor(props[k] ?? {}, x, r)}`);
    return `{${r() < 0.3 ? '\n ' : ''}${parts.join(r() < 0.5 ? ', ' : ',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => writeFor((s.items ?? {}) as Schema, x, r)).join(', ')}]`;
  return write(v, r);
}

// ---------------------------------------------------------------------------------------------
// a reference validator (plain recursion over the parsed value)

function validates(s: Schema, v: unknown): boolean {
  if (s.enum) return (s.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(v));
  if (s.const !== undefined) return JSON.stringify(s.const) === JSON.stringify(v);
  const types = s.type === undefined ? null : ([] as string[]).concat(s.type as string);
  const typeOf =
    v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
  if (types && !types.includes(typeOf) && !(typeOf === 'integer' && types.includes('number'))) return false;
  if (typeOf === 'object') {
    const o = v as Record<string, unknown>,
      props = (s.properties ?? {}) as Record<string, Schema>;
    if (!((s.required ?? []) as string[]).every((k) => k in o)) return false;
    for (const [k, x] of Object.entries(o)) {
      if (k in props) {
        if (!validates(props[k], x)) return false;
      } else if (s.additionalProperties === false) return false;
    }
  }
  if (typeOf === 'array') {
    const a = v as unknown[];
    if (a.length < ((s.minItems as number) ?? 0) || a.length > ((s.maxItems as number) ?? Infinity)) return false;
    return a.every((x) => validates((s.items ?? {}) as Schema, x));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

function feedAll(c: JsonConstraint, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    const one = bytes.subarray(i, i + 1);
    if (!c.allowed(one)) return i;
    c.push(one);
  }
  return -1;
}

/** Where a byte prefix leaves a scanner that knows only strings: inside one, after a backslash, mid UTF-8. */
function scan(b: Uint8Array): { inString: boolean; escaped: boolean; midChar: boolean } {
  let inString = false,
    escaped = false,
    need = 0;
  for (const x of b) {
    if (!inString) {
      if (x === 0x22) inString = true;
      continue;
    }
    if (need) {
      need--;
      continue;
    }
    if (escaped) {
      escaped = false;
      continue;
    }
    if (x === 0x5c) escaped = true;
    else if (x === 0x22) inString = false;
    else if (x >= 0xc0) need = x >= 0xf0 ? 3 : x >= 0xe0 ? 2 : 1;
  }
  return { inString, escaped, midChar: need > 0 };
}

/**
 * Finishes an accepted prefix by a walk that only takes allowed tokens, preferring whatever
 * closes things: in a string its closing quote; outside, closers, then the schema's property
 * names whole (so required keys get written), then the shortest values.
 */
function finish(c: JsonConstraint, names: string[]): boolean {
  const outside = ['}', ']', ...names.map((n) => JSON.stringify(n)), '"', ':', ',', 'null', '0', 'true', '{', '['].map(enc);
  const inside = ['"', 'a', 'b'].map(enc);
  const anyByte = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)).filter((b) => b[0] > 0x20);
  for (let steps = 0; steps < 500; steps++) {
    if (c.done()) return true;
    // a top-level number or enum number may be complete yet extendable: take it as it is
    if (c.complete()) return true;
    const at = scan(c.bytes());
    const prefer = at.midChar ? anyByte.filter((b) => b[0] >= 0x80) : at.escaped ? [enc('n')] : at.inString ? inside : outside;
    const next = [...prefer, ...anyByte].find((t) => c.allowed(t));
    if (!next) return false; // a dead end: the constraint accepted something it cannot finish
    c.push(next);
  }
  return c.complete();
}

/** Every property name a schema mentions. */
function namesIn(s: unknown): string[] {
  if (!s || typeof s !== 'object') return [];
  const o = s as Record<string, unknown>;
  return [
    ...Object.keys((o.properties ?? {}) as object),
    ...Object.values((o.properties ?? {}) as object).flatMap(namesIn),
    ...namesIn(o.items),
  ];
}

describe('JSON constraint', () => {
  it('accepts every prefix of valid documents for random schemas, and the whole is complete', () => {
    const r = rng(1);
    let docs = 0,
      bytes = 0;
    for (let i = 0; i < 400; i++) {
      const schema = randSchema(r, 0);
      const value = randValue(schema, r);
      const text = writeFor(schema, value, r);
      assert.ok(validates(schema, JSON.parse(text)), `generator made an invalid document ${text} for ${JSON.stringify(schema)}`);
      const c = createJsonConstraint(schema);
      const b = enc(text);
      const at = feedAll(c, b);
      assert.equal(at, -1, `rejected byte ${at} of ${JSON.stringify(text)} (schema ${JSON.stringify(schema)})`);
      assert.ok(c.complete(), `not complete after ${JSON.stringify(text)}`);
      docs++;
      bytes += b.length;
    }
    console.log(`  ${docs} documents, ${bytes} bytes, every prefix accepted`);
  });

  it('json_object (no schema) accepts any object with any spacing, and only objects', () => {
    const r = rng(2);
    for (let i = 0; i < 300; i++) {
      const v = randValue({ type: 'object' }, r);
      const text = write(v, r);
      const c = createJsonConstraint();
      assert.equal(feedAll(c, enc(text)), -1, text);
      assert.ok(c.done(), text);
    }
    for (const bad of ['[', '"x"', '1', 'true', 'null', ' 3']) {
      assert.notEqual(feedAll(createJsonConstraint(), enc(bad)), -1, `${bad} is not an object`);
    }
  });

  it('rejects bytes that can never appear: outside strings and inside strings', () => {
    const r = rng(3);
    const NEVER_OUTSIDE = [..."x@#;<)=?'`|~_"].map((ch) => ch.charCodeAt(0)).concat([0x00, 0x7f, 0xc3]);
    const NEVER_INSIDE = [0x00, 0x01, 0x0a, 0x1f, 0xc0, 0xc1, 0xf5, 0xff, 0x80];
    let checked = 0;
    for (let i = 0; i < 300; i++) {
      const text = write(randValue({}, r), r);
      const b = enc(text);
      const pos = Math.floor(r() * b.length);
      const c = createJsonConstraint({});
      assert.equal(feedAll(c, b.subarray(0, pos)), -1);
      const at = scan(b.subarray(0, pos));
      if (at.midChar || at.escaped) continue; // a continuation byte or escape letter is expected there; covered below
      const pool = at.inString ? NEVER_INSIDE : NEVER_OUTSIDE;
      const bad = pool[Math.floor(r() * pool.length)];
      assert.equal(c.allowed(Uint8Array.of(bad)), false, `byte 0x${bad.toString(16)} after ${JSON.stringify(text.slice(0, pos))}`);
      checked++;
    }
    assert.ok(checked > 200);
    // UTF-8 inside strings: overlong, surrogate and truncated forms
    for (const seq of [
      [0xe0, 0x80],
      [0xed, 0xa0],
      [0xf4, 0x90],
      [0xc3, 0x41],
      [0xe2, 0x82, 0x22],
    ]) {
      const c = createJsonConstraint({ type: 'string' });
      c.push(enc('"'));
      assert.equal(c.allowed(Uint8Array.from(seq)), false, `bytes ${seq.map((x) => x.toString(16))} in a string`);
    }
  });

  it('enforces the schema: keys, required, types, enum, item counts', () => {
    const s = {
      type: 'object',
      properties: {
        n: { type: 'integer' },
        c: { enum: ['red', 'blue'] },
        t: { type: 'array', items: { type: 'boolean' }, minItems: 1, maxItems: 2 },
      },
      required: ['n'],
      additionalProperties: false,
    };
    const accepts = (t: string) => feedAll(createJsonConstraint(s), enc(t)) === -1;
    assert.ok(accepts('{"n":1,"c":"blue","t":[true,false]}'));
    assert.ok(!accepts('{"q'), 'unknown key');
    assert.ok(!accepts('{"c":"red"}'), 'missing required n');
    assert.ok(!accepts('{"n":1.5'), 'integer with a fraction');
    assert.ok(!accepts('{"n":"1"'), 'string for integer');
    assert.ok(!accepts('{"n":1,"c":"green'), 'not an enum value');
    assert.ok(!accepts('{"n":1,"t":[]'), 'minItems 1');
    assert.ok(!accepts('{"n":1,"t":[true,true,'), 'maxItems 2');
    assert.ok(!accepts('{"n":1,"n"'), 'duplicate key');
    assert.ok(!accepts('{"n":1,"c":"red","t":[true],'), 'no key left: a comma would be a dead end');
    // unknown keywords are refused, not ignored
    assert.throws(() => createJsonConstraint({ type: 'string', pattern: '^a' }), JsonSchemaError);
    assert.throws(() => createJsonConstraint({ type: 'object', required: ['x'], additionalProperties: false }), /no object can match/);
  });

  it('soundness: after random mutations, whatever is accepted can be finished into a valid document', () => {
    const r = rng(4);
    let accepted = 0,
      rejected = 0;
    for (let i = 0; i < 600; i++) {
      const schema = randSchema(r, 0);
      const text = writeFor(schema, randValue(schema, r), r);
      const b = enc(text);
      const pos = Math.floor(r() * b.length);
      // the new byte: usually one that means something in JSON, sometimes any byte
      const jsonish = enc('{}[]",:-0123456789.eE truefalsn\\x');
      const nb = r() < 0.8 ? jsonish[Math.floor(r() * jsonish.length)] : Math.floor(r() * 256);
      const mutated = Uint8Array.from([...b.subarray(0, pos), nb, ...b.subarray(pos + 1, pos + 1 + Math.floor(r() * 4))]);
      const c = createJsonConstraint(schema);
      if (feedAll(c, mutated) !== -1) {
        rejected++;
        continue;
      }
      accepted++;
      assert.ok(
        finish(c, namesIn(schema)),
        `dead end after ${JSON.stringify(Buffer.from(mutated).toString())} (schema ${JSON.stringify(schema)})`,
      );
      const out = Buffer.from(c.bytes()).toString('utf8');
      let parsed: unknown;
      assert.doesNotThrow(
        () => {
          parsed = JSON.parse(out);
        },
        `finished text ${JSON.stringify(out)} does not parse`,
      );
      assert.ok(validates(schema, parsed), `finished text ${out} does not match ${JSON.stringify(schema)}`);
    }
    console.log(`  mutations: ${accepted} accepted (each finished and validated), ${rejected} rejected`);
    assert.ok(accepted > 100 && rejected > 100);
  });

  it('caps whitespace runs and nesting depth, so a generator cannot run away', () => {
    const c = createJsonConstraint(null, { maxWhitespaceRun: 4 });
    c.push(enc('{    '));
    assert.equal(c.allowed(enc(' ')), false);
    assert.ok(c.allowed(enc('}')));
    const d = createJsonConstraint({}, { maxDepth: 3 });
    d.push(enc('[[['));
    assert.equal(d.allowed(enc('[')), false);
    assert.ok(d.allowed(enc('1')));
  });

  it('a top-level number is complete but not done; an object is done at its brace', () => {
    const c = createJsonConstraint({ type: 'number' });
    c.push(enc('12'));
    assert.ok(c.complete() && !c.done());
    assert.ok(c.allowed(enc('.5e3')));
    const o = createJsonConstraint();
    o.push(enc('{}'));
    assert.ok(o.done());
    assert.equal(o.allowed(enc(' ')), false, 'nothing after a done value');
  });
});

describe('pickConstrained', () => {
  // A toy vocabulary of multi-byte tokens, as BPE would have.
  // ids 8 and 11 are invalid anywhere in JSON (a control byte, a byte UTF-8 never uses)
  const vocab = ['{', '}', '"', 'name', '":', ' "', 'Bob', '"}', '\u0001', '{"', '[', '\xff', '\n'];
  const END = vocab.length; // an end-of-turn token with no bytes
  const bytesOf = (id: number) => (id === END ? null : id === 11 ? Uint8Array.of(0xff) : enc(vocab[id]));
  const argmax = (l: ArrayLike<number>) => {
    let b = 0;
    for (let i = 1; i < l.length; i++) if (l[i] > l[b]) b = i;
    return b;
  };

  it('greedy: takes the most likely allowed token, checking only as many as it must', () => {
    const s = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false };
    const c = createJsonConstraint(s);
    // the toy model always ranks garbage first (two invalid tokens, then the end token), then the
    // intended next token, then the rest: each step must skip exactly the disallowed garbage
    const script = [9, 3, 4, 5, 6, 7];
    let checks = 0;
    const counting = (id: number) => {
      checks++;
      return bytesOf(id);
    };
    const out: string[] = [];
    for (let step = 0; step < 10 && !c.done(); step++) {
      const logits = new Float32Array(vocab.length + 1);
      [8, 11, END, script[step] ?? 1].forEach((id, rank) => {
        logits[id] = 100 - rank;
      });
      const id = pickConstrained(c, logits, counting, argmax, { endTokens: new Set([END]) });
      assert.ok(id >= 0);
      if (id === END) break;
      c.push(bytesOf(id)!);
      out.push(vocab[id]);
    }
    assert.equal(out.join(''), '{"name": "Bob"}');
    assert.ok(c.done());
    assert.ok(checks < 10 * vocab.length, `${checks} checks`);
    assert.deepEqual(JSON.parse(out.join('')), { name: 'Bob' });
  });

  it('the end token is allowed only once the value is complete', () => {
    const c = createJsonConstraint({ type: 'integer' });
    const logits = new Float32Array(vocab.length + 1);
    logits[END] = 10; // the model wants to stop at once
    const digits = (id: number) => (id === END ? null : id === 0 ? enc('7') : enc('q'));
    assert.equal(pickConstrained(c, logits.slice(), digits, argmax, { endTokens: new Set([END]) }), 0);
    c.push(enc('7'));
    assert.equal(pickConstrained(c, logits.slice(), digits, argmax, { endTokens: new Set([END]) }), END);
  });

  it('sampling: draws only allowed tokens, in proportion to their probabilities', () => {
    const r = rng(5);
    const sampleFn = (l: ArrayLike<number>) => {
      let z = 0;
      for (let i = 0; i < l.length; i++) z += Math.exp(l[i]);
      let u = r() * z;
      for (let i = 0; i < l.length; i++) {
        u -= Math.exp(l[i]);
        if (u < 0) return i;
      }
      return l.length - 1;
    };
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const c = createJsonConstraint();
      const logits = new Float32Array(vocab.length + 1).fill(-Infinity);
      logits[0] = Math.log(0.2);
      logits[9] = Math.log(0.2);
      logits[8] = Math.log(0.6); // '{', '{"', 'hello'
      const id = pickConstrained(c, logits, bytesOf, sampleFn);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counts.keys()].sort((a, b) => a - b),
      [0, 9],
      'only "{" and "{\\"" are allowed first, not "\\u0001"',
    );
    const share = counts.get(0)! / 2000;
    assert.ok(Math.abs(share - 0.5) < 0.05, `"{" drawn ${share} of the time; restricted distribution gives 0.5`);
  });
});
