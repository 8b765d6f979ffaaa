// The chat list: New chat, search (debounced, server-side over titles and messages), chats grouped
// by date with Rename and Delete, and the account corner. A drawer on narrow screens.
import { useSignal, useSignalEffect } from '@preact/signals';
import { useMemo } from 'preact/hooks';
import type { ConversationSummary } from '../../../src/app/contract.ts';
import { hashFor, loadMoreChats, newChat, openConversation, patchConversation, refreshList, signOut } from '../actions.ts';
import { confirmDelete, conversations, conversationsNext, openId, searchQuery, session, shortcutsOpen } from '../state.ts';
import { debounce } from '../util.ts';
import { EditIcon, KeyboardIcon, PlusIcon, SearchIcon, TrashIcon } from './icons.tsx';

let searched = '';
const searchSoon = debounce(() => {
  if (searchQuery.value.trim() === searched) return;
  searched = searchQuery.value.trim();
  void refreshList();
}, 250);

function groupOf(iso: string, now: Date): string {
  const day = 86400e3;
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const t = new Date(iso).getTime();
  if (t >= startOfToday) return 'Today';
  if (t >= startOfToday - day) return 'Yesterday';
  if (t >= startOfToday - 7 * day) return 'Previous 7 days';
  if (t >= startOfToday - 30 * day) return 'Previous 30 days';
  return 'Older';
}

function selectOnMount(el: HTMLInputElement | null): void {
  if (el && document.activeElement !== el) {
    el.focus();
    el.select();
  }
}

function Item({ c }: { c: ConversationSummary }) {
  const renaming = useSignal(false);
  const active = openId.value === c.id;
  const open = (e: MouseEvent) => {
    e.preventDefault();
    void openConversation(c.id, c.matchMessageId);
  };
  const finish = (input: HTMLInputElement, save: boolean) => {
    if (!renaming.value) return;
    renaming.value = false;
    const title = input.value.trim();
    if (save && title && title !== c.title) void patchConversation(c.id, { title });
  };
  if (renaming.value) {
    return (
      <li class="conv active">
        <input
          class="rename"
          aria-label="Chat title"
          value={c.title}
          ref={selectOnMount}
          onKeyDown={(e) => {
            if (e.key === 'Enter') finish(e.currentTarget, true);
            else if (e.key === 'Escape') {
              e.stopPropagation();
              finish(e.currentTarget, false);
            }
          }}
          onBlur={(e) => finish(e.currentTarget, true)}
        />
      </li>
    );
  }
  return (
    <li class={active ? 'conv active' : 'conv'}>
      <a href={hashFor(c.id)} aria-current={active ? 'page' : undefined} onClick={open}>
        <span class="conv-title">{c.title || 'Untitled chat'}</span>
        {c.snippet && <span class="conv-snippet">{c.snippet}</span>}
      </a>
      <span class="conv-actions">
        <button type="button" class="icon-btn" aria-label="Rename" title="Rename" onClick={() => (renaming.value = true)}>
          <EditIcon />
        </button>
        <button type="button" class="icon-btn" aria-label="Delete" title="Delete" onClick={() => (confirmDelete.value = c)}>
          <TrashIcon />
        </button>
      </span>
    </li>
  );
}

function ChatList() {
  const list = conversations.value;
  const searching = searchQuery.value.trim() !== '';
  const groups = useMemo(() => {
    const now = new Date();
    const out: [string, ConversationSummary[]][] = [];
    for (const c of list) {
      const g = searching ? 'Results' : groupOf(c.updatedAt, now);
      const last = out[out.length - 1];
      if (last && last[0] === g) last[1].push(c);
      else out.push([g, [c]]);
    }
    return out;
  }, [list, searching]);
  if (!list.length) return <p class="side-empty">{searching ? 'No chats match.' : 'No chats yet.'}</p>;
  return (
    <div class="chat-list">
      {groups.map(([name, items]) => (
        <section key={name} aria-label={name}>
          <h2 class="group">{name}</h2>
          <ul>
            {items.map((c) => (
              <Item key={c.id} c={c} />
            ))}
          </ul>
        </section>
      ))}
      {!searching && conversationsNext.value && (
        <button type="button" class="secondary load-more" onClick={() => void loadMoreChats()}>
          Load older chats
        </button>
      )}
    </div>
  );
}

export function Sidebar() {
  useSignalEffect(() => {
    searchQuery.value; // re-run on every change
    searchSoon();
  });
  const user = session.value?.user;
  return (
    <nav id="sidebar" class="sidebar" aria-label="Chats">
      <div class="side-top">
        <span class="brand">
          <span class="brand-mark" aria-hidden="true">
            t
          </span>
          tetra
        </span>
        <button type="button" class="new-chat" onClick={newChat} title="New chat (Ctrl+Shift+O)">
          <PlusIcon />
          New chat
        </button>
      </div>
      <div class="search">
        <SearchIcon />
        <input
          id="search-input"
          type="search"
          aria-label="Search chats"
          placeholder="Search chats"
          aria-keyshortcuts="Control+K"
          value={searchQuery.value}
          onInput={(e) => (searchQuery.value = e.currentTarget.value)}
        />
      </div>
      <ChatList />
      <div class="side-foot">
        <button
          type="button"
          class="icon-btn"
          aria-label="Keyboard shortcuts"
          title="Keyboard shortcuts (?)"
          onClick={() => (shortcutsOpen.value = true)}
        >
          <KeyboardIcon />
        </button>
        {user && (
          <span class="who" title={`Plan: ${user.plan}`}>
            {user.name}
          </span>
        )}
        {session.value?.auth === 'password' && user && (
          <button type="button" class="text-btn" onClick={() => void signOut()}>
            Sign out
          </button>
        )}
      </div>
    </nav>
  );
}
