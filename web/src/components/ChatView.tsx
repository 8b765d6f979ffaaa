// The conversation: a role=log list of the branch on show, the empty state for a new chat, and
// "Jump to latest" once the reader has scrolled up. Code-block Copy buttons (inside rendered
// markdown) are handled here by delegation.
import { useSignalEffect } from '@preact/signals';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { attachScroller, followContent, jumpToLatest, pinned } from '../scroll.ts';
import { detail, focusMessageId, items, loadingChat, openId, selectedModel } from '../state.ts';
import { copyText } from '../util.ts';
import { ArrowDownIcon } from './icons.tsx';
import { AssistantMessage, LiveUser, UserMessage } from './Message.tsx';

/** The newest messages render at once; older ones when scrolled near (lazy.ts). */
const EAGER = 24;

async function onCodeCopy(e: MouseEvent) {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button.copy-code');
  if (!button) return;
  const code = button.closest('.code-block')?.querySelector('code');
  if (!code || !(await copyText(code.textContent ?? ''))) return;
  button.textContent = 'Copied';
  setTimeout(() => (button.textContent = 'Copy'), 1500);
}

function Empty() {
  const m = selectedModel.value;
  return (
    <div class="empty">
      <h2>What can I help with?</h2>
      <p>
        {m ? `${m.id} answers here.` : 'Ask anything.'} Your chats are stored on this server and follow you to any device you sign in on.
      </p>
    </div>
  );
}

export function ChatView() {
  const scroller = useRef<HTMLDivElement>(null);
  const list = items.value;
  useLayoutEffect(() => attachScroller(scroller.current!), []);
  // After any re-render of the list (e.g. the stored answer replacing the live one), keep the
  // bottom in view only if the reader is there.
  useLayoutEffect(() => followContent(), [list]);
  useSignalEffect(() => {
    const id = focusMessageId.value;
    if (!id || !detail.value) return;
    requestAnimationFrame(() => {
      const el = scroller.current?.querySelector<HTMLElement>(`[data-id="${CSS.escape(id)}"]`);
      if (!el) return;
      pinned.value = false;
      el.scrollIntoView({ block: 'center' });
      el.classList.add('flash');
      focusMessageId.value = null;
    });
  });

  const lastStored = list.length ? list[list.length - 1] : null;
  const empty = !list.length && !(openId.value && loadingChat.value);
  return (
    <div class="chat-area">
      <div class="scroller" ref={scroller}>
        <div class="scroll-content">
          {empty ? (
            <Empty />
          ) : (
            // biome-ignore lint/a11y/useKeyWithClickEvents: delegated clicks on the Copy <button>s inside rendered markdown
            <div class="log" role="log" aria-live="polite" aria-label="Conversation" aria-busy={loadingChat.value} onClick={onCodeCopy}>
              {list.map((item, i) => {
                if (item.kind === 'live-user') return <LiveUser key={item.live.userId ?? 'live-user'} live={item.live} />;
                if (item.kind === 'live-answer') return <AssistantMessage key={item.live.assistantId ?? 'live-answer'} live={item.live} />;
                const m = item.msg;
                if (m.role === 'user') return <UserMessage key={m.id} msg={m} />;
                return <AssistantMessage key={m.id} msg={m} isLast={item === lastStored} lazy={i < list.length - EAGER} />;
              })}
            </div>
          )}
        </div>
      </div>
      {!pinned.value && !empty && (
        <button type="button" class="jump" onClick={jumpToLatest}>
          <ArrowDownIcon />
          Jump to latest
        </button>
      )}
    </div>
  );
}
