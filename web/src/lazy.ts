// Renders old messages only when they come near the view: a long chat opens with plain text for
// everything but the newest messages, and markdown is rendered as the reader scrolls up.
let io: IntersectionObserver | null = null;
let ioRoot: Element | null = null;
const pending = new Map<Element, () => void>();

function observer(root: Element): IntersectionObserver {
  if (io && ioRoot === root) return io;
  io?.disconnect();
  ioRoot = root;
  io = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const run = pending.get(e.target);
        pending.delete(e.target);
        io?.unobserve(e.target);
        run?.();
      }
    },
    { root, rootMargin: '1500px 0px' },
  );
  for (const el of pending.keys()) io.observe(el);
  return io;
}

/** Calls `run` once `el` is within 1500px of the scroller's view; returns a cancel function. */
export function whenNear(el: Element, run: () => void): () => void {
  const root = el.closest('.scroller');
  if (!root) {
    run();
    return () => {};
  }
  pending.set(el, run);
  observer(root).observe(el);
  return () => {
    pending.delete(el);
    io?.unobserve(el);
  };
}
