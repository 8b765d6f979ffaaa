// OpenAI's cl100k_base ranks, read at run time from the js-tiktoken package (a dependency, not
// copied here), so tetra counts GPT-4-family tokens exactly as the upstream API bills them.
import { Tokenizer } from './tokenizer.ts';
import { specialsAfter } from './special.ts';

interface TiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

/**
 * js-tiktoken's compact rank text: lines of "<ignored> <first rank> <base64 token> <base64 token> ...",
 * consecutive tokens taking consecutive ranks.
 */
export function parseTiktokenRanks(text: string): Uint8Array[] {
  const tokens: Uint8Array[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const first = Number.parseInt(fields[1], 10);
    for (let i = 2; i < fields.length; i++) tokens[first + i - 2] = Buffer.from(fields[i], 'base64');
  }
  for (let i = 0; i < tokens.length; i++) if (!tokens[i]) throw new Error(`cl100k ranks have a gap at ${i}`);
  return tokens;
}

let cached: Tokenizer | undefined;

/** The cl100k tokenizer (loaded once per process, about 0.3 s). */
export async function cl100k(): Promise<Tokenizer> {
  if (cached) return cached;
  const mod = (await import('js-tiktoken/ranks/cl100k_base')) as { default: TiktokenRanks };
  const r = mod.default;
  const tokens = parseTiktokenRanks(r.bpe_ranks);
  cached = new Tokenizer(tokens, specialsAfter(tokens.length, r.special_tokens), r.pat_str);
  return cached;
}
