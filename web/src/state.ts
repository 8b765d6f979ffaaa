// The page's state, as signals. Components read them (and re-render when they change); actions.ts
// writes them. Derived views (the branch on show, the picked model) are computed here.
import { computed, signal } from '@preact/signals';
import type { AppMessage, ConversationDetail, ConversationSummary, ModelList, SessionInfo, UsageInfo } from '../../src/app/contract.ts';
import type { StreamRenderer } from './stream-render.ts';
import { branchTo, buildTree } from './tree.ts';

/** An answer being streamed (and, until the chat is re-read, the text it left). */
export interface LiveAnswer {
  /** null until a new chat has been created for it. */
  convId: string | null;
  parentId: string | null;
  /** The message being sent, shown before the server has stored it; null when regenerating. */
  user: { content: string; images: string[] } | null;
  renderer: StreamRenderer;
  abort: AbortController;
  status: 'streaming' | 'done' | 'stopped' | 'error';
  error: string | null;
  /** The ids the server gave the two messages (response headers), once known. */
  userId?: string | null;
  assistantId?: string | null;
}

/** What the page measured for an answer it streamed, by the stored message id. */
export interface ClientStats {
  ttftMs: number | null;
  tokens: number;
  tokensPerSec: number | null;
}

export interface CapBlock {
  message: string;
  /** When sending should work again; null when unknown. */
  until: Date | null;
}

export const session = signal<SessionInfo | null>(null);
export const bootError = signal<string | null>(null);
export const models = signal<ModelList | null>(null);
export const usage = signal<UsageInfo | null>(null);
export const capBlock = signal<CapBlock | null>(null);

export const conversations = signal<ConversationSummary[]>([]);
/** The cursor of the next (older) page of the list, null when it is all here (or while searching). */
export const conversationsNext = signal<string | null>(null);
export const searchQuery = signal('');
export const openId = signal<string | null>(null);
export const detail = signal<ConversationDetail | null>(null);
export const loadingChat = signal(false);
/** A message to bring into view once its chat is open (a search hit). */
export const focusMessageId = signal<string | null>(null);

/** Settings of the chat that does not exist yet (created on the first send). */
export const draftModel = signal<string | null>(null);
export const draftSystem = signal('');

export const live = signal<LiveAnswer | null>(null);
export const clientStats = signal<Record<string, ClientStats>>({});

export const toast = signal<{ text: string; kind: 'error' | 'info' } | null>(null);
/** Read out by a polite live region (e.g. "Answer complete"). */
export const announcement = signal('');

export const WIDE_QUERY = '(min-width: 768px)';
/** Below 768px the sidebar is a drawer over the chat. */
export const narrow = signal(!window.matchMedia(WIDE_QUERY).matches);
export const sidebarOpen = signal(!narrow.value);
export const settingsOpen = signal(false);
export const shortcutsOpen = signal(false);
export const confirmDelete = signal<ConversationSummary | null>(null);

function stored<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}
export function store(key: string, value: unknown): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or storage full: the setting lasts for this page only.
  }
}

/** The theme picked with the toggle; null follows the system. */
const savedTheme = document.documentElement.dataset.themeChoice; // theme.ts read it from localStorage
export const themeChoice = signal<'light' | 'dark' | null>(savedTheme === 'dark' || savedTheme === 'light' ? savedTheme : null);
export const systemDark = signal(window.matchMedia('(prefers-color-scheme: dark)').matches);
export const sampling = signal<{ temperature: number | null; maxTokens: number | null }>(
  stored('tetra-sampling', { temperature: null, maxTokens: null }),
);

export const tree = computed(() => buildTree(detail.value?.messages ?? []));

export const streamingNow = computed(() => live.value?.status === 'streaming');

export const selectedModelId = computed(
  () => detail.value?.conversation.model ?? draftModel.value ?? models.value?.default ?? models.value?.data[0]?.id ?? null,
);
export const selectedModel = computed(() => models.value?.data.find((m) => m.id === selectedModelId.value) ?? null);

export type Item =
  | { kind: 'stored'; msg: AppMessage }
  | { kind: 'live-user'; live: LiveAnswer }
  | { kind: 'live-answer'; live: LiveAnswer };

/** The branch on show: stored messages up to the current leaf, plus a streaming exchange. */
export const items = computed<Item[]>(() => {
  const d = detail.value;
  const l = live.value;
  const t = tree.value;
  if (l && l.convId === openId.value) {
    const base: Item[] = branchTo(t, l.parentId).map((msg) => ({ kind: 'stored', msg }));
    if (l.user) base.push({ kind: 'live-user', live: l });
    base.push({ kind: 'live-answer', live: l });
    return base;
  }
  if (!d || d.conversation.id !== openId.value) return [];
  return branchTo(t, d.conversation.currentLeafId).map((msg) => ({ kind: 'stored', msg }));
});
