// Pre-tokenisation: the GPT-4 (cl100k) split pattern, which cuts text into chunks that BPE never
// merges across (contractions, words with one leading non-letter, numbers of at most 3 digits,
// punctuation runs, newline runs, whitespace). It is a spec, not a choice: encoding counts must
// equal GPT-4's, so the pattern is written exactly as OpenAI publishes it, with the case-insensitive
// group spelled out because JavaScript regexes have no inline (?i:...).

export const CL100K_PATTERN =
  "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)" +
  '|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+' +
  '|\\p{N}{1,3}' +
  '| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*' +
  '|\\s*[\\r\\n]+' +
  '|\\s+(?!\\S)' +
  '|\\s+';

/** A global, unicode regex for the pattern; callers own lastIndex (one per encoder, not shared). */
export function splitRegex(pattern: string = CL100K_PATTERN): RegExp {
  return new RegExp(pattern, 'gu');
}

/** The chunks of text, in order; their concatenation is the text. */
export function pretokenize(text: string, pattern: string = CL100K_PATTERN): string[] {
  const re = splitRegex(pattern);
  const out: string[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push(m[0]);
  return out;
}
