// Following an answer this page is not streaming itself (another tab's, or one whose request this
// page lost on a reload): the server checkpoints a growing answer every 2 s, so while the open
// chat shows a message still 'streaming', the page re-reads the chat every 2 s until it settles.
import { effect } from '@preact/signals';
import { api } from './api.ts';
import { detail, live, openId } from './state.ts';

const FOLLOW_MS = 2_000;
let timer: ReturnType<typeof setTimeout> | null = null;

export function installFollow(): void {
  effect(() => {
    const d = detail.value;
    const ours = live.value !== null;
    const growing = !ours && d !== null && d.messages.some((m) => m.status === 'streaming');
    if (timer) clearTimeout(timer);
    timer = null;
    if (!growing) return;
    const id = d.conversation.id;
    timer = setTimeout(async () => {
      timer = null;
      try {
        const next = await api.conversation(id);
        if (openId.value === id && live.value === null) detail.value = next;
      } catch {
        // Gone or unreachable: stop following; the next open shows whatever is stored.
      }
    }, FOLLOW_MS);
  });
}
