// Text rules of the chat store (store.ts), kept apart because they are pure: a conversation's
// automatic title, and search — splitting a query into terms, quoting them so that no user input
// is ever read as FTS5 syntax (`"`, `*`, AND, NOT, `-`, parentheses), LIKE patterns with their
// wildcards escaped, and the plain-text snippet shown around a match.

const TITLE_CHARS = 60;
const SNIPPET_CHARS = 80;
const MAX_TERMS = 16;
const MAX_TERM_CHARS = 200;

/**
 * A title from a message's first non-empty line, whitespace collapsed, at most 60 characters: a
 * longer line is cut at a word boundary (when there is one in the last two thirds) and ends in '…'.
 * null when the message has no text.
 */
export function titleFrom(content: string): string | null {
  const line = content
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .find((l) => l);
  if (!line) return null;
  const cs = [...line];
  if (cs.length <= TITLE_CHARS) return line;
  let cut = cs.slice(0, TITLE_CHARS - 1).join('');
  if (cs[TITLE_CHARS - 1] !== ' ') {
    const space = cut.lastIndexOf(' ');
    if (space >= TITLE_CHARS / 3) cut = cut.slice(0, space);
  }
  cut = cut.replace(/[\s,;:.-]+$/, '');
  return `${cut || cs.slice(0, TITLE_CHARS - 1).join('')}…`;
}

/** A query's terms: split on whitespace, control characters dropped, duplicates removed, 16 at most. */
export function searchTerms(q: string): string[] {
  if (typeof q !== 'string') return [];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  const words = q.replace(/[\u0000-\u001f\u007f]/g, ' ').split(/\s+/);
  const terms: string[] = [];
  for (const w of words) {
    const t = [...w].slice(0, MAX_TERM_CHARS).join('');
    if (t && !terms.some((x) => x.toLowerCase() === t.toLowerCase())) terms.push(t);
    if (terms.length === MAX_TERMS) break;
  }
  return terms;
}

/** An FTS5 query requiring every term as a literal string: each a double-quoted phrase, `"` doubled. */
export function ftsQuery(terms: string[]): string {
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' AND ');
}

/** `%term%` for LIKE ... ESCAPE '\', with the term's own % _ and \ taken literally. */
export function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function containsAll(text: string, terms: string[]): boolean {
  const lower = text.toLowerCase();
  return terms.every((t) => lower.includes(t.toLowerCase()));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** About 80 characters of `text` around the first term found, whitespace collapsed, '…' where cut. */
export function snippet(text: string, terms: string[]): string {
  let at = 0;
  let len = 0;
  for (const t of terms) {
    const m = new RegExp(escapeRegExp(t), 'iu').exec(text);
    if (m) {
      at = m.index;
      len = m[0].length;
      break;
    }
  }
  let start = Math.max(0, at - Math.max(0, Math.floor((SNIPPET_CHARS - len) / 2)));
  let end = Math.min(text.length, start + SNIPPET_CHARS);
  start = Math.max(0, Math.min(start, end - SNIPPET_CHARS));
  // Never cut a surrogate pair (an emoji) in half.
  if (start > 0 && isLowSurrogate(text.charCodeAt(start))) start--;
  if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end++;
  const piece = text.slice(start, end).replace(/\s+/g, ' ').trim();
  return `${start > 0 ? '…' : ''}${piece}${end < text.length ? '…' : ''}`;
}
