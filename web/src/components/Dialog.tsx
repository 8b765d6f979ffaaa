// A modal dialog on the native <dialog> element: showModal() traps focus and makes the page
// behind it inert, Escape closes it, and focus returns to where it was when it opened.
import type { ComponentChildren } from 'preact';
import { useId, useLayoutEffect, useRef } from 'preact/hooks';
import { CloseIcon } from './icons.tsx';

interface Props {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  class?: string;
  /** 'alertdialog' for confirmations. */
  role?: 'dialog' | 'alertdialog';
}

export function Dialog({ title, onClose, children, class: cls, role = 'dialog' }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useLayoutEffect(() => {
    const d = ref.current!;
    const before = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    return () => {
      if (d.open) d.close();
      before?.focus?.();
    };
  }, []);
  const onClick = (e: MouseEvent) => {
    if (!ref.current) return;
    const r = ref.current.getBoundingClientRect();
    const outside = e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom;
    if (e.target === ref.current && outside) onClose(); // a click on the backdrop
  };
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: a click on the backdrop; from the keyboard, Escape closes
    <dialog
      ref={ref}
      class={`dialog ${cls ?? ''}`}
      role={role === 'alertdialog' ? 'alertdialog' : undefined}
      aria-labelledby={titleId}
      onClose={onClose}
      onClick={onClick}
    >
      <div class="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" class="icon-btn" aria-label="Close" onClick={onClose}>
          <CloseIcon />
        </button>
      </div>
      {children}
    </dialog>
  );
}
