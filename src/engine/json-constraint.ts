// Constrained decoding for response_format: an incremental JSON validator over bytes that
// answers "is this text still the start of a JSON value matching the schema?", plus a sampler
// helper that picks the most likely (or a sampled) token that keeps the answer yes.
//
// The validator is a pushdown automaton: a stack of small frames (root, object, array, string,
// number, literal), each a plain object of immutable fields, so a trial copy for checking one
// candidate token is a shallow copy of a few frames. It works on bytes because tokens are bytes:
// a token may end in the middle of a UTF-8 character, and bytes inside strings are checked as
// UTF-8 as they arrive.
//
// Promise kept: every accepted prefix can still be completed to a valid value (no dead ends),
// so a generator that only takes allowed tokens always has a way to finish. That is why a ','
// is refused when additionalProperties is false and every property is already present, why '}'
// waits for the required properties, and why runs of whitespace are capped.
//
// Schema subset (JSON Schema keywords): type (a name or a list of names), properties, required,
// additionalProperties (false, true or a schema), items, minItems, maxItems, enum, const.
// Annotations (title, description, $schema, default, examples, $id, $comment, format) are ignored.
// Any other keyword is refused with JsonSchemaError rather than silently not enforced.
// enum/const values are matched in their compact JSON.stringify spelling; object keys from
// `properties` are matched as JSON.stringify writes them (no \u escapes of plain characters).

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';
const JSON_TYPES: readonly JsonType[] = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'];

