// The chat store's tables and prepared statements (store.ts holds the rules that use them). Why
// the schema looks as it does:
// - messages has an INTEGER PRIMARY KEY (seq) beside its text id because the FTS5 index is an
//   external-content table keyed by rowid, and VACUUM may renumber an implicit rowid.
// - parent_id references messages without ON DELETE CASCADE: SQLite runs each cascade level as a
//   nested trigger (1000 at most), so a long chat could not be deleted; store.ts deletes a subtree
//   itself, and a conversation's messages all go in one cascade level.
// - FTS5's trigram tokenizer: substrings match (as a chat app's search box is expected to) and CJK
//   text, which has no spaces between words, is searchable.
// - Images live in attachments (BLOBs), out of the messages rows that listings and paths read.
import type { Db } from '../gateway/index.ts';
import type { MessageStatus } from './contract.ts';

export const LIST_LIMIT = 200;
const SEARCH_ROWS = 5000;

export interface StoredImage {
  mime: string;
  data: Buffer;
}

export interface UserRow {
  id: string;
  name: string;
  pw_hash: string | null;
  plan: string;
  disabled: number;
  created_at: string;
}

export interface SessionRow {
  id_hash: string;
  user_id: string;
  last_seen: string;
  expires_at: string;
  name: string;
  plan: string;
  disabled: number;
}

