// The chat app's JSON routes under /app/api (contract.ts lists them). Conversations live in SQLite
// (store.ts), per user. Sending a message stores it, builds the branch on show into a chat request
// and runs it through the gateway's own generation pipeline (gateway.chat), so the plan's limits,
// its message cap, the ledger and the metrics apply exactly as on /v1/chat/completions; the answer
// streams back as the API's SSE events while it is kept, and a closed request (Stop) aborts the
// engine and keeps the partial answer as 'stopped'.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ApiError,
  parseDataUrl,
  parseJson,
  readBody,
  sendJson,
  toApiError,
  type BodyLimits,
  type Gateway,
  type ImageLimits,
  type Limits,
  type ModelObject,
  type RequestState,
} from '../gateway/index.ts';
import { checkSameOrigin, clearedCookie, sessionCookie, type Access, type Caller, type LoginThrottle } from './access.ts';
import type {
  AppMessage,
  ConversationList,
  ConversationPatch,
  LoginRequest,
  ModelList,
  NewConversation,
  SendRequest,
  SessionInfo,
  UsageInfo,
} from './contract.ts';
import { conversationJson, conversationMarkdown, exportFileName } from './export.ts';
import { LIST_LIMIT as LIST_PAGE } from './schema.ts';
import type { AppStore } from './store.ts';

export interface ApiDeps {
  gateway: Gateway;
  /** The gateway's limits: read for the usage meter (admission happens inside gateway.chat). */
  limits: Limits;
  store: AppStore;
  access: Access;
  throttle: LoginThrottle;
  body: BodyLimits;
  images: ImageLimits;
  now: () => number;
  /** Report cards by snapshot id. */
  reports: Record<string, string>;
}

const MAX_CONTENT = 100_000;
/** How often a streaming answer's text is saved while it grows. */
const CHECKPOINT_MS = 2_000;
const MAX_IMAGES = 8;

function invalid(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, 'invalid_value');
}

export function notFound(what: string): ApiError {
  return new ApiError(404, `No ${what} with that id.`, 'invalid_request_error', null, 'not_found');
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('body', `The body of ${what} must be a JSON object.`);
  return v as Record<string, unknown>;
}

function optString(o: Record<string, unknown>, k: string, max: number): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(k, `${k} must be a string, got ${typeof v}.`);
  if (v.length > max) throw invalid(k, `${k} is ${v.length} characters; the limit is ${max}.`);
  return v;
}

async function readJson(d: ApiDeps, req: IncomingMessage): Promise<unknown> {
  return parseJson(await readBody(req, d.body), d.body.maxDepth);
}

export function sessionInfo(d: ApiDeps, req: IncomingMessage): SessionInfo {
  const c = d.access.caller(req);
  return { auth: d.access.mode(), user: c ? c.user : null };
}

export async function login(d: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  checkSameOrigin(req, true);
  const o = object(await readJson(d, req), 'a sign-in') as Partial<LoginRequest>;
  const name = optString(o as Record<string, unknown>, 'name', 64) ?? '';
  const password = optString(o as Record<string, unknown>, 'password', 1024) ?? '';
  const subjects = [`name:${name.toLowerCase()}`, `addr:${req.socket.remoteAddress ?? ''}`];
  const wait = d.throttle.waitMs(subjects);
  if (wait > 0) {
    throw new ApiError(
      429,
      `Too many failed sign-ins; try again in ${Math.ceil(wait / 60_000)} minutes.`,
      'invalid_request_error',
      null,
      'too_many_sign_ins',
      { 'retry-after': String(Math.ceil(wait / 1000)) },
    );
  }
  const user = name && password ? await d.store.verifyLogin(name, password) : null;
  if (!user) {
    d.throttle.fail(subjects);
    throw new ApiError(401, 'Wrong name or password.', 'invalid_request_error', null, 'invalid_credentials');
  }
  d.throttle.succeed(subjects);
  const token = d.store.createSession(user.id);
  sendJson(res, 200, { auth: 'password', user } satisfies SessionInfo, { 'set-cookie': sessionCookie(req, token) });
}

export function logout(d: ApiDeps, req: IncomingMessage, res: ServerResponse, token: string | null): void {
  checkSameOrigin(req, false);
  if (token) d.store.deleteSession(token);
  res.writeHead(204, { 'set-cookie': clearedCookie(req) });
  res.end();
}

