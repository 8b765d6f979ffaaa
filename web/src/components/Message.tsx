// One message of the branch on show. User messages are plain text (pre-wrap) with their images;
// answers are rendered markdown. Actions: Copy, Edit (user), Regenerate (last answer), the branch
// switcher when a message has alternatives, and per-answer stats (TTFT, tokens/s).
import { useSignal } from '@preact/signals';
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { AppMessage } from '../../../src/app/contract.ts';
import { switchBranch } from '../actions.ts';
import { attachmentUrl } from '../api.ts';
import { renderMath } from '../math.ts';
import { whenNear } from '../lazy.ts';
import { renderCached, setSanitizedHtml } from '../markdown.ts';
import { send } from '../send.ts';
import { clientStats, type LiveAnswer, streamingNow, tree } from '../state.ts';
import { siblingsOf } from '../tree.ts';
import { copyText, formatMs } from '../util.ts';
import { EditMessage } from './EditMessage.tsx';
import { CheckIcon, ChevronLeft, ChevronRight, CopyIcon, EditIcon, RegenerateIcon } from './icons.tsx';

export function CopyButton({ text }: { text: string }) {
  const done = useSignal(false);
  const copy = async () => {
    if (await copyText(text)) {
      done.value = true;
      setTimeout(() => (done.value = false), 1500);
    }
  };
  return (
    <button type="button" class="icon-btn small" aria-label="Copy" title={done.value ? 'Copied' : 'Copy'} onClick={copy}>
      {done.value ? <CheckIcon /> : <CopyIcon />}
    </button>
  );
}