export interface ConvRow {
  id: string;
  user_id: string;
  title: string;
  model: string | null;
  system_prompt: string;
  current_leaf_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface MsgRow {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  role: 'user' | 'assistant';
  content: string;
  model: string | null;
  status: MessageStatus;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  ttft_ms: number | null;
  gen_ms: number | null;
  error: string | null;
  created_at: string;
  images: string | null;
}

export interface SummaryRow {
  id: string;
  title: string;
  model: string | null;
  updated_at: string;
}

export interface HitRow extends SummaryRow {
  mid: string;
  content: string;
}

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  pw_hash TEXT,
  plan TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  model TEXT,
  system_prompt TEXT NOT NULL DEFAULT '',
  current_leaf_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_user_updated ON conversations (user_id, updated_at DESC);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  parent_id TEXT REFERENCES messages (id),
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  content TEXT NOT NULL,
  model TEXT,
  status TEXT NOT NULL CHECK (status IN ('done', 'stopped', 'error', 'streaming')),
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  ttft_ms INTEGER,
  gen_ms INTEGER,
  error TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_tree ON messages (conversation_id, parent_id, created_at);
CREATE TABLE IF NOT EXISTS attachments (
  id TEXT PRIMARY KEY,
  message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  mime TEXT NOT NULL,
  data BLOB NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attachments_message ON attachments (message_id, idx);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5 (content, content = 'messages', content_rowid = 'seq', tokenize = 'trigram');
CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF content ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
  INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;`;

// Every message read carries its attachment ids, in order. Search's CROSS JOINs make the FTS match
// the outer loop: left to itself the planner walks the user's messages and runs the match per row.
const MSG_SELECT =
  "SELECT m.*, (SELECT group_concat(a.id, ' ' ORDER BY a.idx) FROM attachments a WHERE a.message_id = m.id) AS images FROM messages m";
const HIT_SELECT = 'SELECT m.id AS mid, m.content, c.id, c.title, c.model, c.updated_at';

export function statements(db: Db) {
  const p = <R = unknown>(sql: string) => db.prepare<unknown[], R>(sql);
  return {
    userByName: p<UserRow>('SELECT * FROM users WHERE name = ?'),
    userById: p<UserRow>('SELECT * FROM users WHERE id = ?'),
    insertUser: p('INSERT INTO users (id, name, pw_hash, plan, disabled, created_at) VALUES (?, ?, ?, ?, 0, ?)'),
    insertLocal: p(`INSERT OR IGNORE INTO users (id, name, pw_hash, plan, disabled, created_at) VALUES ('local', 'local', NULL, ?, 0, ?)`),
    listUsers: p<UserRow>(`SELECT * FROM users WHERE id != 'local' ORDER BY created_at, name`),
    hasUsers: p<number>(`SELECT EXISTS (SELECT 1 FROM users WHERE id != 'local')`).pluck(),
    setDisabled: p(`UPDATE users SET disabled = ? WHERE id = ?`),
    setPlan: p(`UPDATE users SET plan = ? WHERE id = ?`),
    setHash: p('UPDATE users SET pw_hash = ? WHERE id = ?'),
    rehash: p('UPDATE users SET pw_hash = ? WHERE id = ? AND pw_hash = ?'),
    insertSession: p('INSERT INTO sessions (id_hash, user_id, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?)'),
    session: p<SessionRow>(
      'SELECT s.id_hash, s.user_id, s.last_seen, s.expires_at, u.name, u.plan, u.disabled ' +
        'FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?',
    ),
    touchSession: p('UPDATE sessions SET last_seen = ? WHERE id_hash = ?'),
    deleteSession: p('DELETE FROM sessions WHERE id_hash = ?'),
    deleteUserSessions: p('DELETE FROM sessions WHERE user_id = ?'),
    purgeSessions: p('DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?'),
    listConvs: p<SummaryRow>(
      `SELECT id, title, model, updated_at FROM conversations WHERE user_id = ? ORDER BY updated_at DESC, id DESC LIMIT ${LIST_LIMIT}`,
    ),
    listConvsBefore: p<SummaryRow>(
      'SELECT id, title, model, updated_at FROM conversations WHERE user_id = ? AND (updated_at < ? OR (updated_at = ? AND id < ?)) ' +
        `ORDER BY updated_at DESC, id DESC LIMIT ${LIST_LIMIT}`,
    ),
    conv: p<ConvRow>('SELECT * FROM conversations WHERE id = ? AND user_id = ?'),
    convById: p<ConvRow>('SELECT * FROM conversations WHERE id = ?'),
    insertConv: p(
      'INSERT INTO conversations (id, user_id, title, model, system_prompt, current_leaf_id, created_at, updated_at) ' +
        'VALUES (?, ?, ?, ?, ?, NULL, ?, ?)',
    ),
    saveConv: p('UPDATE conversations SET title = ?, model = ?, system_prompt = ?, current_leaf_id = ?, updated_at = ? WHERE id = ?'),
    setLeaf: p('UPDATE conversations SET current_leaf_id = ? WHERE id = ?'),
    touchConv: p('UPDATE conversations SET updated_at = ? WHERE id = ?'),
    deleteConv: p('DELETE FROM conversations WHERE id = ? AND user_id = ?'),
    searchFts: p<HitRow>(
      `${HIT_SELECT} FROM messages_fts f CROSS JOIN messages m ON m.seq = f.rowid CROSS JOIN conversations c ON c.id = m.conversation_id ` +
        `WHERE messages_fts MATCH ? AND c.user_id = ? ORDER BY c.updated_at DESC, m.created_at, m.seq LIMIT ${SEARCH_ROWS}`,
    ),
    searchLike: p<HitRow>(
      `${HIT_SELECT} FROM conversations c JOIN messages m ON m.conversation_id = c.id ` +
        `WHERE c.user_id = ? AND m.content LIKE ? ESCAPE '\\' ORDER BY c.updated_at DESC, m.created_at, m.seq LIMIT ${SEARCH_ROWS}`,
    ),
    searchTitles: p<SummaryRow>(
      `SELECT id, title, model, updated_at FROM conversations WHERE user_id = ? AND title LIKE ? ESCAPE '\\' ` +
        `ORDER BY updated_at DESC LIMIT ${SEARCH_ROWS}`,
    ),
    message: p<MsgRow>(`${MSG_SELECT} WHERE m.id = ?`),
    messagesOf: p<MsgRow>(`${MSG_SELECT} WHERE m.conversation_id = ? ORDER BY m.created_at, m.seq`),
    parentRole: p<string>('SELECT role FROM messages WHERE id = ? AND conversation_id = ?').pluck(),
    newestChild: p<string>(
      'SELECT id FROM messages WHERE conversation_id = ? AND parent_id = ? ORDER BY created_at DESC, seq DESC LIMIT 1',
    ).pluck(),
    insertMsg: p(
      'INSERT INTO messages (id, conversation_id, parent_id, role, content, model, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    finishMsg: p(
      'UPDATE messages SET content = ?, status = ?, model = coalesce(?, model), prompt_tokens = ?, completion_tokens = ?, ttft_ms = ?, ' +
        'gen_ms = ?, error = ? WHERE id = ?',
    ),
    subtree: p<string>(
      'WITH RECURSIVE sub (id) AS (SELECT ? UNION ALL ' +
        'SELECT m.id FROM messages m JOIN sub ON m.conversation_id = ? AND m.parent_id = sub.id) SELECT id FROM sub',
    ).pluck(),
    deleteMsgs: p('DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))'),
    path: p<MsgRow>(
      'WITH RECURSIVE path (id, depth) AS (SELECT id, 0 FROM messages WHERE id = ? AND conversation_id = ? ' +
        'UNION ALL SELECT m.parent_id, path.depth + 1 FROM path JOIN messages m ON m.id = path.id WHERE m.parent_id IS NOT NULL) ' +
        `${MSG_SELECT} JOIN path ON path.id = m.id ORDER BY path.depth DESC`,
    ),
    insertAttachment: p('INSERT INTO attachments (id, message_id, idx, mime, data, sha256, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    messageImages: p<StoredImage>('SELECT mime, data FROM attachments WHERE message_id = ? ORDER BY idx'),
    attachment: p<StoredImage>(
      'SELECT a.mime, a.data FROM attachments a JOIN messages m ON m.id = a.message_id JOIN conversations c ON c.id = m.conversation_id ' +
        'WHERE a.id = ? AND c.user_id = ?',
    ),
  };
}
