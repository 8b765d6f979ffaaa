// The chat's settings panel: its system message (saved with PATCH as you type, and before any
// send), sampling settings for this browser, and the export links.
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { patchConversation } from '../actions.ts';
import { exportUrl } from '../api.ts';
import { setPendingSettings } from '../send.ts';
import { detail, draftSystem, openId, sampling, store } from '../state.ts';
import { DownloadIcon } from './icons.tsx';

function numberOrNull(v: string, min: number, max: number): number | null {
  if (v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : null;
}

/** Mounted per chat (keyed by its id) once the chat is loaded. */
function SystemMessage() {
  const id = openId.value;
  const savedText = id ? (detail.value?.conversation.system ?? '') : draftSystem.value;
  const text = useSignal(savedText);
  const status = useSignal('');

  const pending = useRef<(() => Promise<void>) | null>(null);

  // Save 800 ms after the last keystroke, before a send, or when the panel closes.
  useEffect(() => {
    if (!id || text.value === savedText) {
      pending.current = null;
      setPendingSettings(null);
      return;
    }
    const value = text.value;
    const save = async () => {
      if (pending.current !== save) return;
      pending.current = null;
      setPendingSettings(null);
      status.value = 'Saving…';
      status.value = (await patchConversation(id, { system: value })) ? 'Saved' : 'Not saved';
    };
    pending.current = save;
    setPendingSettings(save);
    const timer = setTimeout(save, 800);
    return () => clearTimeout(timer);
  }, [id, text.value, savedText]);
  useEffect(() => () => void pending.current?.(), []);

  return (
    <div class="field">
      <label for="system-message">System message</label>
      <textarea
        id="system-message"
        rows={3}
        placeholder="How should the assistant answer in this chat? For example: “Be brief. Use British spelling.”"
        value={text.value}
        onInput={(e) => {
          text.value = e.currentTarget.value;
          status.value = '';
          if (!id) draftSystem.value = text.value;
        }}
      />
      <span class="field-status" role="status">
        {status.value}
      </span>
    </div>
  );
}

export function ChatSettings() {
  const id = openId.value;
  const loaded = !id || detail.value?.conversation.id === id;
  const s = sampling.value;
  const set = (patch: Partial<typeof s>) => {
    sampling.value = { ...s, ...patch };
    store('tetra-sampling', sampling.value);
  };
  return (
    <section id="chat-settings" class="settings" aria-label="Chat settings">
      {loaded && <SystemMessage key={id ?? 'new'} />}
      <div class="settings-row">
        <label>
          Temperature
          <input
            type="number"
            inputMode="decimal"
            min={0}
            max={2}
            step={0.1}
            placeholder="default"
            value={s.temperature ?? ''}
            onChange={(e) => set({ temperature: numberOrNull(e.currentTarget.value, 0, 2) })}
          />
        </label>
        <label>
          Max tokens
          <input
            type="number"
            inputMode="numeric"
            min={1}
            step={1}
            placeholder="default"
            value={s.maxTokens ?? ''}
            onChange={(e) => set({ maxTokens: numberOrNull(e.currentTarget.value, 1, 1_000_000) })}
          />
        </label>
        {id && (
          <span class="exports">
            <a href={exportUrl(id, 'md')} download>
              <DownloadIcon />
              Export Markdown
            </a>
            <a href={exportUrl(id, 'json')} download>
              <DownloadIcon />
              Export JSON
            </a>
          </span>
        )}
      </div>
    </section>
  );
}
