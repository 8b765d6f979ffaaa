// The conversation tree: every message of every branch, linked by parentId. The branch on show
// runs from the conversation's currentLeafId up to the root; siblings (edits of a user message,
// regenerations of an answer) share a parent and a role.
import type { AppMessage } from '../../src/app/contract.ts';

export interface Tree {
  byId: Map<string, AppMessage>;
  /** Children by parent id ('' for the roots), oldest first. */
  children: Map<string, AppMessage[]>;
}

export function buildTree(messages: AppMessage[]): Tree {
  const byId = new Map<string, AppMessage>();
  const children = new Map<string, AppMessage[]>();
  for (const m of messages) {
    byId.set(m.id, m);
    const key = m.parentId ?? '';
    const list = children.get(key);
    if (list) list.push(m);
    else children.set(key, [m]);
  }
  return { byId, children };
}

/** The path from the root down to `leafId` (empty for null or an unknown id). */
export function branchTo(tree: Tree, leafId: string | null): AppMessage[] {
  const path: AppMessage[] = [];
  const seen = new Set<string>();
  let m = leafId ? tree.byId.get(leafId) : undefined;
  while (m && !seen.has(m.id)) {
    seen.add(m.id);
    path.push(m);
    m = m.parentId ? tree.byId.get(m.parentId) : undefined;
  }
  return path.reverse();
}

/** The message and its alternatives: same parent, same role, oldest first. */
export function siblingsOf(tree: Tree, m: AppMessage): AppMessage[] {
  return (tree.children.get(m.parentId ?? '') ?? []).filter((s) => s.role === m.role);
}
