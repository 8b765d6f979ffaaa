// Paints a streaming answer. Tokens only append to a string; at most one DOM update happens per
// animation frame. Top-level markdown blocks that are finished (any block before the last one) are
// rendered once, with highlighting, and appended; only the open last block is re-rendered each
// frame, without highlighting. Each flush is measured ('tetra-render') and added to
// window.__tetraRender, so a test can compute the render cost per token.
import { renderMath } from './math.ts';
import { lexBlocks, renderMarkdown, setSanitizedHtml } from './markdown.ts';
import { followContent } from './scroll.ts';

const stats = () => (window.__tetraRender ??= { tokens: 0, ms: 0, flushes: 0 });

/** Where the open last block starts in `src` (0 when unsure: then everything is re-rendered). */
function openBlockStart(src: string): number {
  const tokens = lexBlocks(src);
  let last = tokens.length - 1;
  while (last >= 0 && tokens[last].type === 'space') last--;
  if (last <= 0) return 0;
  let tail = '';
  for (let i = last; i < tokens.length; i++) tail += tokens[i].raw;
  return src.endsWith(tail) ? src.length - tail.length : 0;
}

export class StreamRenderer {
  text = '';
  private el: HTMLElement | null = null;
  private readonly done = document.createElement('div');
  private readonly open = document.createElement('div');
  private doneUpTo = 0;
  private pending = 0;
  private frame = 0;
  private painted = false;

  /** Called once, with performance.now(), when the first text is on screen. */
  constructor(private readonly onFirstPaint: (t: number) => void) {
    this.done.className = 'md-blocks';
    this.open.className = 'md-blocks';
  }

  /** Shows the stream in `el` (a remount, e.g. after switching chats, repaints everything so far). */
  attach(el: HTMLElement): void {
    this.el = el;
    this.doneUpTo = 0;
    this.done.replaceChildren();
    this.open.replaceChildren();
    el.replaceChildren(this.done, this.open);
    if (this.text) this.flush();
  }

  detach(el: HTMLElement): void {
    if (this.el === el) this.el = null;
  }

  append(delta: string): void {
    this.text += delta;
    this.pending++;
    // The first text is painted at once (time to first token is what users feel); later text is
    // batched to one update per frame.
    if (!this.painted && this.el) this.flush();
    else if (!this.frame && this.el) this.frame = requestAnimationFrame(() => this.flush());
  }

  /** The stream ended: paint what is left now, highlighted. */
  finish(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.el) this.flush(true);
  }

  private flush(final = false): void {
    this.frame = 0;
    if (!this.el) return;
    performance.mark('tetra-render-start');
    const t0 = performance.now();
    const rest = this.text.slice(this.doneUpTo);
    const split = final ? rest.length : openBlockStart(rest);
    if (split > 0) {
      const block = document.createElement('div');
      block.className = 'md-blocks';
      setSanitizedHtml(block, renderMarkdown(rest.slice(0, split)));
      this.done.append(...block.childNodes);
      renderMath(this.done);
      this.doneUpTo += split;
    }
    setSanitizedHtml(this.open, final ? '' : renderMarkdown(rest.slice(split), { highlight: false }));
    renderMath(this.open);
    followContent();
    const s = stats();
    s.tokens += this.pending;
    s.ms += performance.now() - t0;
    s.flushes++;
    this.pending = 0;
    performance.measure('tetra-render', 'tetra-render-start');
    performance.clearMarks('tetra-render-start');
    if (s.flushes % 5000 === 0) performance.clearMeasures('tetra-render'); // bound the timeline in very long sessions
    if (!this.painted && this.text) {
      this.painted = true;
      this.onFirstPaint(performance.now());
    }
  }
}
