// Text normalisation and markup stripping. Every document goes through normalizeText after its
// extractor stripped the source's markup, so dedup and tokenisation see one canonical form:
// - Unicode NFC (composed accents: "e\u0301" and "\u00e9" must dedup as the same text);
// - CRLF and lone CR become LF; form feeds and other C0/C1 controls except TAB and LF are removed;
// - tabs stay inside lines (code examples use them); trailing whitespace on each line goes;
// - runs of 3+ newlines collapse to one blank line; leading/trailing blank lines are trimmed.

export function normalizeText(text: string): string {
  let t = text.normalize('NFC');
  t = t.replace(/\r\n?/g, '\n');
  // eslint-disable-next-line no-control-regex
  t = t.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufeff]/g, '');
  t = t.replace(/[ \t\u00a0]+$/gm, '');
  t = t.replace(/\n{3,}/g, '\n\n');
  return t.replace(/^\n+/, '').replace(/\n+$/, '');
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  mdash: '\u2014',
  ndash: '\u2013',
  hellip: '\u2026',
  copy: '\u00a9',
  laquo: '\u00ab',
  raquo: '\u00bb',
  lsquo: '\u2018',
  rsquo: '\u2019',
  ldquo: '\u201c',
  rdquo: '\u201d',
  para: '\u00b6',
  sect: '\u00a7',
  times: '\u00d7',
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** HTML to text: drops head/script/style/nav, turns block ends into newlines, removes tags. */
export function stripHtml(html: string): string {
  let t = html.replace(/<!--[\s\S]*?-->/g, '');
  t = t.replace(/<(head|script|style|nav|footer)\b[\s\S]*?<\/\1\s*>/gi, '');
  t = t.replace(/<br\s*\/?>/gi, '\n');
  t = t.replace(/<\/(p|div|h[1-6]|li|tr|pre|blockquote|dt|dd|table|section|title)\s*>/gi, '\n\n');
  t = t.replace(/<[^>]+>/g, '');
  return decodeEntities(t).replace(/[ \t]+\n/g, '\n');
}

/**
 * troff (man page source) to text. Not a renderer: keeps the words. Request lines (".TH",
 * ".\\\"" comments, ".PP") are dropped except for font/heading macros whose arguments are text.
 */
export function stripTroff(src: string): string {
  const out: string[] = [];
  for (const raw of src.split('\n')) {
    let line = raw;
    if (line.startsWith('.') || line.startsWith("'")) {
      const m = /^[.'][ \t]*([A-Za-z]{1,3})\b[ \t]*(.*)$/.exec(line);
      if (!m) continue;
      const [, req, args] = m;
      if (/^(SH|SS)$/.test(req)) {
        out.push('', args.replace(/"/g, ''));
        continue;
      }
      if (/^(B|I|SM|SB|BI|BR|IB|IR|RB|RI|TP|IP|Nm|Ar|Fl|Sh|Nd|Xr|Pa|Em|Dq|Sq|Ql|Dv|Cm|It)$/.test(req) && args) {
        line = args.replace(/"/g, '');
        if (/^(BI|BR|IB|IR|RB|RI)$/.test(req)) line = line.replace(/ /g, '');
      } else {
        if (/^(PP|LP|P|sp|br|Pp)$/.test(req)) out.push('');
        continue;
      }
    }
    line = line
      .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '')
      .replace(/\\s[-+]?\d/g, '')
      .replace(/\\\*?\(em|\\\[em\]/g, '\u2014')
      .replace(/\\\(..|\\\[[^\]]*\]/g, '')
      .replace(/\\&|\\c|\\%|\\:|\\\//g, '')
      .replace(/\\-/g, '-')
      .replace(/\\e/g, '\\')
      .replace(/\\ /g, ' ')
      .replace(/\\"/g, '');
    out.push(line);
  }
  return out.join('\n');
}

/** Perl POD to text: directives keep their heading text, formatting codes keep their content. */
export function stripPod(src: string): string {
  const lines = src.split('\n').filter((l) => !/^=(cut|pod|over|back|begin|end|for|encoding)\b/.test(l));
  let t = lines.map((l) => l.replace(/^=(head\d|item)\s*/, '')).join('\n');
  for (let i = 0; i < 4; i++)
    t = t.replace(/[A-Z]<<+\s*(.*?)\s*>+>/g, '$1').replace(/[A-Z]<([^<>]*)>/g, (_m, x: string) => x.replace(/^[^|]*\|/, ''));
  return t;
}

/** reStructuredText to text: drops directives' option lines, role markers and underlines. */
export function stripRst(src: string): string {
  return src
    .split('\n')
    .filter((l) => !/^\s*([=\-~^"'`#*+:._]{3,})\s*$/.test(l) && !/^\s*\.\. [a-z-]+::/.test(l) && !/^\s+:[a-z-]+:/.test(l))
    .join('\n')
    .replace(/:[a-z:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`/g, '$1')
    .replace(/``([^`]+)``/g, '$1')
    .replace(/`([^`<]+?)(?:\s*<[^>]*>)?`_*/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1');
}

/** GNU info to text: drops the node separator lines and menu markers. */
export function stripInfo(src: string): string {
  return src
    .split('\u001f')
    .map((node) => node.replace(/^\nFile: [^\n]*\n/, '\n').replace(/^\* Menu:\s*$/gm, ''))
    .join('\n');
}

/**
 * GCIDE entries as dictd serves them: drops the syllabified headword (\ac*crete"\), the
 * pronunciation in Webster's diacritic codes ("([a^]k*kr[=e]t\")"), the attribution lines
 * ("[1913 Webster]", "[PJC]") and the braces of cross references ({Crescent} -> Crescent).
 */
export function stripGcide(entry: string): string {
  return entry
    .replace(/^[ \t]*\[[^\]\n]*\][ \t]*$/gm, '')
    .replace(/\\[^\\\n]*\\/g, '')
    .replace(/\s*\([^()\n]*\[[^\]\n]*\][^()\n]*\)/g, '')
    .replace(/[{}]/g, '')
    .replace(/[ \t]+,/g, ',')
    .replace(/^ {3}/gm, '');
}
