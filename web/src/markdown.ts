// Answers are markdown: marked (GFM) -> DOMPurify -> the DOM. Raw HTML in model output is shown
// as text, never parsed; images become links (a page that never calls out must not load a URL a
// model wrote); links open in a new tab without a referrer. DOMPurify then cleans whatever is left
// (javascript: URLs, event handlers), so nothing unsanitised ever reaches innerHTML.
import DOMPurify from 'dompurify';
import { Marked, type Token, type Tokens } from 'marked';
import { highlight } from './highlight.ts';
import { mathExtensions } from './math.ts';
import { escapeHtml } from './util.ts';

let highlightCode = true;

function codeBlock({ text, lang }: Tokens.Code): string {
  const language = (lang ?? '').match(/^\S*/)?.[0].toLowerCase() ?? '';
  const body = (highlightCode && highlight(text, language)) || escapeHtml(text);
  const langClass = language ? ` language-${escapeHtml(language)}` : '';
  return (
    `<div class="code-block"><div class="code-head"><span class="code-lang">${escapeHtml(language || 'text')}</span>` +
    `<button type="button" class="copy-code">Copy</button></div>` +
    `<pre><code class="hljs${langClass}">${body}</code></pre></div>`
  );
}

const md = new Marked({
  gfm: true,
  breaks: false,
  extensions: mathExtensions,
  renderer: {
    code: codeBlock,
    html: (t) => ('block' in t && t.block ? `<p class="raw-html">${escapeHtml(t.text.trim())}</p>` : escapeHtml(t.text)),
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || 'image')}</a>`,
  },
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const PURIFY = { ADD_ATTR: ['target'], FORBID_TAGS: ['style', 'form', 'img', 'video', 'audio', 'iframe', 'object'] };

/** Sanitised HTML for a piece of markdown. `highlight: false` skips syntax colouring (cheap, for streaming). */
export function renderMarkdown(src: string, opts: { highlight?: boolean } = {}): string {
  highlightCode = opts.highlight ?? true;
  try {
    return DOMPurify.sanitize(md.parse(src, { async: false }), PURIFY);
  } finally {
    highlightCode = true;
  }
}

/** Top-level block tokens (for streaming: finished blocks are rendered once, the last one every frame). */
export function lexBlocks(src: string): Token[] {
  return md.lexer(src);
}

const cache = new Map<string, string>();

/** renderMarkdown, remembered by key (a stored message's id and length). */
export function renderCached(key: string, src: string): string {
  let html = cache.get(key);
  if (html === undefined) {
    html = renderMarkdown(src);
    if (cache.size > 1000) cache.delete(cache.keys().next().value as string);
    cache.set(key, html);
  }
  return html;
}

/** The one place rendered markdown enters the DOM; `html` must come from renderMarkdown. */
export function setSanitizedHtml(el: Element, html: string): void {
  el.innerHTML = html;
}
