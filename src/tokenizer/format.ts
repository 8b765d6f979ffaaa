// The tokenizer file, and the gpt2-style token list + merges that GGUF needs.
//
// File format (one JSON object, UTF-8):
//   {
//     "format": "tetra-bpe",
//     "version": 1,
//     "pattern": "<pre-tokenisation regex, JavaScript syntax, compiled with flags 'gu'>",
//     "tokens": ["<base64 bytes of id 0>", "<id 1>", ...],   // id = BPE rank; ids 0..N-1
//     "special_tokens": { "<|bos|>": N, "<|endoftext|>": N+1, ... }
//   }
// A token's id is its rank: encoding merges the adjacent pair whose joined bytes have the lowest
// id. Merges are not stored: they follow from the ranks (see gpt2Export), so there is one source
// of truth. Every byte 0..255 must be a token of its own; byte strings must be distinct.
import { readFileSync, writeFileSync } from 'node:fs';
import { Tokenizer } from './tokenizer.ts';

export const FORMAT = 'tetra-bpe';
export const FORMAT_VERSION = 1;

export interface TokenizerFile {
  format: typeof FORMAT;
  version: number;
  pattern: string;
  tokens: string[];
  special_tokens: Record<string, number>;
}

export function toJSON(tok: Tokenizer): TokenizerFile {
  const tokens: string[] = [];
  for (let i = 0; i < tok.vocabSize; i++) tokens.push(Buffer.from(tok.vocab.token(i)).toString('base64'));
  return { format: FORMAT, version: FORMAT_VERSION, pattern: tok.pattern, tokens, special_tokens: { ...tok.specials } };
}

export function fromJSON(obj: unknown, where = 'tokenizer file'): Tokenizer {
  const o = obj as Partial<TokenizerFile> | null;
  if (!o || typeof o !== 'object') throw new Error(`${where}: expected a JSON object`);
  if (o.format !== FORMAT) throw new Error(`${where}: "format" must be "${FORMAT}", got ${JSON.stringify(o.format)}`);
  if (o.version !== FORMAT_VERSION)
    throw new Error(`${where}: "version" ${o.version} is not supported (this tetra reads version ${FORMAT_VERSION})`);
  if (typeof o.pattern !== 'string') throw new Error(`${where}: "pattern" must be a string`);
  if (!Array.isArray(o.tokens) || o.tokens.some((t) => typeof t !== 'string'))
    throw new Error(`${where}: "tokens" must be an array of base64 strings`);
  if (!o.special_tokens || typeof o.special_tokens !== 'object')
    throw new Error(`${where}: "special_tokens" must be an object of name -> id`);
  const tokens = o.tokens.map((t) => new Uint8Array(Buffer.from(t, 'base64')));
  try {
    return new Tokenizer(tokens, o.special_tokens, o.pattern);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

export function saveTokenizer(tok: Tokenizer, path: string): void {
  writeFileSync(path, JSON.stringify(toJSON(tok)) + '\n');
}

export function loadTokenizer(path: string): Tokenizer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read tokenizer file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`);
  }
  return fromJSON(obj, path);
}

// ---------------------------------------------------------------------------- gpt2-style export

/**
 * GPT-2's byte -> printable character map: bytes that are visible Latin-1 map to themselves, the
 * rest (controls, space, soft hyphen) to U+0100 onwards, so every token is a visible string.
 */
export function byteToUnicode(): string[] {
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const visible = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map[b] = String.fromCharCode(visible ? b : 256 + extra++);
  }
  return map;
}

export interface Gpt2Vocab {
  /** Token strings by id; ids with no token (gaps before specials) are "[PAD<id>]". */
  tokens: string[];
  /** "left right" in rank order, as tokenizer.ggml.merges wants. */
  merges: string[];
  /** 1 = normal, 3 = control, as tokenizer.ggml.token_type. */
  tokenTypes: number[];
}

/**
 * Token strings and merges for GGUF (tokenizer.ggml.model = "gpt2"). The merge that makes token t
 * is found by running BPE on t's own bytes with only the ranks below t: it stops at two parts.
 */
export function gpt2Export(tok: Tokenizer): Gpt2Vocab {
  const b2u = byteToUnicode();
  const str = (bytes: Uint8Array) => {
    let s = '';
    for (const b of bytes) s += b2u[b];
    return s;
  };
  const tokens: string[] = [],
    tokenTypes: number[] = [],
    merges: string[] = [];
  for (let id = 0; id < tok.vocabSize; id++) {
    const bytes = tok.vocab.token(id);
    tokens.push(str(bytes));
    tokenTypes.push(1);
    if (bytes.length < 2) continue;
    const parts = mergeBelow(tok, bytes, id);
    if (parts.length === 2) merges.push(`${str(parts[0])} ${str(parts[1])}`);
  }
  const specialById = new Map(Object.entries(tok.specials).map(([k, v]) => [v, k]));
  for (let id = tok.vocabSize; id < tok.idLimit; id++) {
    tokens.push(specialById.get(id) ?? `[PAD${id}]`);
    tokenTypes.push(3);
  }
  return { tokens, merges, tokenTypes };
}

function mergeBelow(tok: Tokenizer, bytes: Uint8Array, limit: number): Uint8Array[] {
  const rank = (s: number, e: number) => {
    const r = tok.vocab.lookup(bytes, s, e);
    return r >= 0 && r < limit ? r : Infinity;
  };
  const pos: number[] = [];
  for (let i = 0; i <= bytes.length; i++) pos.push(i);
  while (pos.length > 2) {
    let best = Infinity,
      at = -1;
    for (let i = 0; i + 2 < pos.length; i++) {
      const r = rank(pos[i], pos[i + 2]);
      if (r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    pos.splice(at + 1, 1);
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < pos.length; i++) out.push(bytes.subarray(pos[i], pos[i + 1]));
  return out;
}
