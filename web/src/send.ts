// Sending a message and streaming the answer: POST .../messages, read the OpenAI chunk stream,
// paint it (stream-render.ts), measure TTFT and tokens/s, then re-read the chat for the stored
// ids and stats. Stop aborts the request; the server keeps the partial answer as 'stopped'.
import { batch } from '@preact/signals';
import type { SendRequest } from '../../src/app/contract.ts';
import { ApiError, api, errorFrom } from './api.ts';
import { hashFor, refreshList, showError, showToast } from './actions.ts';
import { blockForLimit, refreshUsage } from './limits.ts';
import { jumpToLatest } from './scroll.ts';
import { readSse } from './sse.ts';
import {
  announcement,
  capBlock,
  clientStats,
  conversations,
  detail,
  draftSystem,
  type LiveAnswer,
  live,
  openId,
  sampling,
  selectedModelId,
  streamingNow,
} from './state.ts';
import { StreamRenderer } from './stream-render.ts';

interface Chunk {
  choices?: { delta?: { content?: string | null } }[];
  usage?: { completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

export interface SendInput {
  content: string;
  /** New images as data URLs, or stored ones by attachment id (an edit keeps its images). */
  images: string[];
  /** The new message's parent; by default the last message of the branch on show. */
  parentId?: string | null;
  regenerate?: boolean;
  /** performance.now() when the user pressed Send (TTFT runs from here). */
  pressedAt?: number;
}

let pendingSettings: (() => Promise<void>) | null = null;
/** Settings typed but not saved yet (the system message): saved before the next send. */
export function setPendingSettings(save: (() => Promise<void>) | null): void {
  pendingSettings = save;
}

/** A chat this send started now has an id: show it as the open chat, first in the list. */
function adoptConversation(id: string, answer: LiveAnswer): void {
  const now = new Date().toISOString();
  const title = answer.user?.content.split('\n')[0].slice(0, 60) || 'New chat';
  const conversation = {
    id,
    title,
    model: selectedModelId.value,
    system: draftSystem.value,
    currentLeafId: null,
    createdAt: now,
    updatedAt: now,
  };
  batch(() => {
    openId.value = id;
    detail.value = { conversation, messages: [] };
    conversations.value = [{ id, title, model: conversation.model, updatedAt: now }, ...conversations.value];
  });
}

/** Sends (or regenerates). False when it was refused before streaming (the composer keeps the text). */
export async function send(input: SendInput): Promise<boolean> {
  if (streamingNow.value || capBlock.value) return false;
  const pressedAt = input.pressedAt ?? performance.now();
  const parentId = input.parentId !== undefined ? input.parentId : openId.value ? (detail.value?.conversation.currentLeafId ?? null) : null;
  // The exchange shows (and counts as streaming) at once, before any request: a new chat is
  // created and unsaved settings are saved while the user already sees their message.
  let firstPaint: number | null = null;
  const answer: LiveAnswer = {
    convId: openId.value,
    parentId,
    user: input.regenerate ? null : { content: input.content, images: input.images },
    renderer: new StreamRenderer((t) => (firstPaint = t)),
    abort: new AbortController(),
    status: 'streaming',
    error: null,
  };
  live.value = answer;
  requestAnimationFrame(jumpToLatest);
  if (pendingSettings) await pendingSettings();
  const { temperature, maxTokens } = sampling.value;
  // A new chat starts in the same request as its first message (one round trip before the answer).
  const body: SendRequest = {
    ...(answer.convId
      ? {}
      : { conversation: { ...(selectedModelId.value ? { model: selectedModelId.value } : {}), system: draftSystem.value || undefined } }),
    parentId,
    content: input.regenerate ? '' : input.content,
    ...(input.images.length && !input.regenerate
      ? { images: input.images.map((im) => (im.startsWith('data:') ? { dataUrl: im } : { attachmentId: im })) }
      : {}),
    ...(input.regenerate ? { regenerate: true } : {}),
    ...(selectedModelId.value ? { model: selectedModelId.value } : {}),
    ...(temperature !== null ? { temperature } : {}),
    ...(maxTokens !== null ? { maxTokens } : {}),
  };

  let res: Response;
  try {
    res = await api.send(answer.convId ?? 'new', body, answer.abort.signal);
  } catch {
    if (answer.abort.signal.aborted) {
      // Stopped before the answer began: the server may have stored the message already.
      live.value = { ...answer, status: 'stopped' };
      if (answer.convId) await reloadAfterAnswer(answer.convId, answer);
      else {
        live.value = null;
        void refreshList(); // the server may have started the chat before the Stop reached it
      }
      return true;
    }
    live.value = null;
    showToast('Cannot reach the server. Check that tetra is running and try again.', 'error');
    return false;
  }
  if (!res.ok || !res.body) {
    live.value = null;
    const err = res.ok ? new ApiError(res.status, 'The server sent no stream.') : await errorFrom(res);
    if (err.status === 429) await blockForLimit(err);
    else showError(err);
    return false;
  }

  performance.mark('tetra-answer-headers');
  const started = answer.convId ? null : res.headers.get('x-tetra-conversation-id');
  if (started) {
    answer.convId = started;
    history.replaceState(null, '', hashFor(started));
  }
  const convId = answer.convId!;
  const assistantId = res.headers.get('x-tetra-assistant-message-id');
  answer.userId = res.headers.get('x-tetra-user-message-id');
  answer.assistantId = assistantId;
  // The view learns the stored ids (and a new chat's place in the list) only once the first text is
  // on screen: re-rendering the list before that would hold the first token back.
  let adopted = false;
  const adopt = () => {
    if (adopted) return;
    adopted = true;
    batch(() => {
      if (started) adoptConversation(started, answer);
      if (live.value?.renderer === answer.renderer) live.value = { ...answer }; // re-keys the live messages by their stored ids
    });
  };
  let chunks = 0;
  let completionTokens: number | null = null;
  let firstTokenAt = 0;
  let status: LiveAnswer['status'] = 'done';
  let error: string | null = null;
  try {
    await readSse(res.body, (data) => {
      if (data === '[DONE]') return;
      let chunk: Chunk;
      try {
        chunk = JSON.parse(data) as Chunk;
      } catch {
        return;
      }
      if (chunk.error) error = typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'The answer failed.');
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        if (!chunks++) {
          firstTokenAt = performance.now();
          performance.mark('tetra-first-token');
        }
        answer.renderer.append(delta);
        // After the frame that paints it (a task queued from a frame callback runs after that paint).
        if (chunks === 1) requestAnimationFrame(() => setTimeout(adopt, 0));
      }
      if (typeof chunk.usage?.completion_tokens === 'number') completionTokens = chunk.usage.completion_tokens;
    });
    if (error) status = 'error';
  } catch {
    status = answer.abort.signal.aborted ? 'stopped' : 'error';
    if (status === 'error') error = 'The connection dropped before the answer finished.';
  }
  answer.renderer.finish();
  adopt();
  const endedAt = performance.now();
  live.value = { ...answer, status, error };
  announcement.value = status === 'done' ? 'Answer complete.' : status === 'stopped' ? 'Answer stopped.' : `Answer failed: ${error}`;

