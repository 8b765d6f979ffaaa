// Math in answers. Delimiters: $$…$$ and \[…\] (display), \(…\) (inline) always; $…$ (inline)
// only when no space sits right inside the delimiters and no digit follows the closing $, so
// "It costs $5 and $10." stays prices. These are marked extensions, so code spans and fences,
// which marked tokenises first, are never touched. Math becomes a placeholder element holding
// the TeX; KaTeX (a lazy chunk, with its stylesheet) renders the placeholders after insertion.
import type { TokenizerAndRendererExtension, Tokens } from 'marked';
import { escapeHtml } from './util.ts';

interface MathToken extends Tokens.Generic {
  tex: string;
  display: boolean;
}

const INLINE_RULES: [RegExp, boolean][] = [
  [/^\$\$(?!\$)([\s\S]+?)\$\$/, true],
  [/^\\\[([\s\S]+?)\\\]/, true],
  [/^\\\(([\s\S]+?)\\\)/, false],
  [/^\$(?![\s$])((?:\\[\s\S]|[^\\\n$])+?)(?<!\s)\$(?!\d)/, false],
];
const BLOCK_RULES: RegExp[] = [/^ {0,3}\$\$([\s\S]+?)\$\$[ \t]*(?:\n+|$)/, /^ {0,3}\\\[([\s\S]+?)\\\][ \t]*(?:\n+|$)/];

function placeholder(token: Tokens.Generic): string {
  const { tex, display, raw } = token as MathToken;
  const tag = display ? 'div' : 'span';
  return `<${tag} class="math${display ? ' math-display' : ''}" data-tex="${escapeHtml(tex)}">${escapeHtml(raw.trim())}</${tag}>`;
}

export const mathExtensions: TokenizerAndRendererExtension[] = [
  {
    name: 'mathBlock',
    level: 'block',
    start: (src) => src.match(/^ {0,3}(?:\$\$|\\\[)/m)?.index,
    tokenizer(src) {
      for (const re of BLOCK_RULES) {
        const m = re.exec(src);
        if (m) return { type: 'mathBlock', raw: m[0], tex: m[1].trim(), display: true };
      }
      return undefined;
    },
    renderer: placeholder,
  },
  {
    name: 'math',
    level: 'inline',
    start: (src) => src.match(/\$|\\[([]/)?.index,
    tokenizer(src) {
      for (const [re, display] of INLINE_RULES) {
        const m = re.exec(src);
        if (m) return { type: 'math', raw: m[0], tex: m[1].trim(), display };
      }
      return undefined;
    },
    renderer: placeholder,
  },
];

type Katex = typeof import('katex').default;
let katex: Katex | null = null;
let loading: Promise<Katex> | null = null;
const cache = new Map<string, string>();

function loadKatex(): Promise<Katex> {
  if (!loading) {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = __KATEX_CSS__;
    document.head.append(link);
    loading = import('katex').then((m) => (katex = m.default));
  }
  return loading;
}

function renderAll(root: ParentNode, k: Katex): void {
  for (const el of root.querySelectorAll<HTMLElement>('.math[data-tex]')) {
    const tex = el.dataset.tex ?? '';
    const display = el.classList.contains('math-display');
    const key = `${display ? 'D' : 'I'}${tex}`;
    let html = cache.get(key);
    if (html === undefined) {
      // KaTeX builds this markup itself from the TeX (trust off: no \href, \url or raw HTML).
      html = k.renderToString(tex, { displayMode: display, throwOnError: false, output: 'htmlAndMathml', strict: 'ignore' });
      if (cache.size > 500) cache.clear();
      cache.set(key, html);
    }
    el.innerHTML = html;
    el.removeAttribute('data-tex');
  }
}

/** Renders the math placeholders under `root`: at once when KaTeX is loaded, else after loading it. */
export function renderMath(root: HTMLElement): void {
  if (!root.querySelector('.math[data-tex]')) return;
  if (katex) renderAll(root, katex);
  else
    loadKatex().then(
      (k) => renderAll(root, k),
      () => {}, // offline or blocked: the TeX stays readable as text
    );
}