export async function usage(d: ApiDeps, c: Caller): Promise<UsageInfo> {
  const p = c.principal.plan;
  const cap = p.usageCap;
  const u = cap ? ((await d.limits.capUsage?.(c.principal)) ?? { used: 0, oldestMs: null }) : null;
  return {
    plan: { name: p.name, rpm: p.rpm, tpm: p.tpm, usageCap: cap ?? null },
    cap:
      cap && u
        ? {
            limit: cap.messages,
            used: u.used,
            remaining: Math.max(0, cap.messages - u.used),
            resetsAt: u.oldestMs === null ? null : new Date(u.oldestMs + cap.windowHours * 3_600_000).toISOString(),
          }
        : null,
  };
}

export function models(d: ApiDeps, c: Caller): ModelList {
  const m = d.gateway.models(c.principal.plan);
  return {
    data: m.data.map((x) => ({
      id: x.id,
      snapshot: x.snapshot,
      alias: x.alias,
      context_window: x.context_window,
      image_input: x.image_input,
      report: d.reports[x.snapshot] ? `/app/report/${encodeURIComponent(x.snapshot)}` : null,
    })),
    default: m.default,
  };
}

/** A page of the conversation list; the cursor is the last row's `updatedAt|id` (base64url). */
export function listConversations(d: ApiDeps, c: Caller, q: string | undefined, before: string | null): ConversationList {
  let after: { updatedAt: string; id: string } | undefined;
  if (before) {
    const [updatedAt, id] = Buffer.from(before, 'base64url').toString('utf8').split('|');
    if (!updatedAt || !id) throw invalid('before', 'before must be the `next` cursor of a previous page.');
    after = { updatedAt, id };
  }
  const data = d.store.listConversations(c.user.id, q, after);
  const last = data.at(-1);
  const next = !q && last && data.length >= LIST_PAGE ? Buffer.from(`${last.updatedAt}|${last.id}`).toString('base64url') : null;
  return { data, next };
}

/** The model as /v1/models lists it for the caller's plan; 400 when it is not there. */
function visibleModel(models: ModelObject[], model: string): ModelObject {
  const m = models.find((x) => x.id === model);
  if (!m) throw invalid('model', `The model ${model} does not exist or your plan may not use it (GET /app/api/models lists yours).`);
  return m;
}

function checkModelId(d: ApiDeps, c: Caller, model: string | undefined): void {
  if (model !== undefined) visibleModel(d.gateway.models(c.principal.plan).data, model);
}

function parseNewConversation(raw: unknown): NewConversation {
  const o = object(raw, 'a new conversation');
  return { title: optString(o, 'title', 200), model: optString(o, 'model', 256), system: optString(o, 'system', 32_000) };
}

export async function createConversation(d: ApiDeps, req: IncomingMessage, c: Caller) {
  checkSameOrigin(req, true);
  const body = parseNewConversation(await readJson(d, req));
  checkModelId(d, c, body.model);
  return d.store.createConversation(c.user.id, body);
}

export async function patchConversation(d: ApiDeps, req: IncomingMessage, c: Caller, id: string) {
  checkSameOrigin(req, true);
  const o = object(await readJson(d, req), 'a conversation change');
  const patch: ConversationPatch = {
    title: optString(o, 'title', 200),
    model: optString(o, 'model', 256),
    system: optString(o, 'system', 32_000),
    currentLeafId: optString(o, 'currentLeafId', 64),
  };
  if (patch.title !== undefined && !patch.title.trim()) throw invalid('title', 'title must not be empty.');
  checkModelId(d, c, patch.model);
  const conv = d.store.updateConversation(c.user.id, id, patch);
  if (!conv) throw notFound('conversation');
  return conv;
}

