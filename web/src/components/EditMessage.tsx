// Editing a user message: the edited text (and the images kept) go to the same parent, which
// makes a new branch beside the original. Kept images are sent by their attachment ids.
import { useSignal } from '@preact/signals';
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { AppMessage } from '../../../src/app/contract.ts';
import { showError } from '../actions.ts';
import { attachmentUrl } from '../api.ts';
import { send } from '../send.ts';
import { CloseIcon } from './icons.tsx';

export function EditMessage({ msg, onDone }: { msg: AppMessage; onDone: () => void }) {
  const text = useSignal(msg.content);
  const kept = useSignal(msg.images);
  const busy = useSignal(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  useLayoutEffect(() => {
    const el = ref.current!;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
    el.style.height = `${Math.min(el.scrollHeight + 2, 320)}px`;
  }, []);

  const save = async () => {
    if (!text.value.trim() && !kept.value.length) return;
    busy.value = true;
    try {
      onDone();
      await send({ content: text.value, images: kept.value, parentId: msg.parentId });
    } catch (e) {
      showError(e);
      busy.value = false;
    }
  };

  return (
    <div class="edit-box">
      {kept.value.length > 0 && (
        <ul class="thumbs">
          {kept.value.map((id) => (
            <li key={id}>
              {/* biome-ignore lint/a11y/noRedundantAlt: the page's agreed name for a stored image */}
              <img src={attachmentUrl(id)} alt="attached image" />
              <button
                type="button"
                class="thumb-remove"
                aria-label="Remove image"
                onClick={() => (kept.value = kept.value.filter((k) => k !== id))}
              >
                <CloseIcon />
              </button>
            </li>
          ))}
        </ul>
      )}
      <textarea
        ref={ref}
        aria-label="Edit message"
        value={text.value}
        onInput={(e) => (text.value = e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            onDone();
          } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
            e.preventDefault();
            void save();
          }
        }}
      />
      <div class="edit-actions">
        <button type="button" class="secondary" onClick={onDone}>
          Cancel
        </button>
        <button type="button" class="primary" disabled={busy.value} onClick={() => void save()}>
          Save and submit
        </button>
      </div>
    </div>
  );
}
