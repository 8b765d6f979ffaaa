// Public surface of src/app, the chat app the server mounts at `/`: its HTTP contract (types), the
// store (users, sessions, conversations, messages), password hashing and conversation export.
export type * from './contract.ts';
export {
  AppStore,
  AppStoreError,
  DEFAULT_TITLE,
  LOCAL_USER_ID,
  MAX_CONTENT_CHARS,
  MAX_IMAGE_BYTES,
  MAX_IMAGES,
  MAX_MODEL_CHARS,
  MAX_SYSTEM_CHARS,
  MAX_TITLE_CHARS,
  SESSION_IDLE_MS,
  SESSION_MAX_MS,
  type AppStoreOptions,
  type FinishedMessage,
  type NewMessage,
  type StoredImage,
  type UserRecord,
} from './store.ts';
export {
  checkPassword,
  hashPassword,
  MAX_PASSWORD_CHARS,
  MIN_PASSWORD_CHARS,
  needsRehash,
  scryptParams,
  verifyPassword,
} from './passwords.ts';
export { branchCount, branchPath, conversationJson, conversationMarkdown, exportFileName, type ConversationExport } from './export.ts';
export { mountChatApp, type ChatApp, type ChatAppOptions } from './server.ts';