export function exportConversation(d: ApiDeps, res: ServerResponse, c: Caller, id: string, format: string | null): void {
  const detail = d.store.getConversation(c.user.id, id);
  if (!detail) throw notFound('conversation');
  if (format !== 'md' && format !== 'json') throw invalid('format', `format must be md or json, got ${JSON.stringify(format)}.`);
  const text = format === 'md' ? conversationMarkdown(detail) : JSON.stringify(conversationJson(detail), null, 2);
  const body = Buffer.from(text, 'utf8');
  res.writeHead(200, {
    'content-type': format === 'md' ? 'text/markdown; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': body.length,
    'content-disposition': `attachment; filename="${exportFileName(detail.conversation.title, format)}"`,
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function attachment(d: ApiDeps, res: ServerResponse, c: Caller, id: string): void {
  const a = d.store.attachment(c.user.id, id);
  if (!a) throw notFound('attachment');
  res.writeHead(200, { 'content-type': a.mime, 'content-length': a.data.length, 'cache-control': 'private, max-age=86400' });
  res.end(a.data);
}

function parseSend(
  o: Record<string, unknown>,
  limits: ImageLimits,
  attachment: (id: string) => { mime: string; data: Uint8Array } | null,
): SendRequest & { decoded: { mime: string; data: Uint8Array }[] } {
  const parentId = o.parentId;
  if (parentId !== null && typeof parentId !== 'string') throw invalid('parentId', 'parentId must be a message id or null.');
  const regenerate = o.regenerate === undefined ? false : o.regenerate;
  if (typeof regenerate !== 'boolean') throw invalid('regenerate', 'regenerate must be true or false.');
  const content = optString(o, 'content', MAX_CONTENT) ?? '';
  const images = o.images === undefined ? [] : o.images;
  if (!Array.isArray(images)) throw invalid('images', 'images must be an array of {dataUrl} or {attachmentId}.');
  if (images.length > MAX_IMAGES)
    throw invalid('images', `A message may carry at most ${MAX_IMAGES} images; this one has ${images.length}.`);
  const decoded = images.map((im, i) => {
    const ref = (im as { attachmentId?: unknown } | null)?.attachmentId;
    if (ref !== undefined) {
      if (typeof ref !== 'string') throw invalid(`images[${i}].attachmentId`, `images[${i}].attachmentId must be a string.`);
      const stored = attachment(ref);
      if (!stored) throw invalid(`images[${i}].attachmentId`, `images[${i}].attachmentId is not one of your images.`);
      return stored;
    }
    const url = (im as { dataUrl?: unknown } | null)?.dataUrl;
    if (typeof url !== 'string')
      throw invalid(`images[${i}].dataUrl`, `images[${i}] must be {dataUrl: a data: URL} or {attachmentId: a stored image's id}.`);
    return parseDataUrl(url, `images[${i}].dataUrl`, limits);
  });
  if (!regenerate && !content.trim() && decoded.length === 0) throw invalid('content', 'The message is empty.');
  if (regenerate && parentId === null) throw invalid('parentId', 'regenerate needs parentId: the user message to answer again.');
  const temperature = o.temperature;
  if (temperature !== undefined && (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 2)))
    throw invalid('temperature', 'temperature must be a number in [0, 2].');
  const maxTokens = o.maxTokens;
  if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 1 << 20))
    throw invalid('maxTokens', 'maxTokens must be an integer in [1, 1048576].');
  return {
    parentId,
    content,
    regenerate,
    model: optString(o, 'model', 256),
    temperature: temperature as number | undefined,
    maxTokens: maxTokens as number | undefined,
    decoded,
  };
}

/**
 * The branch as OpenAI chat messages: system first, images as data URLs, empty answers left out.
 * For a model without image input, images earlier in the branch become a note in the text (the
 * conversation may have switched models); the message being sent keeps its images, so a text-only
 * model refuses those with its own error.
 */
function chatMessages(store: AppStore, system: string, path: AppMessage[], images: boolean): unknown[] {
  const out: unknown[] = system ? [{ role: 'system', content: system }] : [];
  for (const m of path) {
    if (m.role === 'assistant') {
      if (m.content) out.push({ role: 'assistant', content: m.content });
      continue;
    }
    if (!m.images.length) {
      out.push({ role: 'user', content: m.content });
      continue;
    }
    if (!images && m !== path.at(-1)) {
      const note = `[${m.images.length} image${m.images.length > 1 ? 's' : ''} not shown to this model]`;
      out.push({ role: 'user', content: m.content ? `${note}\n${m.content}` : note });
      continue;
    }
    // Images first, then the text: the order the page shows them in (the builtin engine puts a
    // message's images first for its vision models anyway; an upstream model gets what the user saw).
    const parts: unknown[] = store
      .messageImages(m.id)
      .map((im) => ({ type: 'image_url', image_url: { url: `data:${im.mime};base64,${Buffer.from(im.data).toString('base64')}` } }));
    if (m.content) parts.push({ type: 'text', text: m.content });
    out.push({ role: 'user', content: parts });
  }
  return out;
}

