// The chat app's state, in the same SQLite file as API keys and the usage ledger (tetra.db):
// users (scrypt password hashes, passwords.ts), sign-in sessions (only sha256 of each token),
// conversations and their message trees, image attachments, and search. Tables and statements are
// in schema.ts, text rules (titles, query quoting, snippets) in text.ts.
//
// - Messages form a tree per conversation: siblings share a parent (an edited question, a
//   regenerated answer); conversations.current_leaf_id is the last message of the branch on show.
// - Every conversation read or write takes the user's id, and another user's conversation behaves
//   exactly like a missing one (null, false, or AppStoreError 'not_found' with the same message).
//   finishMessage, deleteMessage, pathTo and messageImages take ids the caller got from a scoped call.
// - Search: terms of three or more characters go through the FTS5 trigram index; shorter ones
//   cannot, and are matched with LIKE; every term is then required, case-insensitively, in JS.
// - Everything is synchronous (better-sqlite3) except hashing passwords (scrypt runs off the thread).
import { createHash, randomBytes } from 'node:crypto';
import { openDb, type Db } from '../gateway/index.ts';
import type {
  AppMessage,
  AppUser,
  Conversation,
  ConversationDetail,
  ConversationPatch,
  ConversationSummary,
  MessageStatus,
  NewConversation,
} from './contract.ts';
import { checkPassword, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import {
  LIST_LIMIT,
  SCHEMA,
  statements,
  type ConvRow,
  type MsgRow,
  type SessionRow,
  type StoredImage,
  type SummaryRow,
  type UserRow,
} from './schema.ts';
import { containsAll, ftsQuery, likePattern, searchTerms, snippet, titleFrom } from './text.ts';

export type { StoredImage } from './schema.ts';

export const LOCAL_USER_ID = 'local';
export const DEFAULT_TITLE = 'New chat';
export const SESSION_IDLE_MS = 7 * 24 * 3600_000;
export const SESSION_MAX_MS = 30 * 24 * 3600_000;
const SESSION_TOUCH_MS = 60_000;
export const MAX_TITLE_CHARS = 200;
export const MAX_SYSTEM_CHARS = 32_000;
export const MAX_CONTENT_CHARS = 1_000_000;
export const MAX_MODEL_CHARS = 256;
export const MAX_IMAGES = 16;
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_CHARS = 2000;
const NAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
const MIME_RE = /^image\/[a-z0-9.+-]{1,64}$/i;
const STATUSES: readonly MessageStatus[] = ['done', 'stopped', 'error', 'streaming'];

/** A refusal: 'invalid' (a field out of its limits, named by param), 'not_found' (missing, or another user's), 'conflict'. */
export class AppStoreError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid' | 'not_found' | 'conflict',
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'AppStoreError';
  }
}

export interface UserRecord {
  id: string;
  name: string;
  plan: string;
  disabled: boolean;
  createdAt: string;
}

export interface NewMessage {
  parentId: string | null;
  role: 'user' | 'assistant';
  content: string;
  images?: { mime: string; data: Uint8Array }[];
  model?: string | null;
  /** Default 'done'. */
  status?: MessageStatus;
}

export interface FinishedMessage {
  content: string;
  status: MessageStatus;
  /** Kept as it was when left out. */
  model?: string | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  ttftMs?: number | null;
  genMs?: number | null;
  /** Cut to 2000 characters. */
  error?: string | null;
}

export interface AppStoreOptions {
  /** Clock for session expiry and timestamps (tests); default Date.now. */
  now?: () => number;
}

