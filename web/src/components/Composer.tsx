// The message box. Enter sends, Shift+Enter adds a line, Enter during IME composition never sends.
// Images come from "Attach image", drag and drop, or paste; the model must take images.
import { useSignal } from '@preact/signals';
import { useRef } from 'preact/hooks';
import { send, stop } from '../send.ts';
import { capBlock, live, openId, selectedModel, selectedModelId, streamingNow } from '../state.ts';
import { IMAGE_TYPES, readImage } from '../util.ts';
import { CloseIcon, ImageIcon, SendIcon, StopIcon } from './icons.tsx';

const MAX_IMAGES = 8;

function grow(el: HTMLTextAreaElement) {
  el.style.height = 'auto';
  el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
}

export function Composer() {
  const text = useSignal('');
  const images = useSignal<string[]>([]);
  const error = useSignal<string | null>(null);
  const dragging = useSignal(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const file = useRef<HTMLInputElement>(null);

  const model = selectedModel.value;
  const noImages = model && !model.image_input ? `${model.id} does not take images` : null;
  const streamingHere = streamingNow.value && live.value?.convId === openId.value;
  const busyElsewhere = streamingNow.value && !streamingHere;
  const blocked = capBlock.value !== null;
  const imagesRefused = noImages !== null && images.value.length > 0;
  // Read from the signals when asked, not from this render: a key can arrive before the re-render
  // that follows typing (or a model change) has run.
  const sendable = () => {
    const m = selectedModel.value;
    const refused = m !== null && m !== undefined && !m.image_input && images.value.length > 0;
    return capBlock.value === null && !streamingNow.value && !refused && (text.value.trim() !== '' || images.value.length > 0);
  };
  const canSend = sendable();

  const addFiles = async (files: Iterable<File>) => {
    error.value = null;
    for (const f of files) {
      if (noImages) {
        error.value = `${noImages}. Pick a model marked “images” to send pictures.`;
        return;
      }
      if (images.value.length >= MAX_IMAGES) {
        error.value = `At most ${MAX_IMAGES} images per message.`;
        return;
      }
      try {
        // Read first, then append to the list as it is now: a paste and a drop may be read at once.
        const image = await readImage(f);
        images.value = [...images.value, image];
      } catch (e) {
        error.value = (e as Error).message;
      }
    }
  };

  const submit = async (pressedAt = performance.now()) => {
    if (!sendable()) return;
    const content = text.value;
    const pics = images.value;
    text.value = '';
    images.value = [];
    error.value = null;
    if (input.current) input.current.style.height = '';
    const ok = await send({ content, images: pics, pressedAt });
    if (!ok && text.value === '' && images.value.length === 0) {
      text.value = content;
      images.value = pics;
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    void submit(performance.now());
  };

  const onPaste = (e: ClipboardEvent) => {
    const files = [...(e.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
    if (!files.length) return;
    e.preventDefault();
    void addFiles(files);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    dragging.value = false;
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) void addFiles(files);
  };

  const placeholder = blocked ? 'Sending is paused' : 'Message tetra';
  return (
    <form
      class={dragging.value ? 'composer dragging' : 'composer'}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      onDragOver={(e) => {
        e.preventDefault();
        dragging.value = true;
      }}
      onDragLeave={() => (dragging.value = false)}
      onDrop={onDrop}
    >
      {(error.value || imagesRefused) && (
        <p class="composer-error" role="alert">
          {error.value ?? `${noImages}: remove the images or pick a model marked “images”.`}
        </p>
      )}
      {images.value.length > 0 && (
        <ul class="thumbs" aria-label="Images to send">
          {images.value.map((src, i) => (
            <li key={src.slice(-32) + i}>
              <img src={src} alt={`Attachment ${i + 1} to send`} />
              <button
                type="button"
                class="thumb-remove"
                aria-label="Remove image"
                onClick={() => (images.value = images.value.filter((_, j) => j !== i))}
              >
                <CloseIcon />
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="composer-box">
        <button
          type="button"
          class="icon-btn attach"
          aria-label="Attach image"
          title={noImages ?? 'Attach image (or paste, or drop)'}
          aria-describedby={noImages ? 'attach-why' : undefined}
          disabled={!!noImages || blocked}
          onClick={() => file.current?.click()}
        >
          <ImageIcon />
        </button>
        {noImages && (
          <span id="attach-why" class="visually-hidden">
            {noImages}
          </span>
        )}
        <input
          ref={file}
          type="file"
          accept={IMAGE_TYPES.join(',')}
          multiple
          hidden
          tabIndex={-1}
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = '';
            void addFiles(files);
          }}
        />
        <textarea
          id="composer-input"
          ref={input}
          aria-label="Message"
          rows={1}
          placeholder={placeholder}
          disabled={blocked}
          value={text.value}
          onInput={(e) => {
            text.value = e.currentTarget.value;
            grow(e.currentTarget);
          }}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        {streamingHere ? (
          <button type="button" class="send-btn stop" aria-label="Stop" title="Stop (Esc)" onClick={stop}>
            <StopIcon />
          </button>
        ) : (
          <button
            type="submit"
            class="send-btn"
            aria-label="Send"
            title={busyElsewhere ? 'An answer is still streaming in another chat' : 'Send (Enter)'}
            disabled={!canSend}
          >
            <SendIcon />
          </button>
        )}
      </div>
      <p class="composer-hint">
        {selectedModelId.value ? `${selectedModelId.value} · ` : ''}Enter to send, Shift+Enter for a new line, ? for shortcuts
      </p>
    </form>
  );
}