/** POST /app/api/conversations/:id/messages: see the header. */
export async function send(
  d: ApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  st: RequestState,
  c: Caller,
  conversationId: string,
): Promise<void> {
  checkSameOrigin(req, true);
  const raw = object(await readJson(d, req), 'a message');
  const input = parseSend(raw, d.images, (id) => d.store.attachment(c.user.id, id));
  // `new`: the conversation starts in this request (and is kept only if the answer starts).
  const start = conversationId === 'new' ? parseNewConversation(raw.conversation === undefined ? {} : raw.conversation) : null;
  const existing = start ? null : d.store.getConversation(c.user.id, conversationId);
  if (!start && !existing) throw notFound('conversation');
  const models = d.gateway.models(c.principal.plan);
  const model = input.model ?? (start ? start.model : existing!.conversation.model) ?? models.default;
  if (!model) throw invalid('model', 'Your plan may not use any model on this server.');
  const takesImages = visibleModel(models.data, model).image_input;
  if (start && input.parentId !== null) throw invalid('parentId', 'A new conversation starts with parentId null.');
  // The chat (when new), the user message and the answer's placeholder are stored in one
  // transaction: one commit (an fsync) before generation instead of three, and all or none of them.
  const { conv, userMessage, answer } = d.store.db.transaction(() => {
    const fresh = start ? d.store.createConversation(c.user.id, { ...start, model }) : null;
    const detail = fresh ? { conversation: fresh, messages: [] } : existing!;
    const conv = detail.conversation;
    let userMessage: AppMessage;
    if (input.regenerate) {
      const m = detail.messages.find((x) => x.id === input.parentId);
      if (m?.role !== 'user') throw invalid('parentId', 'regenerate answers a user message of this conversation; parentId is not one.');
      userMessage = m;
    } else {
      if (input.parentId !== null) {
        const p = detail.messages.find((x) => x.id === input.parentId);
        if (p?.role !== 'assistant') throw invalid('parentId', 'parentId must be null or an answer in this conversation.');
      }
      userMessage = d.store.addMessage(c.user.id, conv.id, {
        parentId: input.parentId,
        role: 'user',
        content: input.content,
        images: input.decoded,
      });
    }
    const answer = d.store.addMessage(c.user.id, conv.id, {
      parentId: userMessage.id,
      role: 'assistant',
      content: '',
      model,
      status: 'streaming',
    });
    return { conv, userMessage, answer };
  })();
  res.setHeader('x-tetra-conversation-id', conv.id);
  res.setHeader('x-tetra-user-message-id', userMessage.id);
  res.setHeader('x-tetra-assistant-message-id', answer.id);

  // Oldest turns go first when the branch no longer fits the model's window (the system message stays).
  let history = chatMessages(d.store, conv.system, d.store.pathTo(conv.id, userMessage.id), takesImages);
  const started = d.now();
  let savedAt = started;
  let text = '';
  let ended = false;
  for (;;) {
    try {
      await d.gateway.chat(
        {
          principal: c.principal,
          body: {
            model,
            messages: history,
            stream: true,
            stream_options: { include_usage: true },
            ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
            ...(input.maxTokens !== undefined ? { max_completion_tokens: input.maxTokens } : {}),
          },
        },
        req,
        res,
        st,
        {
          onEvent: (e) => {
            if (e.type !== 'text' || e.index !== 0 || e.echo) return;
            text += e.text;
            // A checkpoint of the text so far now and then: a reload (or another tab) sees it, and a
            // server that dies mid-answer keeps it (settleInterrupted marks it at the next start).
            if (d.now() - savedAt >= CHECKPOINT_MS) {
              savedAt = d.now();
              d.store.finishMessage(answer.id, { content: text, status: 'streaming', model });
            }
          },
          onEnd: (end) => {
            ended = true;
            // The model picked for this answer becomes the chat's once it was admitted (a refusal changes nothing).
            if (model !== conv.model) d.store.updateConversation(c.user.id, conv.id, { model });
            d.store.finishMessage(answer.id, {
              content: text,
              status: end.status === 200 ? 'done' : end.status === 499 ? 'stopped' : 'error',
              model: st.model,
              promptTokens: end.prompt,
              completionTokens: end.completion,
              ttftMs: end.firstTokenMs === undefined ? null : Math.round(end.firstTokenMs),
              genMs: Math.round(d.now() - started),
              error: end.status === 200 || end.status === 499 ? null : `status ${end.status}`,
            });
          },
        },
      );
      return;
    } catch (e) {
      const err = toApiError(e);
      const system = conv.system ? 1 : 0;
      if (!ended && !res.headersSent && err.code === 'context_length_exceeded' && history.length > system + 1) {
        history = history.slice(0, system).concat(history.slice(system + 1));
        continue;
      }
      if (!res.headersSent) {
        // Refused before anything streamed (usage cap, context, model): nothing is kept; the page keeps the draft.
        d.store.db.transaction(() => {
          d.store.deleteMessage(answer.id);
          if (!input.regenerate) d.store.deleteMessage(userMessage.id);
          if (start) d.store.deleteConversation(c.user.id, conv.id);
        })();
        res.removeHeader('x-tetra-conversation-id');
        res.removeHeader('x-tetra-user-message-id');
        res.removeHeader('x-tetra-assistant-message-id');
      } else if (!ended) {
        d.store.finishMessage(answer.id, { content: text, status: 'error', error: err.message });
      }
      throw e;
    }
  }
}
