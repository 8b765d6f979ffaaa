// A conversation as a download (GET /app/api/conversations/:id/export): the branch on show, from
// the root to currentLeafId, as Markdown to read or JSON to process. Other branches are not
// exported (the JSON says how many there are); images are noted, not embedded.
import type { AppMessage, ConversationDetail } from './contract.ts';

/** The branch on show, root first ([] for an empty conversation). */
export function branchPath(detail: ConversationDetail): AppMessage[] {
  const byId = new Map(detail.messages.map((m) => [m.id, m]));
  const path: AppMessage[] = [];
  for (let id = detail.conversation.currentLeafId; id !== null; ) {
    const m = byId.get(id);
    if (!m || path.length > detail.messages.length) break;
    path.push(m);
    id = m.parentId;
  }
  return path.reverse();
}

/** How many branches the conversation has: messages nothing follows (0 when empty). */
export function branchCount(detail: ConversationDetail): number {
  const parents = new Set(detail.messages.map((m) => m.parentId));
  return detail.messages.filter((m) => !parents.has(m.id)).length;
}

function statusNote(m: AppMessage): string | null {
  if (m.status === 'stopped') return '_(stopped)_';
  if (m.status === 'streaming') return '_(unfinished)_';
  if (m.status === 'error') return `_(failed${m.error ? `: ${m.error.replace(/\s+/g, ' ')}` : ''})_`;
  return null;
}

export function conversationMarkdown(detail: ConversationDetail): string {
  const c = detail.conversation;
  const parts = [`# ${c.title.replace(/\s+/g, ' ').trim() || 'Conversation'}`];
  if (c.model) parts.push(`Model: ${c.model}`);
  if (c.system) parts.push('**System**', c.system);
  for (const m of branchPath(detail)) {
    parts.push(m.role === 'user' ? '**User**' : '**Assistant**');
    if (m.content) parts.push(m.content);
    for (const _ of m.images) parts.push('[image]');
    const note = statusNote(m);
    if (note) parts.push(note);
  }
  return `${parts.join('\n\n')}\n`;
}

export interface ConversationExport {
  id: string;
  title: string;
  model: string | null;
  system: string;
  createdAt: string;
  updatedAt: string;
  currentLeafId: string | null;
  /** Branches in the whole conversation; only the one on show is in messages. */
  branches: number;
  messages: AppMessage[];
}

export function conversationJson(detail: ConversationDetail): ConversationExport {
  const c = detail.conversation;
  return {
    id: c.id,
    title: c.title,
    model: c.model,
    system: c.system,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    currentLeafId: c.currentLeafId,
    branches: branchCount(detail),
    messages: branchPath(detail),
  };
}

/**
 * A file name safe in any file system and in a quoted Content-Disposition: the title's letters and
 * digits in ASCII (accents dropped), other runs as '-', at most 80 characters; 'conversation' when
 * nothing is left.
 */
export function exportFileName(title: string, ext: string): string {
  if (!/^[a-z0-9]{1,8}$/.test(ext)) throw new Error(`export extension must be 1 to 8 lowercase letters or digits, got '${ext}'`);
  const base = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .slice(0, 80)
    .replace(/^-+|-+$/g, '');
  return `${base || 'conversation'}.${ext}`;
}
