// A YAML subset, enough for openai/evals-style registry files: block mappings and sequences
// (nested, "- key: value" items), flow collections ([a, b], {k: v}, across lines), plain, single-
// and double-quoted scalars (also multi-line), block scalars | and > with chomping (-, +) and an
// indentation digit, comments and a leading "---". Anchors, aliases, tags and multi-document
// streams are refused with file:line, never silently misread.
//
// Scalars resolve by the YAML 1.2 core schema: null/~, true/false, ints, floats, .inf, .nan.
// "yes", "no", "on", "off" stay strings (PyYAML's 1.1 rules would make them booleans, which
// turns a choice string Yes into True and breaks a grader's choice_scores lookup).

export class YamlError extends Error {
  constructor(readonly file: string, readonly line: number, readonly reason: string) {
    super(`${file}:${line}: ${reason}`);
  }
}

export function parseYaml(text: string, file = '<yaml>'): unknown {
  return new Parser(text, file).document();
}

const indentOf = (s: string): number => s.length - s.trimStart().length;
const isBlank = (s: string): boolean => /^\s*(#.*)?$/.test(s);

/** Index of a " #" comment start outside quotes in a plain context, or -1. */
function commentAt(s: string, from = 0): number {
  for (let i = from; i < s.length; i++) if (s[i] === '#' && (i === 0 || s[i - 1] === ' ' || s[i - 1] === '\t')) return i;
  return -1;
}
const stripComment = (s: string): string => { const k = commentAt(s); return (k < 0 ? s : s.slice(0, k)).trimEnd(); };

export function resolvePlain(s: string): unknown {
  if (s === '' || s === '~' || /^(null|Null|NULL)$/.test(s)) return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

class Parser {
  private readonly lines: string[];
  private i = 0;
  constructor(text: string, private readonly file: string) {
    this.lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    if (this.lines.some((l) => /^\t/.test(l))) {
      const at = this.lines.findIndex((l) => /^\t/.test(l));
      throw this.err('tabs cannot indent YAML; use spaces', at);
    }
  }

  private err(reason: string, line = this.i): YamlError { return new YamlError(this.file, line + 1, reason); }

  private skipBlank(): void { while (this.i < this.lines.length && isBlank(this.lines[this.i])) this.i++; }

  document(): unknown {
    this.skipBlank();
    if (this.i < this.lines.length && /^---(\s|$)/.test(this.lines[this.i])) {
      const rest = stripComment(this.lines[this.i].slice(3)).trim();
      if (rest) this.lines[this.i] = rest; else this.i++;
      this.skipBlank();
    }
    if (this.i >= this.lines.length) return null;
    const v = this.block(indentOf(this.lines[this.i]), -1);
    this.skipBlank();
    if (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (/^(---|\.\.\.)(\s|$)/.test(l)) {
        const j = this.i;
        this.i++;
        this.skipBlank();
        if (this.i < this.lines.length) throw this.err('only one YAML document per file is supported', j);
        return v;
      }
      throw this.err(`unexpected text at indent ${indentOf(l)} (check the indentation of this line): ${l.trim()}`);
    }
    return v;
  }

  /** The node whose first line is lines[i], starting at column `indent`; its parent sits at `parent`. */
  private block(indent: number, parent: number): unknown {
    const body = this.lines[this.i].slice(indent);
    if (/^-(\s|$)/.test(body)) return this.sequence(indent);
    if (this.keyAt(body) !== null) return this.mapping(indent);
    return this.inlineValue(body, indent, parent);
  }

  /** For "key: rest" lines: the key and the column where rest starts; null when not a key line. */
  private keyAt(body: string): { key: string; restAt: number } | null {
    if (body.startsWith('"') || body.startsWith("'")) {
      const q = readQuoted(body, 0);
      if (!q) return null;
      const after = body.slice(q.end);
      const m = /^\s*:(\s|$)/.exec(after);
      return m ? { key: q.value, restAt: q.end + m[0].length } : null;
    }
    if (/^[[{&*!|>%@`]/.test(body) || body.startsWith('? ')) {
      if (body.startsWith('? ')) throw this.err('complex mapping keys ("? ") are not supported');
      return null;
    }
    const c = commentAt(body);
    const s = c < 0 ? body : body.slice(0, c);
    const m = /:(\s|$)/.exec(s);
    if (!m) return null;
    return { key: s.slice(0, m.index).trimEnd(), restAt: m.index + m[0].length };
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seenAt = new Map<string, number>();
    while (true) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const line = this.lines[this.i];
      const n = indentOf(line);
      if (n < indent) break;
      if (n > indent) throw this.err(`bad indentation: expected a key at column ${indent + 1}, found column ${n + 1}`);
      const body = line.slice(indent);
      if (/^(---|\.\.\.)(\s|$)/.test(body) && indent === 0) break;
      const k = this.keyAt(body);
      if (!k) throw this.err(`expected "key: value" in a mapping, got: ${body.trim()}`);
      if (k.key === '<<') throw this.err('merge keys ("<<") are not supported');
      if (seenAt.has(k.key)) throw this.err(`duplicate key "${k.key}" (first at line ${seenAt.get(k.key)! + 1})`);
      seenAt.set(k.key, this.i);
      out[k.key] = this.valueAfter(body.slice(k.restAt), indent + k.restAt, indent);
    }
    return out;
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (true) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const line = this.lines[this.i];
      const n = indentOf(line);
      if (n < indent) break;
      if (n > indent) throw this.err(`bad indentation: expected "- " at column ${indent + 1}, found column ${n + 1}`);
      const body = line.slice(indent);
      if (!/^-(\s|$)/.test(body)) break; // a sibling key of a "key:\n- a" sequence at the same indent
      const restCol = indent + 1 + (body.length > 1 ? indentOf(body.slice(1)) : 0);
      out.push(this.valueAfter(line.slice(restCol), restCol, indent));
    }
    return out;
  }

  /** What follows "key:" or "- ": nothing (a nested block or null), or a node starting at column `col`. */
  private valueAfter(rest: string, col: number, parent: number): unknown {
    if (stripComment(rest) === '') {
      this.i++;
      this.skipBlank();
      if (this.i >= this.lines.length) return null;
      const next = this.lines[this.i];
      const n = indentOf(next);
      if (n > parent) return this.block(n, parent);
      // "key:\n- item" may put the sequence at the key's own indent.
      if (n === parent && /^-(\s|$)/.test(next.slice(n)) && this.lines[this.i - 1] !== undefined) {
        const owner = this.ownerLineIsKey(parent);
        if (owner) return this.sequence(n);
      }
      return null;
    }
    // The rest becomes a line of its own at column col (so "- a: 1" opens a mapping at col).
    this.lines[this.i] = ' '.repeat(col) + rest;
    return this.block(col, parent);
  }

  /** Whether the most recent non-blank line before i at indent `parent` is a mapping key (not a "- " item). */
  private ownerLineIsKey(parent: number): boolean {
    for (let j = this.i - 1; j >= 0; j--) {
      const l = this.lines[j];
      if (isBlank(l)) continue;
      return indentOf(l) === parent && !/^-(\s|$)/.test(l.slice(parent));
    }
    return false;
  }

  /** A scalar or flow collection starting at lines[i][col]; consumes its lines. */
  private inlineValue(body: string, col: number, parent: number): unknown {
    const c0 = body[0];
    if (c0 === '&' || c0 === '*') throw this.err(`anchors and aliases (${c0}) are not supported`);
    if (c0 === '!') throw this.err('tags (!) are not supported');
    if (c0 === '|' || c0 === '>') return this.blockScalar(body, parent);
    if (c0 === '[' || c0 === '{') return this.flow(col);
    if (c0 === '"' || c0 === "'") return this.quotedMultiline(col);
    return this.plainMultiline(body, parent);
  }

  private plainMultiline(body: string, parent: number): unknown {
    const first = stripComment(body).trim();
    const hadComment = commentAt(body) >= 0;
    this.i++;
    if (hadComment) return resolvePlain(first);
    const parts = [first];
    let blanks = 0;
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.trim() === '') { blanks++; this.i++; continue; }
      if (isBlank(l) || indentOf(l) <= parent) break;
      const t = l.trim();
      if (this.keyAt(t) !== null || /^-(\s|$)/.test(t)) throw this.err(`a plain scalar cannot continue with "${t}" (quote the value, or fix the indentation)`);
      const c = commentAt(t);
      parts.push(blanks ? '\n'.repeat(blanks) : ' ', (c < 0 ? t : t.slice(0, c)).trim());
      blanks = 0;
      this.i++;
      if (c >= 0) break;
    }
    return parts.length === 1 ? resolvePlain(first) : parts.join('').replace(/ \n/g, '\n');
  }

  private quotedMultiline(col: number): string {
    const start = this.i;
    let text = this.lines[this.i].slice(col);
    let q = readQuoted(text, 0);
    while (!q) {
      if (++this.i >= this.lines.length) throw this.err('unterminated quoted string', start);
      text += '\n' + this.lines[this.i];
      q = readQuoted(text, 0);
    }
    const after = text.slice(q.end);
    if (stripComment(after).trim() !== '') throw this.err(`unexpected text after a quoted string: ${after.trim()}`);
    this.i++;
    return q.value;
  }

  private blockScalar(header: string, parent: number): string {
    const h = /^([|>])([-+]?)([1-9]?)([-+]?)\s*(#.*)?$/.exec(header);
    if (!h) throw this.err(`bad block scalar header "${header.trim()}" (expected | or > with optional -, + and an indent digit)`);
    const folded = h[1] === '>';
    const chomp = h[2] || h[4];
    const start = ++this.i;
    let indent = h[3] ? parent + Number(h[3]) : -1;
    if (indent < 0) {
      let j = start;
      while (j < this.lines.length && this.lines[j].trim() === '') j++;
      indent = j < this.lines.length ? indentOf(this.lines[j]) : parent + 1;
      if (indent <= parent) indent = parent + 1; // empty scalar
    }
    const raw: string[] = [];
    while (this.i < this.lines.length) {
      const l = this.lines[this.i];
      if (l.trim() === '') { raw.push(''); this.i++; continue; }
      if (indentOf(l) < indent) break;
      raw.push(l.slice(indent));
      this.i++;
    }
    // Trailing blank lines: kept for "+", one newline for clip, none for "-".
    let end = raw.length;
    while (end > 0 && raw[end - 1] === '') end--;
    const trailing = raw.length - end;
    const content = raw.slice(0, end);
    let text: string;
    if (!folded) text = content.join('\n');
    else {
      text = '';
      for (let k = 0; k < content.length; k++) {
        const cur = content[k];
        if (k > 0) {
          const prev = content[k - 1];
          const more = (s: string) => s.startsWith(' ') || s.startsWith('\t');
          if (cur === '') text += '\n';
          else if (prev === '' || more(cur) || more(prev)) text += prev === '' ? '' : '\n';
          else text += ' ';
        }
        text += cur;
      }
    }
    if (content.length === 0) return chomp === '+' ? '\n'.repeat(trailing) : '';
    if (chomp === '-') return text;
    if (chomp === '+') return text + '\n' + '\n'.repeat(trailing);
    return text + '\n';
  }

  // ---- flow collections: a character scanner over the rest of the line and the lines after it

  private flow(col: number): unknown {
    const start = this.i;
    const src = new FlowSource(this.lines, this.i, col, this.file);
    const v = src.value();
    src.skipSpace();
    const rest = src.restOfLine();
    if (stripComment(rest).trim() !== '') throw new YamlError(this.file, src.line + 1, `unexpected text after a flow collection: ${rest.trim()}`);
    this.i = src.line + 1;
    if (this.i <= start) this.i = start + 1;
    return v;
  }
}

/** A quoted scalar at s[at]; null when it is not closed in s. Double quotes take escapes; single quotes double themselves. */
function readQuoted(s: string, at: number): { value: string; end: number } | null {
  const q = s[at];
  let out = '';
  let i = at + 1;
  const fold = () => {
    // A line break inside quotes folds to a space; blank lines become newlines.
    const m = /^\n([ \t]*\n)*[ \t]*/.exec(s.slice(i));
    const breaks = (m![0].match(/\n/g) ?? []).length;
    out = out.replace(/[ \t]+$/, '');
    out += breaks > 1 ? '\n'.repeat(breaks - 1) : ' ';
    i += m![0].length;
  };
  while (i < s.length) {
    const c = s[i];
    if (c === '\n') { fold(); continue; }
    if (q === "'") {
      if (c === "'") {
        if (s[i + 1] === "'") { out += "'"; i += 2; continue; }
        return { value: out, end: i + 1 };
      }
      out += c; i++; continue;
    }
    if (c === '"') return { value: out, end: i + 1 };
    if (c === '\\') {
      const e = s[i + 1];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/', '0': '\0', ' ': ' ', b: '\b', f: '\f', e: '\x1b', a: '\x07', v: '\v', N: '\u0085', _: '\u00a0' };
      if (e === undefined) return null;
      if (e === '\n') { i += 2; const m = /^[ \t]*/.exec(s.slice(i)); i += m![0].length; continue; }
      if (e in simple) { out += simple[e]; i += 2; continue; }
      const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hex) {
        const h = s.slice(i + 2, i + 2 + hex);
        if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== hex) return { value: out + '\uFFFD', end: -1 };
        out += String.fromCodePoint(parseInt(h, 16));
        i += 2 + hex;
        continue;
      }
      out += '\\' + e; i += 2; continue;
    }
    out += c; i++;
  }
  return null;
}

class FlowSource {
  line: number;
  private col: number;
  constructor(private readonly lines: string[], line: number, col: number, private readonly file: string) { this.line = line; this.col = col; }

  private err(reason: string): YamlError { return new YamlError(this.file, this.line + 1, reason); }
  private get cur(): string { return this.lines[this.line] ?? ''; }
  private peek(): string | undefined { return this.cur[this.col]; }

  restOfLine(): string { return this.cur.slice(this.col); }

  /** Skips spaces, comments and line ends (flow collections may span lines). */
  skipSpace(inside = false): void {
    while (this.line < this.lines.length) {
      const c = this.peek();
      if (c === ' ' || c === '\t') { this.col++; continue; }
      if (c === '#' && (this.col === 0 || /\s/.test(this.cur[this.col - 1]))) { this.col = this.cur.length; continue; }
      if (c === undefined && inside) { this.line++; this.col = 0; continue; }
      return;
    }
  }

  value(): unknown {
    this.skipSpace(true);
    const c = this.peek();
    if (c === undefined) throw this.err('unterminated flow collection');
    if (c === '[') return this.seq();
    if (c === '{') return this.map();
    if (c === '"' || c === "'") return this.quoted();
    if (c === '&' || c === '*' || c === '!') throw this.err(`anchors, aliases and tags (${c}) are not supported`);
    return resolvePlain(this.plain());
  }

  private quoted(): string {
    // Quoted scalars inside flow collections may span lines too.
    let text = this.cur.slice(this.col);
    let extra = 0;
    let q = readQuoted(text, 0);
    while (!q) {
      if (this.line + extra + 1 >= this.lines.length) throw this.err('unterminated quoted string');
      extra++;
      text += '\n' + this.lines[this.line + extra];
      q = readQuoted(text, 0);
    }
    // Position after the closing quote.
    const consumed = text.slice(0, q.end);
    const nl = consumed.lastIndexOf('\n');
    if (nl < 0) this.col += q.end;
    else { this.line += extra; this.col = consumed.length - nl - 1; }
    return q.value;
  }

  private plain(): string {
    const s = this.cur;
    let j = this.col;
    while (j < s.length) {
      const c = s[j];
      if (c === ',' || c === ']' || c === '}') break;
      if (c === ':' && (j + 1 >= s.length || /[\s,\]}]/.test(s[j + 1]))) break;
      if (c === '#' && /\s/.test(s[j - 1] ?? ' ')) break;
      j++;
    }
    const out = s.slice(this.col, j).trim();
    this.col = j;
    return out;
  }

  private seq(): unknown[] {
    this.col++;
    const out: unknown[] = [];
    while (true) {
      this.skipSpace(true);
      if (this.peek() === ']') { this.col++; return out; }
      if (this.peek() === undefined) throw this.err('unterminated flow sequence (missing "]")');
      out.push(this.value());
      this.skipSpace(true);
      const c = this.peek();
      if (c === ',') { this.col++; continue; }
      if (c === ']') { this.col++; return out; }
      throw this.err(`expected "," or "]" in a flow sequence, got "${c ?? 'end of file'}"`);
    }
  }

  private map(): Record<string, unknown> {
    this.col++;
    const out: Record<string, unknown> = {};
    while (true) {
      this.skipSpace(true);
      if (this.peek() === '}') { this.col++; return out; }
      if (this.peek() === undefined) throw this.err('unterminated flow mapping (missing "}")');
      const c0 = this.peek();
      const key = c0 === '"' || c0 === "'" ? this.quoted() : this.plain();
      this.skipSpace(true);
      let value: unknown = null;
      if (this.peek() === ':') {
        this.col++;
        this.skipSpace(true);
        const c = this.peek();
        value = c === ',' || c === '}' ? null : this.value();
      }
      if (Object.prototype.hasOwnProperty.call(out, key)) throw this.err(`duplicate key "${key}" in a flow mapping`);
      out[key] = value;
      this.skipSpace(true);
      const c = this.peek();
      if (c === ',') { this.col++; continue; }
      if (c === '}') { this.col++; return out; }
      throw this.err(`expected "," or "}" in a flow mapping, got "${c ?? 'end of file'}"`);
    }
  }
}
