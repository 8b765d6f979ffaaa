// `tetra tokenize`: text on stdin -> {"tokens": [...], "count": N} on stdout, or with --decode the
// reverse. Encodes the raw stdin bytes (invalid UTF-8 included) and decodes to raw bytes with no
// newline added, so `tetra tokenize | tetra tokenize --decode` gives the input back exactly.
import type { Command } from './command.ts';
import { openTokenizer, type Tokenizer } from '../tokenizer/index.ts';

export class InputError extends Error {}

async function openEncoding(encoding: string): Promise<Tokenizer> {
  try {
    return await openTokenizer(encoding);
  } catch (e) {
    throw new InputError(`--encoding: ${(e as Error).message}`);
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Ids from `{"tokens": [...]}` or a bare array, each checked against the tokenizer. */
export function parseIds(text: string, tok: Tokenizer): number[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(
      `--decode: stdin is not JSON (${(e as Error).message.replace(/\s+/g, ' ')}); expected {"tokens": [ids...]} or [ids...]`,
    );
  }
  const ids = Array.isArray(v) ? v : v && typeof v === 'object' ? (v as { tokens?: unknown }).tokens : undefined;
  if (!Array.isArray(ids)) throw new InputError('--decode: expected {"tokens": [ids...]} or a JSON array of ids');
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= tok.idLimit) {
      throw new InputError(`--decode: tokens[${i}] = ${JSON.stringify(id)} is not a token id (integers 0..${tok.idLimit - 1})`);
    }
    tok.tokenBytes(id as number); // an id in a gap between specials throws with the valid ranges
  });
  return ids as number[];
}

export const tokenize: Command = {
  name: 'tokenize',
  summary: 'text on stdin -> {"tokens", "count"} (or --decode ids -> text) with cl100k or a tokenizer file',
  usage: 'tetra tokenize [--encoding cl100k|FILE] [--decode] < input',
  flags: {
    encoding: { type: 'string', help: 'cl100k (GPT-4), bytes, or a tokenizer file from `tetra tokenizer train`', default: 'cl100k' },
    decode: { type: 'boolean', help: 'read {"tokens": [...]} or [ids...] and print the text' },
  },
  async run(flags) {
    try {
      const tok = await openEncoding(String(flags.encoding));
      const input = await readStdin();
      if (flags.decode) {
        let ids: number[];
        try {
          ids = parseIds(input.toString('utf8'), tok);
        } catch (e) {
          if (e instanceof RangeError) throw new InputError(`--decode: ${e.message}`);
          throw e;
        }
        process.stdout.write(tok.decodeBytes(ids));
      } else {
        const tokens = tok.encodeBytes(input);
        process.stdout.write(`${JSON.stringify({ tokens, count: tokens.length })}\n`);
      }
      return 0;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      console.error(`tetra tokenize: ${e.message}`);
      return 1;
    }
  },
};