/** `u_`, `c_`, `m_` or `a_` and 96 random bits, base64url. */
function newId(prefix: string): string {
  return prefix + randomBytes(12).toString('base64url');
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const chars = (s: string) => [...s].length;
const article = (role: string) => (role === 'user' ? 'a user' : 'an assistant');

function invalid(message: string, param: string): AppStoreError {
  return new AppStoreError(message, 'invalid', param);
}

function toUser(r: UserRow | SessionRow): AppUser {
  return { id: 'id_hash' in r ? r.user_id : r.id, name: r.name, plan: r.plan };
}

function toConversation(r: ConvRow): Conversation {
  return {
    id: r.id,
    title: r.title,
    model: r.model,
    system: r.system_prompt,
    currentLeafId: r.current_leaf_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toMessage(r: MsgRow): AppMessage {
  return {
    id: r.id,
    parentId: r.parent_id,
    role: r.role,
    content: r.content,
    images: r.images ? r.images.split(' ') : [],
    model: r.model,
    status: r.status,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    ttftMs: r.ttft_ms,
    genMs: r.gen_ms,
    error: r.error,
    createdAt: r.created_at,
  };
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw invalid(`user name must be 1 to 64 letters, digits or _ . - @, got ${JSON.stringify(name)}`, 'name');
  }
}

function checkPlan(plan: unknown): asserts plan is string {
  if (typeof plan !== 'string' || !plan || plan.length > 64) throw invalid('plan must be a plan name of 1 to 64 characters', 'plan');
}

function cleanTitle(title: unknown): string {
  const t = typeof title === 'string' ? title.replace(/\s+/g, ' ').trim() : '';
  const n = chars(t);
  if (n < 1 || n > MAX_TITLE_CHARS) throw invalid(`title must have 1 to ${MAX_TITLE_CHARS} characters (after trimming), got ${n}`, 'title');
  return t;
}

function checkModel(model: unknown, param = 'model'): asserts model is string {
  if (typeof model !== 'string' || !model || chars(model) > MAX_MODEL_CHARS) {
    throw invalid(`${param} must be a model id of 1 to ${MAX_MODEL_CHARS} characters`, param);
  }
}

function checkSystem(system: unknown): asserts system is string {
  if (typeof system !== 'string') throw invalid('system must be a string', 'system');
  const n = chars(system);
  if (n > MAX_SYSTEM_CHARS) throw invalid(`system must have at most ${MAX_SYSTEM_CHARS} characters, got ${n}`, 'system');
}

function checkContent(content: unknown): asserts content is string {
  if (typeof content !== 'string') throw invalid('content must be a string', 'content');
  if (content.length > MAX_CONTENT_CHARS) {
    throw invalid(`content must have at most ${MAX_CONTENT_CHARS} characters, got ${content.length}`, 'content');
  }
}

function checkStatus(status: unknown): asserts status is MessageStatus {
  if (!STATUSES.includes(status as MessageStatus)) throw invalid(`status must be one of ${STATUSES.join(', ')}`, 'status');
}

function count(v: unknown, param: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(`${param} must be a non-negative integer or null`, param);
  return v;
}

export class AppStore {
  readonly db: Db;
  private readonly s: ReturnType<typeof statements>;
  private readonly now: () => number;
  private localMade = false;
  private dummy: { log2n: string; hash: Promise<string> } | null = null;

  constructor(dbOrPath: Db | string, opts: AppStoreOptions = {}) {
    this.db = typeof dbOrPath === 'string' ? openDb(dbOrPath) : dbOrPath;
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.s = statements(this.db);
    this.now = opts.now ?? Date.now;
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  // ---- users

  /** A named user who signs in with a password (`tetra users create`). */
  async createUser(name: string, password: string, plan: string): Promise<AppUser> {
    checkName(name);
    if (name.toLowerCase() === LOCAL_USER_ID) throw invalid(`user name '${name}' is reserved for the built-in local user`, 'name');
    checkPlan(plan);
    checkPassword(password);
    if (this.s.userByName.get(name)) throw new AppStoreError(`user '${name}' already exists`, 'conflict', 'name');
    const hash = await hashPassword(password);
    const user: AppUser = { id: newId('u_'), name, plan };
    try {
      this.s.insertUser.run(user.id, name, hash, plan, this.iso());
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AppStoreError(`user '${name}' already exists`, 'conflict', 'name');
      throw e;
    }
    return user;
  }

  /** Named users, oldest first (never the built-in local user). */
  listUsers(): UserRecord[] {
    return this.s.listUsers
      .all()
      .map((r) => ({ id: r.id, name: r.name, plan: r.plan, disabled: r.disabled !== 0, createdAt: r.created_at }));
  }

  private named(name: string): UserRow | null {
    const r = typeof name === 'string' && NAME_RE.test(name) ? this.s.userByName.get(name) : undefined;
    return r && r.id !== LOCAL_USER_ID ? r : null;
  }

  /** False when there is no such user. Disabling signs the user out everywhere. */
  setDisabled(name: string, disabled: boolean): boolean {
    const r = this.named(name);
    if (!r) return false;
    this.db.transaction(() => {
      this.s.setDisabled.run(disabled ? 1 : 0, r.id);
      if (disabled) this.s.deleteUserSessions.run(r.id);
    })();
    return true;
  }

  /** False when there is no such user. A new password signs the user out everywhere. */
  async setPassword(name: string, password: string): Promise<boolean> {
    checkPassword(password);
    if (!this.named(name)) return false;
    const hash = await hashPassword(password);
    const r = this.named(name);
    if (!r) return false;
    this.db.transaction(() => {
      this.s.setHash.run(hash, r.id);
      this.s.deleteUserSessions.run(r.id);
    })();
    return true;
  }

  /** False when there is no such user. */
  setPlan(name: string, plan: string): boolean {
    checkPlan(plan);
    const r = this.named(name);
    if (!r) return false;
    this.s.setPlan.run(plan, r.id);
    return true;
  }

  /** A hash of a random password with today's parameters, for unknown names to be checked against. */
  private dummyHash(): Promise<string> {
    const log2n = process.env.TETRA_SCRYPT_LOG2N ?? '';
    if (this.dummy?.log2n !== log2n) this.dummy = { log2n, hash: hashPassword(randomBytes(18).toString('base64')) };
    return this.dummy.hash;
  }

  /**
   * The user, or null for a wrong password, an unknown or disabled user, or the local user. Every
   * refusal costs the same scrypt work, so timing does not tell which names exist. A hash made with
   * older parameters is replaced on a successful sign-in.
   */
  async verifyLogin(name: string, password: string): Promise<AppUser | null> {
    const r = this.named(name);
    const stored = r && !r.disabled && r.pw_hash ? r.pw_hash : null;
    const ok = await verifyPassword(password, stored ?? (await this.dummyHash()));
    if (!ok || !r || stored === null) return null;
    // The row may have changed while scrypt ran (disabled, new password): decide on the current one.
    const now = this.s.userById.get(r.id);
    if (!now || now.disabled || now.pw_hash !== stored) return null;
    if (needsRehash(stored)) this.s.rehash.run(await hashPassword(password), r.id, stored);
    return toUser(now);
  }

  /** True once any named user exists (disabled ones count: disabling everyone must not open the app). */
  hasUsers(): boolean {
    return this.s.hasUsers.get() === 1;
  }

  /** The user of a server without sign-in; its row is made on first use so conversations can reference it. */
  localUser(plan: string): AppUser {
    if (!this.localMade) {
      this.s.insertLocal.run(plan, this.iso());
      this.localMade = true;
    }
    return { id: LOCAL_USER_ID, name: LOCAL_USER_ID, plan };
  }

  // ---- sessions

  /**
   * A new sign-in session: returns the raw token (256 random bits, base64url) for the cookie; only
   * its sha256 is stored. Looking a token up by its digest leaks nothing: the digest of a guess says
   * nothing about how close the guess was. Expires after 7 idle days, and 30 days after sign-in.
   */
  createSession(userId: string): string {
    const u = this.s.userById.get(userId);
    if (!u || u.id === LOCAL_USER_ID || u.disabled) throw new AppStoreError(`no user '${userId}' that can sign in`, 'not_found', 'userId');
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const iso = new Date(now).toISOString();
    this.s.purgeSessions.run(iso, new Date(now - SESSION_IDLE_MS).toISOString());
    this.s.insertSession.run(tokenHash(token), userId, iso, iso, new Date(now + SESSION_MAX_MS).toISOString());
    return token;
  }

  /** The session's user, or null (unknown, expired or disabled: an expired session is deleted). */
  sessionUser(token: string): AppUser | null {
    if (typeof token !== 'string' || !TOKEN_RE.test(token)) return null;
    const hash = tokenHash(token);
    const r = this.s.session.get(hash);
    if (!r) return null;
    const now = this.now();
    const seen = Date.parse(r.last_seen);
    if (r.disabled || now >= Date.parse(r.expires_at) || now >= seen + SESSION_IDLE_MS) {
      this.s.deleteSession.run(hash);
      return null;
    }
    if (now - seen >= SESSION_TOUCH_MS) this.s.touchSession.run(new Date(now).toISOString(), hash);
    return toUser(r);
  }

  deleteSession(token: string): void {
    if (typeof token === 'string') this.s.deleteSession.run(tokenHash(token));
  }

  // ---- conversations

  /** Newest updated first, at most 200. With q: conversations whose messages or title contain every term of q. */
  listConversations(userId: string, q?: string, before?: { updatedAt: string; id: string }): ConversationSummary[] {
    const terms = q === undefined ? [] : searchTerms(q);
    const summary = (r: SummaryRow): ConversationSummary => ({
      id: r.id,
      title: r.title,
      model: r.model,
      updatedAt: r.updated_at,
    });
    if (!terms.length) {
      const rows = before
        ? this.s.listConvsBefore.all(userId, before.updatedAt, before.updatedAt, before.id)
        : this.s.listConvs.all(userId);
      return rows.map(summary);
    }
    // Prefilter in SQL (trigram index for terms of 3+ characters, else LIKE on the longest), then
    // require every term, case-insensitively, in JS.
    const long = terms.filter((t) => chars(t) >= 3);
    const longest = terms.reduce((a, b) => (chars(b) > chars(a) ? b : a));
    const rows = long.length ? this.s.searchFts.all(ftsQuery(long), userId) : this.s.searchLike.all(userId, likePattern(longest));
    const found = new Map<string, ConversationSummary>();
    for (const r of rows) {
      if (found.has(r.id) || !containsAll(r.content, terms)) continue;
      found.set(r.id, { ...summary(r), snippet: snippet(r.content, terms), matchMessageId: r.mid });
    }
    for (const r of this.s.searchTitles.all(userId, likePattern(longest))) {
      if (!found.has(r.id) && containsAll(r.title, terms)) found.set(r.id, summary(r));
    }
    return [...found.values()].sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0)).slice(0, LIST_LIMIT);
  }

  createConversation(userId: string, init: NewConversation = {}): Conversation {
    const title = init.title === undefined ? DEFAULT_TITLE : cleanTitle(init.title);
    if (init.model !== undefined) checkModel(init.model);
    const system = init.system ?? '';
    checkSystem(system);
    const id = newId('c_');
    const now = this.iso();
    this.s.insertConv.run(id, userId, title, init.model ?? null, system, now, now);
    return toConversation(this.s.convById.get(id)!);
  }

  /** The conversation alone (no messages), or null when it is missing or not this user's. */
  conversation(userId: string, id: string): Conversation | null {
    const r = this.s.conv.get(id, userId);
    return r ? toConversation(r) : null;
  }

  /** The conversation and every message of every branch, oldest first; null when missing or not this user's. */
  getConversation(userId: string, id: string): ConversationDetail | null {
    const r = this.s.conv.get(id, userId);
    if (!r) return null;
    return { conversation: toConversation(r), messages: this.s.messagesOf.all(id).map(toMessage) };
  }

  /**
   * Renames, changes model or system message, or switches branch: currentLeafId may be any
   * message of the conversation, and the branch followed down from it to a leaf, taking the
   * newest child at each step. A branch switch alone does not move the conversation up the list.
   */
  updateConversation(userId: string, id: string, patch: ConversationPatch): Conversation | null {
    const title = patch.title === undefined ? undefined : cleanTitle(patch.title);
    if (patch.model !== undefined) checkModel(patch.model);
    if (patch.system !== undefined) checkSystem(patch.system);
    if (patch.currentLeafId !== undefined && typeof patch.currentLeafId !== 'string') {
      throw invalid('currentLeafId must be a message id', 'currentLeafId');
    }
    return this.db.transaction(() => {
      const r = this.s.conv.get(id, userId);
      if (!r) return null;
      let leaf = r.current_leaf_id;
      if (patch.currentLeafId !== undefined) {
        if (this.s.parentRole.get(patch.currentLeafId, id) === undefined) {
          throw invalid(`message '${patch.currentLeafId}' is not in conversation '${id}'`, 'currentLeafId');
        }
        leaf = patch.currentLeafId;
        for (let next = this.s.newestChild.get(id, leaf); next !== undefined; next = this.s.newestChild.get(id, leaf)) leaf = next;
      }
      const edited = title !== undefined || patch.model !== undefined || patch.system !== undefined;
      this.s.saveConv.run(
        title ?? r.title,
        patch.model ?? r.model,
        patch.system ?? r.system_prompt,
        leaf,
        edited ? this.iso() : r.updated_at,
        id,
      );
      return toConversation(this.s.convById.get(id)!);
    })();
  }

  /** Deletes the conversation, its messages and their images; false when missing or not this user's. */
  deleteConversation(userId: string, id: string): boolean {
    return this.s.deleteConv.run(id, userId).changes > 0;
  }

  // ---- messages

  /**
   * Adds a message under parentId (null starts the conversation) and shows its branch. A user
   * message follows an assistant message (or nothing); an assistant message answers a user message.
   * The first user message names a conversation still called 'New chat'.
   */
  addMessage(userId: string, conversationId: string, m: NewMessage): AppMessage {
    if (m.role !== 'user' && m.role !== 'assistant') throw invalid("role must be 'user' or 'assistant'", 'role');
    checkContent(m.content);
    const status = m.status ?? 'done';
    checkStatus(status);
    if (m.model !== undefined && m.model !== null) checkModel(m.model);
    const images = m.images ?? [];
    if (images.length > MAX_IMAGES) throw invalid(`a message may carry at most ${MAX_IMAGES} images, got ${images.length}`, 'images');
    for (const img of images) {
      if (typeof img.mime !== 'string' || !MIME_RE.test(img.mime)) throw invalid(`image type must be image/..., got ${img.mime}`, 'images');
      if (!(img.data instanceof Uint8Array) || img.data.byteLength < 1 || img.data.byteLength > MAX_IMAGE_BYTES) {
        throw invalid(`an image must have 1 to ${MAX_IMAGE_BYTES} bytes`, 'images');
      }
    }
    return this.db.transaction(() => {
      const conv = this.s.conv.get(conversationId, userId);
      if (!conv) throw new AppStoreError(`no conversation '${conversationId}'`, 'not_found', 'conversationId');
      if (m.parentId !== null) {
        const parentRole = typeof m.parentId === 'string' ? this.s.parentRole.get(m.parentId, conversationId) : undefined;
        if (parentRole === undefined)
          throw invalid(`parent message '${m.parentId}' is not in conversation '${conversationId}'`, 'parentId');
        if (parentRole === m.role) throw invalid(`${article(m.role)} message cannot follow ${article(parentRole)} message`, 'parentId');
      } else if (m.role === 'assistant') {
        throw invalid('an assistant message must answer a user message (parentId)', 'parentId');
      }
      const id = newId('m_');
      const now = this.iso();
      this.s.insertMsg.run(id, conversationId, m.parentId, m.role, m.content, m.model ?? null, status, now);
      images.forEach((img, i) => {
        const data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
        const sha = createHash('sha256').update(data).digest('hex');
        this.s.insertAttachment.run(newId('a_'), id, i, img.mime.toLowerCase(), data, sha, data.length);
      });
      const title = conv.title === DEFAULT_TITLE && m.role === 'user' ? (titleFrom(m.content) ?? conv.title) : conv.title;
      this.s.saveConv.run(title, conv.model, conv.system_prompt, id, now, conversationId);
      return toMessage(this.s.message.get(id)!);
    })();
  }

  /** Stores an answer's final text and numbers (or a checkpoint, with status 'streaming'); null when the message is gone. */
  finishMessage(id: string, f: FinishedMessage): AppMessage | null {
    checkContent(f.content);
    checkStatus(f.status);
    if (f.model !== undefined && f.model !== null) checkModel(f.model);
    const nums = [count(f.promptTokens, 'promptTokens'), count(f.completionTokens, 'completionTokens')];
    const times = [count(f.ttftMs, 'ttftMs'), count(f.genMs, 'genMs')];
    const error = typeof f.error === 'string' ? f.error.slice(0, MAX_ERROR_CHARS) : null;
    return this.db.transaction(() => {
      const r = this.s.message.get(id);
      if (!r) return null;
      this.s.finishMsg.run(f.content, f.status, f.model ?? null, ...nums, ...times, error, id);
      this.s.touchConv.run(this.iso(), r.conversation_id);
      return toMessage(this.s.message.get(id)!);
    })();
  }

  /**
   * Answers left 'streaming' by a server that stopped mid-answer (killed, crashed): marked 'error'
   * with `reason`, keeping the text checkpointed so far. A server calls it once at start, before
   * it streams anything (one server per database file). Returns how many it settled.
   */
  settleInterrupted(reason: string): number {
    return this.db
      .prepare("UPDATE messages SET status = 'error', error = ? WHERE status = 'streaming'")
      .run(reason.slice(0, MAX_ERROR_CHARS)).changes;
  }

  /** Deletes a message with everything under it; a branch on show inside it moves back to its parent. */
  deleteMessage(id: string): boolean {
    return this.db.transaction(() => {
      const r = this.s.message.get(id);
      if (!r) return false;
      const ids = this.s.subtree.all(id, r.conversation_id);
      const leaf = this.s.convById.get(r.conversation_id)!.current_leaf_id;
      this.s.deleteMsgs.run(JSON.stringify(ids));
      if (leaf !== null && ids.includes(leaf)) this.s.setLeaf.run(r.parent_id, r.conversation_id);
      return true;
    })();
  }

  /** The branch from the root down to leafId ([] when leafId is not in the conversation). */
  pathTo(conversationId: string, leafId: string): AppMessage[] {
    return this.s.path.all(leafId, conversationId).map(toMessage);
  }

  /** A message's images, in the order they were sent. */
  messageImages(messageId: string): StoredImage[] {
    return this.s.messageImages.all(messageId);
  }

  /** An attachment's bytes, or null when it is missing or not in one of this user's conversations. */
  attachment(userId: string, attachmentId: string): StoredImage | null {
    return this.s.attachment.get(attachmentId, userId) ?? null;
  }
}
