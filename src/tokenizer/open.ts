// One way to name a tokenizer everywhere (CLI flags, corpus manifests, checkpoints):
//   "bytes"   byte-level: ids 0..255 are the bytes, no merges, specials from 256 (a char-level
//             model's tokenizer; needs no file)
//   "cl100k"  GPT-4's ranks (js-tiktoken's file)
//   a path    a tokenizer file written by `tetra tokenizer train`
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cl100k } from './cl100k.ts';
import { loadTokenizer } from './format.ts';
import { specialsAfter } from './special.ts';
import { Tokenizer } from './tokenizer.ts';

export function byteTokenizer(): Tokenizer {
  return new Tokenizer(
    Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)),
    specialsAfter(256),
  );
}

export async function openTokenizer(spec: string): Promise<Tokenizer> {
  if (spec === 'bytes') return byteTokenizer();
  if (spec === 'cl100k' || spec === 'cl100k_base') return cl100k();
  return loadTokenizer(spec);
}

/** What a checkpoint records to find its tokenizer again: the spec, and for files the path and hash. */
export function tokenizerRef(spec: string): { name: string; path?: string; sha256?: string } {
  if (spec === 'bytes' || spec === 'cl100k' || spec === 'cl100k_base') return { name: spec };
  const path = resolve(spec);
  return { name: spec, path, sha256: fileSha256(path) };
}

const fileSha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The tetra package's root, against which a shipped tokenizer's relative name also resolves. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Opens the tokenizer a checkpoint names, checking a file's hash so a changed file is caught. A file
 * no longer at its recorded path (the checkout moved, the run was copied to another machine) is
 * looked for by its recorded name, relative to the working directory and then to the package (a
 * tokenizer shipped under models/), and taken only when its hash is the recorded one.
 */
export async function openTokenizerRef(ref: { name?: string; path?: string; sha256?: string }): Promise<Tokenizer> {
  if (ref.path) {
    if (!existsSync(ref.path) && ref.name && !isAbsolute(ref.name) && ref.sha256) {
      const tried = [resolve(ref.name), resolve(PACKAGE_ROOT, ref.name)];
      const found = tried.find((p) => existsSync(p) && fileSha256(p) === ref.sha256);
      if (!found)
        throw new Error(
          `tokenizer ${ref.path} is gone, and no file of its hash is at ${[...new Set(tried)].join(' or ')} ` +
            `(sha256 ${ref.sha256.slice(0, 12)}...)`,
        );
      return loadTokenizer(found);
    }
    const sha = fileSha256(ref.path);
    if (ref.sha256 && sha !== ref.sha256)
      throw new Error(
        `tokenizer ${ref.path} has changed since the checkpoint was written (sha256 ${sha.slice(0, 12)}..., expected ` +
          `${ref.sha256.slice(0, 12)}...)`,
      );
    return loadTokenizer(ref.path);
  }
  if (!ref.name) throw new Error('the checkpoint names no tokenizer');
  return openTokenizer(ref.name);
}
