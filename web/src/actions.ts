// What the page does: sign-in, loading, opening chats (the URL hash #/c/ID keeps the open one),
// renaming, deleting, switching branches, settings. Sending lives in send.ts, limits in limits.ts.
import { batch } from '@preact/signals';
import type { AppMessage, Conversation, ConversationPatch } from '../../src/app/contract.ts';
import { ApiError, api } from './api.ts';
import { applyUsage, refreshUsage } from './limits.ts';
import { jumpToLatest } from './scroll.ts';
import {
  conversations,
  conversationsNext,
  detail,
  draftModel,
  draftSystem,
  focusMessageId,
  live,
  loadingChat,
  narrow,
  models,
  openId,
  searchQuery,
  session,
  settingsOpen,
  sidebarOpen,
  toast,
  tree,
  bootError,
} from './state.ts';

let toastTimer: ReturnType<typeof setTimeout> | undefined;
export function showToast(text: string, kind: 'error' | 'info' = 'info'): void {
  toast.value = { text, kind };
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.value = null), kind === 'error' ? 8000 : 3000);
}

/** Shows a failed call; a 401 means the session ended, so the sign-in form comes back. */
export function showError(e: unknown): void {
  if (e instanceof ApiError && e.status === 401 && session.value?.auth === 'password') {
    session.value = { ...session.value, user: null };
    return;
  }
  showToast(e instanceof Error ? e.message : String(e), 'error');
}

export async function boot(): Promise<void> {
  try {
    session.value = await api.session();
  } catch (e) {
    bootError.value = e instanceof Error ? e.message : String(e);
    return;
  }
  if (session.value.auth === 'password' && !session.value.user) return;
  await loadAll();
}

export async function loadAll(): Promise<void> {
  const [m, u, c] = await Promise.allSettled([api.models(), api.usage(), api.conversations()]);
  if (m.status === 'fulfilled') models.value = m.value;
  if (u.status === 'fulfilled') applyUsage(u.value);
  if (c.status === 'fulfilled') {
    conversations.value = c.value.data;
    conversationsNext.value = c.value.next;
  }
  const failed = [m, u, c].find((r) => r.status === 'rejected');
  if (failed) showError(failed.reason);
  await openFromHash(true);
}

export async function signIn(name: string, password: string): Promise<void> {
  session.value = await api.login({ name, password });
  await loadAll();
}

export async function signOut(): Promise<void> {
  try {
    await api.logout();
  } catch (e) {
    showError(e);
    return;
  }
  batch(() => {
    session.value = session.value && { ...session.value, user: null };
    conversations.value = [];
    conversationsNext.value = null;
    detail.value = null;
    openId.value = null;
  });
  history.replaceState(null, '', location.pathname + location.search);
}

export const hashFor = (id: string | null) => (id ? `#/c/${encodeURIComponent(id)}` : '#/');

