// Auto-scroll that never fights the reader: the chat follows new text only while the view is at
// (within 40px of) the bottom. Scrolling up unpins it, and then nothing moves the view, not new
// tokens and not the end of the answer; "Jump to latest" (or scrolling back down) pins it again.
import { signal } from '@preact/signals';

const NEAR_PX = 40;
let scroller: HTMLElement | null = null;

/** True while the view follows the newest text. */
export const pinned = signal(true);

const distance = (el: HTMLElement) => el.scrollHeight - el.scrollTop - el.clientHeight;

export function attachScroller(el: HTMLElement): () => void {
  scroller = el;
  const onScroll = () => {
    const near = distance(el) <= NEAR_PX;
    if (near !== pinned.value) pinned.value = near;
  };
  // A wheel or key press upwards unpins at once, before the 40px slack would.
  const onWheel = (e: WheelEvent) => {
    if (e.deltaY < 0 && el.scrollHeight > el.clientHeight) pinned.value = false;
  };
  const onKey = (e: KeyboardEvent) => {
    if (/^(PageUp|ArrowUp|Home)$/.test(e.key) && el.scrollHeight > el.clientHeight) pinned.value = false;
  };
  // Content that changes size on its own (images, fonts, messages rendered late by
  // content-visibility) keeps a pinned view at the bottom too.
  const resize = new ResizeObserver(() => followContent());
  if (el.firstElementChild) resize.observe(el.firstElementChild);
  el.addEventListener('scroll', onScroll, { passive: true });
  el.addEventListener('wheel', onWheel, { passive: true });
  el.addEventListener('keydown', onKey);
  return () => {
    resize.disconnect();
    el.removeEventListener('scroll', onScroll);
    el.removeEventListener('wheel', onWheel);
    el.removeEventListener('keydown', onKey);
    if (scroller === el) scroller = null;
  };
}

/** After content grew: keep the bottom in view if (and only if) the view is pinned. */
export function followContent(): void {
  if (scroller && pinned.value) scroller.scrollTop = scroller.scrollHeight;
}

/** Pin and go to the bottom (the reader asked: a send, an opened chat, "Jump to latest"). */
export function jumpToLatest(): void {
  pinned.value = true;
  if (scroller) scroller.scrollTop = scroller.scrollHeight;
}
