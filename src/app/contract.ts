// The chat app's HTTP contract: what the page in web/ and the routes in src/app exchange. Types
// only (the page imports them with `import type`, so nothing here reaches the bundle).
//
// Routes (all JSON unless said; errors are the OpenAI envelope {error: {message, type, param, code}}):
//   GET    /                                      the page (web/dist/index.html); /app/assets/* its files
//   GET    /app/api/session                       SessionInfo (never 401: says whether sign-in is needed)
//   POST   /app/api/login        LoginRequest  -> SessionInfo, sets the session cookie; 401 on a wrong name/password
//   POST   /app/api/logout                     -> 204, clears the cookie
//   GET    /app/api/usage                      -> UsageInfo
//   GET    /app/api/models                     -> ModelList (what the user's plan may call)
//   GET    /app/api/conversations?q=TEXT       -> ConversationList (newest first; q searches titles and messages;
//          without q, pages of 200: ?before=NEXT continues from a page's `next`)
//   POST   /app/api/conversations  NewConversation -> Conversation
//   GET    /app/api/conversations/:id          -> ConversationDetail (404 when it is not the user's)
//   PATCH  /app/api/conversations/:id  ConversationPatch -> Conversation
//   DELETE /app/api/conversations/:id          -> 204
//   POST   /app/api/conversations/:id/messages SendRequest -> an OpenAI chat.completion.chunk SSE stream
//          (the same events /v1/chat/completions streams, usage included), with response headers
//          x-tetra-conversation-id, x-tetra-user-message-id and x-tetra-assistant-message-id. The id
//          `new` starts a conversation (SendRequest.conversation) in the same request. Closing the request stops
//          generation on the server; the partial answer is stored with status 'stopped'.
//          A refusal before streaming (429 usage cap, 400 context) is an error envelope; nothing is stored.
//   GET    /app/api/conversations/:id/export?format=md|json -> a download (Content-Disposition: attachment)
//   GET    /app/api/attachments/:id            -> the image bytes a message carried (owner only)
// Writes (POST/PATCH/DELETE) must be same-origin (Sec-Fetch-Site same-origin, or an Origin equal to
// the Host) and, with a body, Content-Type application/json; otherwise 403 code 'csrf'.

export interface AppUser {
  id: string;
  name: string;
  plan: string;
}

export interface SessionInfo {
  /** 'none': loopback with no users configured (no sign-in); 'password': users sign in. */
  auth: 'none' | 'password';
  /** null when sign-in is needed and nobody is signed in. */
  user: AppUser | null;
}

export interface LoginRequest {
  name: string;
  password: string;
}

export interface UsageInfo {
  plan: { name: string; rpm: number; tpm: number; usageCap: { messages: number; windowHours: number } | null };
  /** null when the plan has no message cap. */
  cap: {
    limit: number;
    used: number;
    remaining: number;
    /** When the oldest message in the window leaves it (ISO 8601), null when none is in the window. */
    resetsAt: string | null;
  } | null;
}

export interface ModelInfo {
  id: string;
  /** The snapshot an alias points to (the id itself for a snapshot). */
  snapshot: string;
  alias: boolean;
  context_window: number | null;
  image_input: boolean;
  /** The snapshot's report card (GET), when it has one. */
  report: string | null;
}

export interface ModelList {
  data: ModelInfo[];
  /** The model a new conversation uses unless the user picks another. */
  default: string | null;
}

export interface ConversationSummary {
  id: string;
  title: string;
  model: string | null;
  updatedAt: string;
  /** With ?q=: a short piece of text around the first match (plain text, not HTML). */
  snippet?: string;
  /** With ?q=: the message the match is in, so the page can open that branch. */
  matchMessageId?: string;
}

export interface ConversationList {
  data: ConversationSummary[];
  /** Without q: the cursor of the next (older) page, null at the end. */
  next: string | null;
}

export interface Conversation {
  id: string;
  title: string;
  model: string | null;
  /** The conversation's system message ("custom instructions"); '' for none. */
  system: string;
  /** The last message of the branch on show; null for an empty conversation. */
  currentLeafId: string | null;
  createdAt: string;
  updatedAt: string;
}

export type MessageStatus = 'done' | 'stopped' | 'error' | 'streaming';

export interface AppMessage {
  id: string;
  /** null for the first message; siblings (edits, regenerations) share a parent. */
  parentId: string | null;
  role: 'user' | 'assistant';
  content: string;
  /** Attachment ids of the images this message carried (GET /app/api/attachments/:id). */
  images: string[];
  /** The snapshot that answered (assistant messages). */
  model: string | null;
  status: MessageStatus;
  promptTokens: number | null;
  completionTokens: number | null;
  /** Server-side, ms from the request's arrival: to the first token, and to the end of the answer (genMs includes ttftMs). */
  ttftMs: number | null;
  genMs: number | null;
  /** Why an answer failed (status 'error'). */
  error: string | null;
  createdAt: string;
}

export interface ConversationDetail {
  conversation: Conversation;
  /** Every message of every branch, oldest first; the branch on show runs from currentLeafId up parentId. */
  messages: AppMessage[];
}

export interface NewConversation {
  title?: string;
  model?: string;
  system?: string;
}

export interface ConversationPatch {
  title?: string;
  model?: string;
  system?: string;
  /** Switch branches: any message of this conversation; the server follows it down to the newest leaf. */
  currentLeafId?: string;
}

/**
 * An image sent with a message: a new one as a data URL (data:image/png;base64,...), or one of the
 * user's stored attachments by id (an edit keeps its images without uploading them again).
 */
export type SendImage = { dataUrl: string } | { attachmentId: string };

export interface SendRequest {
  /**
   * New message: its parent (the last message of the branch, or null to start). Editing a user
   * message sends the edited text with that message's parent, making a sibling branch.
   */
  parentId: string | null;
  content: string;
  images?: SendImage[];
  /** Regenerate: answer the user message `parentId` again (content and images are ignored). */
  regenerate?: boolean;
  /** With the conversation id `new`: the conversation to start (one request instead of two). */
  conversation?: NewConversation;
  /** Overrides the conversation's model for this answer (and becomes the conversation's model). */
  model?: string;
  /** Sampling: defaults are the API's (temperature 1). */
  temperature?: number;
  maxTokens?: number;
}