  if (assistantId && chunks) {
    const tokens = completionTokens ?? chunks;
    const seconds = (endedAt - firstTokenAt) / 1000;
    clientStats.value = {
      ...clientStats.value,
      [assistantId]: {
        ttftMs: (firstPaint ?? firstTokenAt) - pressedAt,
        tokens,
        tokensPerSec: tokens > 1 && seconds > 0 ? tokens / seconds : null,
      },
    };
  }
  await reloadAfterAnswer(convId, answer, assistantId);
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Re-reads the chat for the stored messages, then lets the live view go (in one update). After a
 * Stop the server may not have seen the closed request yet and still say 'streaming': ask again.
 */
async function reloadAfterAnswer(convId: string, answer: LiveAnswer, assistantId: string | null = null): Promise<void> {
  try {
    let d = await api.conversation(convId);
    const unsettled = () => d.messages.some((m) => m.status === 'streaming' && (!assistantId || m.id === assistantId));
    for (let i = 0; i < 15 && unsettled(); i++) {
      await sleep(100 + 50 * i);
      d = await api.conversation(convId);
    }
    batch(() => {
      if (openId.value === convId) detail.value = d;
      if (live.value?.renderer === answer.renderer) live.value = null;
    });
  } catch (e) {
    showError(e);
  }
  void refreshUsage();
  void refreshList();
}

export function stop(): void {
  const l = live.value;
  if (l?.status === 'streaming') l.abort.abort();
}