/** An answer's body: painted by the stream renderer while live, else rendered markdown (cached). */
function AnswerBody({ msg, live, lazy }: { msg?: AppMessage; live?: LiveAnswer; lazy: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const renderer = live?.renderer ?? null;
  const id = msg?.id ?? '';
  const content = msg?.content ?? '';
  useLayoutEffect(() => {
    const el = ref.current!;
    if (renderer) {
      renderer.attach(el);
      return () => renderer.detach(el);
    }
    const render = () => {
      el.classList.remove('pending');
      setSanitizedHtml(el, renderCached(`${id}:${content.length}`, content));
      renderMath(el);
    };
    if (!lazy) return render();
    el.textContent = content; // plain text keeps roughly the right height until it is rendered
    el.classList.add('pending');
    return whenNear(el, render);
  }, [renderer, id, content]);
  return <div class="markdown" data-role="assistant" ref={ref} />;
}

function BranchSwitcher({ msg }: { msg: AppMessage }) {
  const sibs = siblingsOf(tree.value, msg);
  if (sibs.length < 2) return null;
  const i = sibs.findIndex((s) => s.id === msg.id);
  const busy = streamingNow.value;
  return (
    <span class="branches">
      <button
        type="button"
        class="icon-btn small"
        aria-label="Previous branch"
        disabled={busy || i <= 0}
        onClick={() => void switchBranch(sibs[i - 1].id)}
      >
        <ChevronLeft />
      </button>
      <span class="branch-pos">
        {i + 1} / {sibs.length}
      </span>
      <button
        type="button"
        class="icon-btn small"
        aria-label="Next branch"
        disabled={busy || i >= sibs.length - 1}
        onClick={() => void switchBranch(sibs[i + 1].id)}
      >
        <ChevronRight />
      </button>
    </span>
  );
}

function Stats({ msg }: { msg: AppMessage }) {
  const mine = clientStats.value[msg.id];
  const ttft = mine ? mine.ttftMs : msg.ttftMs;
  const tokens = mine ? mine.tokens : msg.completionTokens;
  const genMs = msg.genMs !== null && msg.ttftMs !== null && msg.genMs > msg.ttftMs ? msg.genMs - msg.ttftMs : msg.genMs;
  const perSec = mine ? mine.tokensPerSec : msg.completionTokens && genMs ? (msg.completionTokens * 1000) / genMs : null;
  const parts: string[] = [];
  if (ttft !== null) parts.push(`first token ${formatMs(ttft)}`);
  if (perSec !== null) parts.push(`${perSec.toFixed(1)} tok/s`);
  if (tokens !== null) parts.push(`${tokens} tokens`);
  if (msg.model) parts.push(msg.model);
  if (!parts.length) return null;
  return (
    <span class="stats" title={mine ? 'Measured in this browser' : 'Measured by the server'}>
      {parts.join(' · ')}
    </span>
  );
}

/** Stored images by attachment id; new ones (a message being sent) as data URLs. */
export function UserImages({ ids, urls }: { ids?: string[]; urls?: string[] }) {
  const srcs = (urls ?? ids ?? []).map((s) => (s.startsWith('data:') ? s : attachmentUrl(s)));
  if (!srcs.length) return null;
  return (
    <div class="msg-images">
      {srcs.map((src) => (
        // biome-ignore lint/a11y/noRedundantAlt: the page's agreed name for a stored image (tests find it by it)
        <img key={src.slice(-48)} src={src} alt="attached image" loading="lazy" />
      ))}
    </div>
  );
}

export function UserMessage({ msg }: { msg: AppMessage }) {
  const editing = useSignal(false);
  return (
    <article class="msg user" aria-label="You" data-id={msg.id}>
      {editing.value ? (
        <EditMessage msg={msg} onDone={() => (editing.value = false)} />
      ) : (
        <div class="bubble" data-role="user">
          <UserImages ids={msg.images} />
          {msg.content && <p class="plain">{msg.content}</p>}
        </div>
      )}
      {!editing.value && (
        <div class="msg-actions">
          <BranchSwitcher msg={msg} />
          <CopyButton text={msg.content} />
          <button
            type="button"
            class="icon-btn small"
            aria-label="Edit"
            title="Edit"
            disabled={streamingNow.value}
            onClick={() => (editing.value = true)}
          >
            <EditIcon />
          </button>
        </div>
      )}
    </article>
  );
}

/**
 * An answer, stored (`msg`) or streaming (`live`). One component for both, keyed by the answer's
 * id once the server has sent it, so the element stays in place when the stored answer replaces
 * the streamed one (no remount, no jump).
 */
export function AssistantMessage({
  msg,
  live,
  isLast = false,
  lazy = false,
}: {
  msg?: AppMessage;
  live?: LiveAnswer;
  isLast?: boolean;
  lazy?: boolean;
}) {
  const streaming = live?.status === 'streaming';
  const status = live ? live.status : msg!.status;
  const error = live ? live.error : msg!.status === 'error' ? (msg!.error ?? 'The answer failed.') : null;
  return (
    <article class="msg assistant" aria-label="Assistant" aria-busy={streaming} data-id={msg?.id}>
      <AnswerBody msg={msg} live={live} lazy={lazy} />
      {streaming && (
        <span class="typing" aria-hidden="true">
          <span />
          <span />
          <span />
        </span>
      )}
      {status === 'stopped' && <span class="badge">stopped</span>}
      {status === 'streaming' && !live && <span class="badge">still generating</span>}
      {error && <p class="msg-error">{error}</p>}
      {msg && (
        <div class="msg-actions">
          <BranchSwitcher msg={msg} />
          <CopyButton text={msg.content} />
          {isLast && (
            <button
              type="button"
              class="icon-btn small"
              aria-label="Regenerate"
              title="Regenerate"
              disabled={streamingNow.value}
              onClick={() => void send({ content: '', images: [], parentId: msg.parentId, regenerate: true })}
            >
              <RegenerateIcon />
            </button>
          )}
          <Stats msg={msg} />
        </div>
      )}
    </article>
  );
}

/** The message just sent, until the stored one replaces it (same shape, so nothing shifts). */
export function LiveUser({ live }: { live: LiveAnswer }) {
  const content = live.user?.content ?? '';
  return (
    <article class="msg user" aria-label="You">
      <div class="bubble" data-role="user">
        <UserImages urls={live.user?.images} />
        {content && <p class="plain">{content}</p>}
      </div>
      <div class="msg-actions">
        <CopyButton text={content} />
        <button type="button" class="icon-btn small" aria-label="Edit" title="Edit" disabled>
          <EditIcon />
        </button>
      </div>
    </article>
  );
}
