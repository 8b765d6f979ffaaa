// The HTTP client for /app/api (see src/app/contract.ts). Every call is same-origin with the
// session cookie; writes send JSON. Failures throw ApiError carrying the server's message.
import type {
  Conversation,
  ConversationDetail,
  ConversationList,
  ConversationPatch,
  LoginRequest,
  ModelList,
  NewConversation,
  SendRequest,
  SessionInfo,
  UsageInfo,
} from '../../src/app/contract.ts';

const BASE = '/app/api';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    /** Seconds from a Retry-After header, when the server sent one. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** Turns a failed response (OpenAI error envelope, or anything else) into an ApiError. */
export async function errorFrom(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`.trim();
  let code: string | null = null;
  try {
    const body = (await res.json()) as { error?: { message?: string; code?: string | null } };
    if (body.error?.message) message = body.error.message;
    code = body.error?.code ?? null;
  } catch {
    // Not JSON: keep the status line.
  }
  const retry = Number(res.headers.get('retry-after'));
  return new ApiError(res.status, message, code, Number.isFinite(retry) && retry > 0 ? retry : null);
}

function init(method: string, body?: unknown, signal?: AbortSignal): RequestInit {
  const r: RequestInit = { method, credentials: 'same-origin', signal };
  if (body !== undefined) {
    r.headers = { 'Content-Type': 'application/json' };
    r.body = JSON.stringify(body);
  }
  return r;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(BASE + path, init(method, body));
  } catch {
    throw new ApiError(0, 'Cannot reach the server. Check that tetra is running and try again.');
  }
  if (!res.ok) throw await errorFrom(res);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

const enc = encodeURIComponent;

export const api = {
  session: () => call<SessionInfo>('GET', '/session'),
  login: (body: LoginRequest) => call<SessionInfo>('POST', '/login', body),
  logout: () => call<void>('POST', '/logout'),
  usage: () => call<UsageInfo>('GET', '/usage'),
  models: () => call<ModelList>('GET', '/models'),
  conversations: (q = '', before: string | null = null) =>
    call<ConversationList>('GET', `/conversations${q ? `?q=${enc(q)}` : before ? `?before=${enc(before)}` : ''}`),
  create: (body: NewConversation) => call<Conversation>('POST', '/conversations', body),
  conversation: (id: string) => call<ConversationDetail>('GET', `/conversations/${enc(id)}`),
  patch: (id: string, body: ConversationPatch) => call<Conversation>('PATCH', `/conversations/${enc(id)}`, body),
  remove: (id: string) => call<void>('DELETE', `/conversations/${enc(id)}`),
  /** The raw response: the caller reads the SSE body (or the error envelope). */
  send: (id: string, body: SendRequest, signal: AbortSignal) =>
    fetch(`${BASE}/conversations/${enc(id)}/messages`, init('POST', body, signal)),
};

export const exportUrl = (id: string, format: 'md' | 'json') => `${BASE}/conversations/${enc(id)}/export?format=${format}`;
export const attachmentUrl = (id: string) => `${BASE}/attachments/${enc(id)}`;