function idFromHash(): string | null {
  const m = /^#\/c\/([^/?#]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

export async function openFromHash(force = false): Promise<void> {
  const id = idFromHash();
  if (force || id !== openId.value || (id && !detail.value)) await openConversation(id);
}

/** Opens a chat (null: a new, empty one). The hash follows, so a reload reopens it. */
export async function openConversation(id: string | null, matchMessageId?: string): Promise<void> {
  if (location.hash !== hashFor(id) && (id || location.hash)) history.pushState(null, '', hashFor(id));
  if (narrow.value) sidebarOpen.value = false;
  batch(() => {
    // Settings close when another chat opens, not when the page opens its first (a user may
    // already have opened them while the page was loading).
    if (openId.value !== id) settingsOpen.value = false;
    openId.value = id;
    focusMessageId.value = matchMessageId ?? null;
    if (!id) detail.value = null;
  });
  if (!id) return;
  loadingChat.value = true;
  try {
    const d = await api.conversation(id);
    if (openId.value !== id) return;
    detail.value = d;
    // A search hit on another branch: show that branch.
    if (matchMessageId && !onShownBranch(matchMessageId)) await switchBranch(matchMessageId);
    if (!matchMessageId) requestAnimationFrame(jumpToLatest);
  } catch (e) {
    if (openId.value !== id) return;
    if (e instanceof ApiError && e.status === 404) {
      showToast('That chat does not exist (or is not yours).', 'error');
      await openConversation(null);
    } else showError(e);
  } finally {
    if (openId.value === id) loadingChat.value = false;
  }
}

function onShownBranch(messageId: string): boolean {
  const leaf = detail.value?.conversation.currentLeafId;
  let m = leaf ? tree.value.byId.get(leaf) : undefined;
  while (m) {
    if (m.id === messageId) return true;
    m = m.parentId ? tree.value.byId.get(m.parentId) : undefined;
  }
  return false;
}

export function newChat(): void {
  draftSystem.value = '';
  void openConversation(null);
  requestAnimationFrame(() => document.getElementById('composer-input')?.focus());
}

let listSeq = 0;
export async function refreshList(): Promise<void> {
  const seq = ++listSeq;
  try {
    const list = await api.conversations(searchQuery.value.trim());
    if (seq === listSeq)
      batch(() => {
        conversations.value = list.data;
        conversationsNext.value = list.next;
      });
  } catch (e) {
    showError(e);
  }
}

/** The next (older) page of the list, appended. */
export async function loadMoreChats(): Promise<void> {
  const before = conversationsNext.value;
  if (!before) return;
  const seq = listSeq;
  try {
    const page = await api.conversations('', before);
    if (seq !== listSeq) return; // the list was reloaded meanwhile
    const have = new Set(conversations.value.map((c) => c.id));
    batch(() => {
      conversations.value = [...conversations.value, ...page.data.filter((c) => !have.has(c.id))];
      conversationsNext.value = page.next;
    });
  } catch (e) {
    showError(e);
  }
}

function updated(c: Conversation): void {
  batch(() => {
    if (detail.value?.conversation.id === c.id) detail.value = { ...detail.value, conversation: c };
    conversations.value = conversations.value.map((s) =>
      s.id === c.id ? { ...s, title: c.title, model: c.model, updatedAt: c.updatedAt } : s,
    );
  });
}

export async function patchConversation(id: string, patch: ConversationPatch): Promise<boolean> {
  try {
    updated(await api.patch(id, patch));
    return true;
  } catch (e) {
    showError(e);
    return false;
  }
}

export async function deleteConversation(id: string): Promise<void> {
  if (live.value?.convId === id) live.value.abort.abort();
  try {
    await api.remove(id);
  } catch (e) {
    showError(e);
    return;
  }
  conversations.value = conversations.value.filter((c) => c.id !== id);
  if (openId.value === id) await openConversation(null);
  showToast('Chat deleted.');
}

/** The newest leaf under a message (what the server shows when asked for that message's branch). */
function newestLeaf(m: AppMessage): AppMessage {
  let cur = m;
  for (;;) {
    const kids = tree.value.children.get(cur.id);
    if (!kids?.length) return cur;
    cur = kids[kids.length - 1];
  }
}

/** Shows the branch through `messageId` at once, then stores the choice (PATCH currentLeafId). */
export async function switchBranch(messageId: string): Promise<void> {
  const d = detail.value;
  const m = tree.value.byId.get(messageId);
  if (!d || !m) return;
  detail.value = { ...d, conversation: { ...d.conversation, currentLeafId: newestLeaf(m).id } };
  await patchConversation(d.conversation.id, { currentLeafId: messageId });
}

export function pickModel(id: string): void {
  if (openId.value && detail.value) {
    detail.value = { ...detail.value, conversation: { ...detail.value.conversation, model: id } };
    void patchConversation(openId.value, { model: id });
  } else draftModel.value = id;
}

export { refreshUsage };