export class JsonSchemaError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`response_format schema at ${path}: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// schema compilation

/** A schema node in the form the automaton uses. Strings are "binary": one char per byte. */
interface Node {
  /** null = any type. 'number' includes integers. */
  types: ReadonlySet<JsonType> | null;
  /** enum/const: the exact byte spellings allowed. */
  literals: readonly string[] | null;
  properties: ReadonlyMap<string, Node>;
  required: readonly string[];
  /** Schema for keys not in properties; null = no other keys. */
  additional: Node | null;
  items: Node;
  minItems: number;
  maxItems: number;
}

const ANY: Node = {
  types: null,
  literals: null,
  properties: new Map(),
  required: [],
  additional: null as unknown as Node,
  items: null as unknown as Node,
  minItems: 0,
  maxItems: Infinity,
};
(ANY as { additional: Node }).additional = ANY;
(ANY as { items: Node }).items = ANY;

const IGNORED = new Set(['title', 'description', '$schema', 'default', 'examples', '$id', '$comment', 'format', 'strict', 'name']);
const SUPPORTED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'enum', 'const']);

/** UTF-8 bytes of a string as a binary string (one char per byte). */
function binary(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function compile(schema: unknown, path: string): Node {
  if (schema === true || schema === undefined) return ANY;
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
    throw new JsonSchemaError(`a schema must be an object, got ${JSON.stringify(schema)}`, path);
  const s = schema as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!SUPPORTED.has(k) && !IGNORED.has(k))
      throw new JsonSchemaError(`keyword "${k}" is not supported (supported: ${[...SUPPORTED].join(', ')})`, path);
  }
  let types: Set<JsonType> | null = null;
  if (s.type !== undefined) {
    const list = Array.isArray(s.type) ? s.type : [s.type];
    for (const t of list)
      if (!JSON_TYPES.includes(t as JsonType))
        throw new JsonSchemaError(`type ${JSON.stringify(t)} is not one of ${JSON_TYPES.join(', ')}`, path);
    if (!list.length) throw new JsonSchemaError('type is an empty list', path);
    types = new Set(list as JsonType[]);
  }
  let literals: string[] | null = null;
  if (s.const !== undefined) literals = [binary(JSON.stringify(s.const))];
  if (s.enum !== undefined) {
    if (!Array.isArray(s.enum) || !s.enum.length) throw new JsonSchemaError('enum must be a non-empty list', path);
    const spelled = s.enum.map((v) => binary(JSON.stringify(v)));
    literals = literals ? literals.filter((l) => spelled.includes(l)) : spelled;
    if (!literals.length) throw new JsonSchemaError('const is not among the enum values', path);
  }
  const properties = new Map<string, Node>();
  if (s.properties !== undefined) {
    if (s.properties === null || typeof s.properties !== 'object' || Array.isArray(s.properties))
      throw new JsonSchemaError('properties must be an object', path);
    for (const [k, v] of Object.entries(s.properties))
      properties.set(binary(JSON.stringify(k).slice(1, -1)), compile(v, `${path}.properties.${k}`));
  }
  let required: string[] = [];
  if (s.required !== undefined) {
    if (!Array.isArray(s.required) || s.required.some((r) => typeof r !== 'string'))
      throw new JsonSchemaError('required must be a list of strings', path);
    required = (s.required as string[]).map((k) => binary(JSON.stringify(k).slice(1, -1)));
  }
  const additional = s.additionalProperties === false ? null : compile(s.additionalProperties, `${path}.additionalProperties`);
  if (!additional) {
    const missing = required.filter((r) => !properties.has(r));
    if (missing.length)
      throw new JsonSchemaError(
        `required ${JSON.stringify(missing.map((m) => Buffer.from(m, 'latin1').toString()))} not in properties while ` +
          `additionalProperties is false: no object can match`,
        path,
      );
  }
  const count = (k: 'minItems' | 'maxItems', dflt: number) => {
    const v = s[k];
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || (v as number) < 0)
      throw new JsonSchemaError(`${k} must be a non-negative integer, got ${JSON.stringify(v)}`, path);
    return v as number;
  };
  const minItems = count('minItems', 0),
    maxItems = count('maxItems', Infinity);
  if (minItems > maxItems) throw new JsonSchemaError(`minItems ${minItems} exceeds maxItems ${maxItems}`, path);
  const items = compile(s.items, `${path}.items`);
  return { types, literals, properties, required, additional, items, minItems, maxItems };
}

// ---------------------------------------------------------------------------------------------
// the automaton

type Frame =
  | { k: 'root'; node: Node; done: boolean }
  | { k: 'obj'; node: Node; st: 'open' | 'key' | 'colon' | 'value' | 'next' | 'comma'; seen: readonly string[]; key: string }
  | { k: 'arr'; node: Node; st: 'open' | 'elem' | 'next'; count: number }
  /** A string. For object keys, raw collects the content bytes and targets limits them. */
  | { k: 'str'; esc: number; u8: number; lo: number; hi: number; raw: string | null; targets: readonly string[] | null }
  | { k: 'num'; integer: boolean; st: number }
  /** true/false/null and enum/const values: the bytes so far and the spellings still possible. */
  | { k: 'lit'; got: string; cands: readonly string[] };

// number states: 0 start, 1 after '-', 2 after leading 0*, 3 int digits*, 4 after '.', 5 fraction
// digits*, 6 after e, 7 after exponent sign, 8 exponent digits* (* = a complete number)
const NUM_COMPLETE = [false, false, true, true, false, true, false, false, true];

const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

export interface JsonConstraintOptions {
  /** Longest run of whitespace between tokens (outside strings); caps runaway indentation. Default 32. */
  maxWhitespaceRun?: number;
  /** Deepest nesting of objects/arrays. Default 32. */
  maxDepth?: number;
}

export interface JsonConstraint {
  /** Whether appending these bytes keeps the text a valid prefix. An empty token is allowed. */
  allowed(bytes: Uint8Array): boolean;
  /** Appends bytes; throws if they are not allowed (check with allowed first). */
  push(bytes: Uint8Array): void;
  /** The text so far is a complete value (JSON.parse succeeds and it matches the schema). */
  complete(): boolean;
  /** Complete, and nothing more can follow: generation must stop. */
  done(): boolean;
  /** The bytes accepted so far. */
  bytes(): Uint8Array;
}

class State {
  constructor(
    public stack: Frame[],
    public ws: number,
    public depth: number,
  ) {}
  clone(): State {
    return new State(
      this.stack.map((f) => ({ ...f })),
      this.ws,
      this.depth,
    );
  }
}

class Automaton implements JsonConstraint {
  private state: State;
  private readonly out: number[] = [];
  private readonly maxWs: number;
  private readonly maxDepth: number;

  constructor(root: Node, o: JsonConstraintOptions) {
    this.state = new State([{ k: 'root', node: root, done: false }], 0, 0);
    this.maxWs = o.maxWhitespaceRun ?? 32;
    this.maxDepth = o.maxDepth ?? 32;
  }

  allowed(bytes: Uint8Array): boolean {
    const s = this.state.clone();
    for (const b of bytes) if (!this.feed(s, b)) return false;
    return true;
  }

  push(bytes: Uint8Array): void {
    const s = this.state.clone();
    for (const b of bytes) {
      if (!this.feed(s, b))
        throw new Error(
          `JSON constraint: ${JSON.stringify(Buffer.from(bytes).toString('utf8'))} does not continue ` +
            `${JSON.stringify(Buffer.from(this.out).toString('utf8'))}`,
        );
    }
    this.state = s;
    for (const b of bytes) this.out.push(b);
  }

  complete(): boolean {
    const st = this.state.stack;
    const root = st[0] as Extract<Frame, { k: 'root' }>;
    if (root.done) return true;
    if (st.length !== 2) return false;
    const top = st[1];
    if (top.k === 'num') return NUM_COMPLETE[top.st];
    if (top.k === 'lit') return top.cands.includes(top.got);
    return false;
  }

  done(): boolean {
    return (this.state.stack[0] as Extract<Frame, { k: 'root' }>).done;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }

  // -------------------------------------------------------------------------------------------

  private feed(s: State, b: number): boolean {
    for (;;) {
      const top = s.stack[s.stack.length - 1];
      switch (top.k) {
        case 'root':
          if (top.done) return false;
          if (isWs(b)) return this.space(s);
          s.ws = 0;
          return this.startValue(s, top.node, b);
        case 'str':
          return this.strByte(s, top, b);
        case 'num': {
          const next = numStep(top.st, b, top.integer);
          if (next >= 0) {
            top.st = next;
            return true;
          }
          if (!NUM_COMPLETE[top.st]) return false;
          this.finishChild(s);
          continue; // the byte that ended the number belongs to the parent
        }
        case 'lit': {
          const got = top.got + String.fromCharCode(b);
          const cands = top.cands.filter((c) => c.startsWith(got));
          if (cands.length) {
            top.got = got;
            top.cands = cands;
            // self-delimiting: nothing longer can follow, so the value ends here
            if (cands.length === 1 && cands[0] === got) this.finishChild(s);
            return true;
          }
          if (!top.cands.includes(top.got)) return false;
          this.finishChild(s); // a number literal ended by the parent's byte
          continue;
        }
        case 'obj':
          return this.objByte(s, top, b);
        case 'arr':
          return this.arrByte(s, top, b);
      }
    }
  }

  private space(s: State): boolean {
    if (s.ws >= this.maxWs) return false;
    s.ws++;
    return true;
  }

  /** First byte of a value of schema `node`: pushes the frame for it. */
  private startValue(s: State, node: Node, b: number): boolean {
    if (node.literals) {
      const c = String.fromCharCode(b);
      const cands = node.literals.filter((l) => l.startsWith(c));
      if (!cands.length) return false;
      s.stack.push({ k: 'lit', got: '', cands });
      return this.feed(s, b);
    }
    const t = node.types;
    const allows = (x: JsonType) => !t || t.has(x);
    if (b === 0x7b /* { */ && allows('object')) {
      if (s.depth >= this.maxDepth) return false;
      s.depth++;
      s.stack.push({ k: 'obj', node, st: 'open', seen: [], key: '' });
      return true;
    }
    if (b === 0x5b /* [ */ && allows('array')) {
      if (s.depth >= this.maxDepth) return false;
      s.depth++;
      s.stack.push({ k: 'arr', node, st: 'open', count: 0 });
      return true;
    }
    if (b === 0x22 /* " */ && allows('string')) {
      s.stack.push({ k: 'str', esc: 0, u8: 0, lo: 0, hi: 0, raw: null, targets: null });
      return true;
    }
    if ((b === 0x2d || isDigit(b)) && (allows('number') || allows('integer'))) {
      s.stack.push({ k: 'num', integer: !allows('number'), st: numStep(0, b, false) });
      return true;
    }
    const words: string[] = [];
    if (allows('boolean')) words.push('true', 'false');
    if (allows('null')) words.push('null');
    const cands = words.filter((w) => w.charCodeAt(0) === b);
    if (!cands.length) return false;
    s.stack.push({ k: 'lit', got: String.fromCharCode(b), cands });
    return true;
  }

  /** Pops a finished value and moves its parent on. */
  private finishChild(s: State): void {
    const child = s.stack.pop()!;
    const parent = s.stack[s.stack.length - 1];
    if (parent.k === 'root') parent.done = true;
    else if (parent.k === 'arr') {
      parent.count++;
      parent.st = 'next';
    } else if (parent.k === 'obj') {
      if (parent.st === 'key') {
        const key = (child as Extract<Frame, { k: 'str' }>).raw!;
        parent.key = key;
        parent.seen = [...parent.seen, key];
        parent.st = 'colon';
      } else parent.st = 'next';
    }
    if (child.k === 'obj' || child.k === 'arr') s.depth--;
  }

  private strByte(s: State, f: Extract<Frame, { k: 'str' }>, b: number): boolean {
    if (f.targets) {
      // A key that must be one of the remaining property names: match their spellings byte by byte.
      // (Spellings are valid JSON string content, so a quote that is part of one is escaped.)
      const raw = f.raw! + String.fromCharCode(b);
      if (f.targets.some((t) => t.startsWith(raw))) {
        f.raw = raw;
        return true;
      }
      if (b === 0x22 && f.targets.includes(f.raw!)) {
        this.finishChild(s);
        return true;
      }
      return false;
    }
    if (f.u8) {
      if (b < f.lo || b > f.hi) return false;
      f.u8--;
      f.lo = 0x80;
      f.hi = 0xbf;
    } else if (f.esc === 1) {
      if (b === 0x75 /* u */) f.esc = 5;
      else if ('"\\/bfnrt'.includes(String.fromCharCode(b))) f.esc = 0;
      else return false;
    } else if (f.esc > 1) {
      if (!isHex(b)) return false;
      f.esc = f.esc === 2 ? 0 : f.esc - 1;
    } else if (b === 0x22) {
      if (f.raw !== null) {
        const parent = s.stack[s.stack.length - 2] as Extract<Frame, { k: 'obj' }>;
        if (parent.seen.includes(f.raw)) return false; // duplicate key
      }
      this.finishChild(s);
      return true;
    } else if (b === 0x5c) f.esc = 1;
    else if (b < 0x20) return false;
    else if (b >= 0x80) {
      // UTF-8 lead byte: how many continuation bytes follow, and the range of the first one
      // (the narrow ranges rule out overlong forms, surrogates and code points past U+10FFFF)
      if (b >= 0xc2 && b <= 0xdf) {
        f.u8 = 1;
        f.lo = 0x80;
        f.hi = 0xbf;
      } else if (b === 0xe0) {
        f.u8 = 2;
        f.lo = 0xa0;
        f.hi = 0xbf;
      } else if (b === 0xed) {
        f.u8 = 2;
        f.lo = 0x80;
        f.hi = 0x9f;
      } else if (b >= 0xe1 && b <= 0xef) {
        f.u8 = 2;
        f.lo = 0x80;
        f.hi = 0xbf;
      } else if (b === 0xf0) {
        f.u8 = 3;
        f.lo = 0x90;
        f.hi = 0xbf;
      } else if (b >= 0xf1 && b <= 0xf3) {
        f.u8 = 3;
        f.lo = 0x80;
        f.hi = 0xbf;
      } else if (b === 0xf4) {
        f.u8 = 3;
        f.lo = 0x80;
        f.hi = 0x8f;
      } else return false;
    }
    if (f.raw !== null) f.raw += String.fromCharCode(b);
    return true;
  }

  private objByte(s: State, f: Extract<Frame, { k: 'obj' }>, b: number): boolean {
    if (isWs(b) && f.st !== 'value') return this.space(s);
    if (f.st === 'value') {
      if (isWs(b)) return this.space(s);
      s.ws = 0;
      const node = f.node.properties.get(f.key) ?? f.node.additional ?? ANY;
      return this.startValue(s, node, b);
    }
    s.ws = 0;
    switch (f.st) {
      case 'open':
        if (b === 0x7d) return this.closeObj(s, f);
        if (b === 0x22) return this.startKey(s, f);
        return false;
      case 'comma':
        return b === 0x22 && this.startKey(s, f);
      case 'colon':
        if (b !== 0x3a) return false;
        f.st = 'value';
        return true;
      case 'next':
        if (b === 0x7d) return this.closeObj(s, f);
        if (b === 0x2c && this.keysLeft(f)) {
          f.st = 'comma';
          return true;
        }
        return false;
    }
    return false;
  }

  private keysLeft(f: Extract<Frame, { k: 'obj' }>): boolean {
    return f.node.additional !== null || [...f.node.properties.keys()].some((k) => !f.seen.includes(k));
  }

  private startKey(s: State, f: Extract<Frame, { k: 'obj' }>): boolean {
    if (!this.keysLeft(f)) return false;
    const targets = f.node.additional === null ? [...f.node.properties.keys()].filter((k) => !f.seen.includes(k)) : null;
    f.st = 'key';
    s.stack.push({ k: 'str', esc: 0, u8: 0, lo: 0, hi: 0, raw: '', targets });
    return true;
  }

  private closeObj(s: State, f: Extract<Frame, { k: 'obj' }>): boolean {
    if (!f.node.required.every((r) => f.seen.includes(r))) return false;
    this.finishChild(s);
    return true;
  }

  private arrByte(s: State, f: Extract<Frame, { k: 'arr' }>, b: number): boolean {
    if (isWs(b)) return this.space(s);
    s.ws = 0;
    const n = f.node;
    if (f.st === 'next') {
      if (b === 0x5d && f.count >= n.minItems) {
        this.finishChild(s);
        return true;
      }
      if (b === 0x2c && f.count < n.maxItems) {
        f.st = 'elem';
        return true;
      }
      return false;
    }
    if (f.st === 'open' && b === 0x5d) {
      if (n.minItems > 0) return false;
      this.finishChild(s);
      return true;
    }
    if (f.count >= n.maxItems) return false;
    return this.startValue(s, n.items, b);
  }
}

/** The next number state after byte b, or -1 when b does not continue the number. */
function numStep(st: number, b: number, integer: boolean): number {
  const d = isDigit(b);
  switch (st) {
    case 0:
      return b === 0x2d ? 1 : b === 0x30 ? 2 : d ? 3 : -1;
    case 1:
      return b === 0x30 ? 2 : d ? 3 : -1;
    case 2:
    case 3:
      if (st === 3 && d) return 3;
      if (integer) return -1;
      return b === 0x2e ? 4 : b === 0x65 || b === 0x45 ? 6 : -1;
    case 4:
      return d ? 5 : -1;
    case 5:
      return d ? 5 : !integer && (b === 0x65 || b === 0x45) ? 6 : -1;
    case 6:
      return b === 0x2b || b === 0x2d ? 7 : d ? 8 : -1;
    case 7:
    case 8:
      return d ? 8 : -1;
  }
  return -1;
}

/**
 * A constraint for response_format: no schema (json_object) means any JSON object; otherwise the
 * value must match the schema (see the subset above). Throws JsonSchemaError for schemas it
 * cannot enforce.
 */
export function createJsonConstraint(schema?: Record<string, unknown> | null, o: JsonConstraintOptions = {}): JsonConstraint {
  const root = schema ? compile(schema, '$') : { ...ANY, types: new Set<JsonType>(['object']) };
  return new Automaton(root, o);
}

/** The constraint a response_format asks for, or null for plain text. */
export function constraintFor(
  format: { type: string; schema?: Record<string, unknown> },
  o: JsonConstraintOptions = {},
): JsonConstraint | null {
  if (format.type === 'json_object') return createJsonConstraint(null, o);
  if (format.type === 'json_schema') return createJsonConstraint(format.schema ?? null, o);
  return null;
}

// ---------------------------------------------------------------------------------------------
// sampling under the constraint

export interface ConstrainedPickOptions {
  /**
   * Token ids that end generation (end of turn, EOS): allowed only when the value is complete.
   * tokenBytes may also return null for them.
   */
  endTokens?: ReadonlySet<number>;
  /** Rejections before falling back to scanning the whole vocabulary once. Default 64. */
  maxRejections?: number;
}

/**
 * Picks the next token under the constraint without checking the whole vocabulary: draws with
 * `sample` (the engine's own sampler: argmax for greedy, temperature/top-p otherwise) from
 * `logits`, and while the token is not allowed, sets its logit to -Infinity and draws again.
 * Rejection sampling like this draws exactly from the distribution restricted to allowed tokens;
 * for greedy it is "the first allowed token in descending logit order". After maxRejections it
 * masks every disallowed token in one pass. `logits` is modified (copy it if it is needed after).
 * Returns -1 when no token is allowed (cannot happen while the constraint is not done, unless the
 * vocabulary lacks the bytes JSON needs). Does not push the token: call constraint.push after.
 */
export function pickConstrained(
  constraint: JsonConstraint,
  logits: Float32Array | Float64Array,
  tokenBytes: (id: number) => Uint8Array | null,
  sample: (logits: Float32Array | Float64Array) => number,
  o: ConstrainedPickOptions = {},
): number {
  const ok = (id: number) => {
    const bytes = o.endTokens?.has(id) ? null : tokenBytes(id);
    if (bytes === null) return constraint.complete();
    // An empty token would let generation spin in place without progress.
    return bytes.length > 0 && constraint.allowed(bytes);
  };
  const maxRejections = o.maxRejections ?? 64;
  for (let i = 0; i < maxRejections; i++) {
    const id = sample(logits);
    if (!(logits[id] > -Infinity)) return -1; // everything left is masked
    if (ok(id)) return id;
    logits[id] = -Infinity;
  }
  let any = false;
  for (let id = 0; id < logits.length; id++) {
    if (!(logits[id] > -Infinity)) continue;
    if (ok(id)) any = true;
    else logits[id] = -Infinity;
  }
  if (!any) return -1;
  return sample(logits);
}

/** Token bytes from a tokenizer, cached per id; special (control) tokens give null. */
export function tokenBytesOf(tok: {
  decodeBytes(ids: ArrayLike<number>): Uint8Array;
  isSpecial(id: number): boolean;
}): (id: number) => Uint8Array | null {
  const cache = new Map<number, Uint8Array | null>();
  return (id) => {
    let b = cache.get(id);
    if (b === undefined) {
      b = tok.isSpecial(id) ? null : tok.decodeBytes([id]);
      cache.set(id, b);
    }
    return b;
  };
}
