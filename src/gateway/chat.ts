// POST /v1/chat/completions: validate, resolve the model, check capabilities and the plan, load
// images, count the prompt and check the context window, admit, then run the engine and shape
// its events into an OpenAI chat.completion (or chat.completion.chunk events over SSE).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EngineEvent, EngineMessage, EnginePart, TokenLogprobInfo } from '../engine/types.ts';
import { account, authenticate, clientOf, checkContext, newId, resolveModel, type GatewayOptions, type RequestState, type Served } from './context.ts';
import { ApiError, invalid } from './errors.ts';
import { parseJson, readBody, sendEvent, sendJson, startEventStream, type BodyLimits } from './http.ts';
import { loadImage, parseDataUrl, type ImageLimits } from './images.ts';
import { validateChat, type InputMessage, type InputPart } from './validate.ts';
import { checkImageInput } from './plans.ts';

export interface LogprobContent {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

const toContent = (l: TokenLogprobInfo): LogprobContent => ({ token: l.token, logprob: l.logprob, bytes: l.bytes, top_logprobs: l.top });

type Loaded = Map<InputPart, { data: Uint8Array; mime: string }>;

/** Data URLs are decoded and header-checked up front (cheap, local), so bad or oversized images get their 400/413 whatever the model. */
function decodeDataUrls(messages: InputMessage[], limits: ImageLimits): Loaded {
  const out: Loaded = new Map();
  for (const m of messages) {
    if (typeof m.content === 'string') continue;
    for (const p of m.content) if (p.type === 'image_url' && p.url.startsWith('data:')) out.set(p, parseDataUrl(p.url, p.param, limits));
  }
  return out;
}

async function loadImages(messages: InputMessage[], loaded: Loaded, limits: ImageLimits, signal: AbortSignal): Promise<EngineMessage[]> {
  return Promise.all(messages.map(async (m): Promise<EngineMessage> => {
    const base = m.name === undefined ? {} : { name: m.name };
    if (typeof m.content === 'string') return { role: m.role, content: m.content, ...base };
    const parts = await Promise.all(m.content.map(async (p): Promise<EnginePart> => {
      if (p.type === 'text') return p;
      const img = loaded.get(p) ?? await loadImage(p.url, p.param, limits, signal);
      return { type: 'image', data: img.data, mime: img.mime, ...(p.detail ? { detail: p.detail } : {}) };
    }));
    return { role: m.role, content: parts, ...base };
  }));
}

/** Pulls the first event before any byte is written, so errors an engine raises up front (context, capability) still get their HTTP status. */
async function firstEvent(events: AsyncIterable<EngineEvent>): Promise<{ it: AsyncIterator<EngineEvent>; first: IteratorResult<EngineEvent> }> {
  const it = events[Symbol.asyncIterator]();
  return { it, first: await it.next() };
}

export async function chatCompletions(o: GatewayOptions, body: BodyLimits, images: ImageLimits, req: IncomingMessage, res: ServerResponse, st: RequestState): Promise<void> {
  const principal = await authenticate(o, req);
  const input = validateChat(parseJson(await readBody(req, body), body.maxDepth));
  const served: Served = resolveModel(o, principal, input.model);
  const { snapshot, engine } = served;
  st.model = snapshot.id;
  const p = input.params;
  const loaded = decodeDataUrls(input.messages, images);
  if (input.imageCount > 0) {
    if (!snapshot.imageInput || !engine.capabilities.imageInput) {
      throw new ApiError(400, `The model ${input.model} does not accept image input; send text only, or use a model whose /v1/models entry has image_input: true.`, 'invalid_request_error', 'messages', 'image_input_not_supported');
    }
    checkImageInput(principal.plan, true);
  }
  if (p.responseFormat.type !== 'text' && !engine.capabilities.jsonSchema) {
    throw invalid('response_format', `The model ${input.model} cannot guarantee JSON output, so response_format ${p.responseFormat.type} is refused; omit response_format or pick another model.`, 'unsupported_capability');
  }
  if (p.topLogprobs !== null && !engine.capabilities.logprobs) throw invalid('logprobs', `The model ${input.model} does not report logprobs; omit logprobs.`, 'unsupported_capability');

  const abort = new AbortController();
  res.on('close', () => { if (!res.writableFinished) abort.abort(); });
  const messages = await loadImages(input.messages, loaded, images, abort.signal);
  st.promptTokens = await engine.countChatTokens(messages);
  const maxTokens = checkContext(served.window, st.promptTokens, p.maxTokens);
  const admission = await o.limits.admit(principal, st.promptTokens + maxTokens * p.n);
  const headers = { ...admission.headers } as Record<string, string>;

  const id = newId('chatcmpl'), created = Math.floor(Date.now() / 1000);
  st.id = id; // the ledger row's request id is the completion id the client sees
  const head = { id, created, model: snapshot.id, system_fingerprint: served.fingerprint };
  const wantLogprobs = p.topLogprobs !== null;
  let status = 200;
  try {
    const { it, first } = await firstEvent(engine.chat({ ...p, maxTokens, messages, client: clientOf(principal, req) }, abort.signal));
    if (!input.stream) {
      const choices = Array.from({ length: p.n }, (_, index) => ({ index, text: '', logprobs: [] as LogprobContent[], finish: null as string | null }));
      for (let r = first; !r.done; r = await it.next()) {
        const e = r.value;
        if (e.type === 'text') { choices[e.index].text += e.text; if (e.logprobs) choices[e.index].logprobs.push(...e.logprobs.map(toContent)); }
        else if (e.type === 'done') choices[e.index].finish = e.finishReason;
        else { st.promptTokens = e.promptTokens; st.completionTokens = e.completionTokens; }
      }
      if (abort.signal.aborted) { status = 499; return; }
      await account(o, st, served, admission, 200);
      sendJson(res, 200, {
        ...head, object: 'chat.completion',
        choices: choices.map((c) => ({
          index: c.index, message: { role: 'assistant', content: c.text, refusal: null },
          logprobs: wantLogprobs ? { content: c.logprobs, refusal: null } : null, finish_reason: c.finish ?? 'stop',
        })),
        usage: { prompt_tokens: st.promptTokens, completion_tokens: st.completionTokens, total_tokens: st.promptTokens + st.completionTokens },
        service_tier: 'default',
      }, headers);
      return;
    }
    startEventStream(res, headers);
    const chunk = (choices: unknown[]) => ({ ...head, object: 'chat.completion.chunk', choices, ...(input.includeUsage ? { usage: null } : {}) });
    for (let i = 0; i < p.n; i++) sendEvent(res, chunk([{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
    for (let r = first; !r.done; r = await it.next()) {
      const e = r.value;
      if (e.type === 'text') {
        if (!e.text && !e.logprobs?.length) continue;
        sendEvent(res, chunk([{ index: e.index, delta: { content: e.text }, logprobs: wantLogprobs ? { content: (e.logprobs ?? []).map(toContent), refusal: null } : null, finish_reason: null }]));
      } else if (e.type === 'done') {
        sendEvent(res, chunk([{ index: e.index, delta: {}, logprobs: null, finish_reason: e.finishReason }]));
      } else { st.promptTokens = e.promptTokens; st.completionTokens = e.completionTokens; }
    }
    if (abort.signal.aborted) { status = 499; return; }
    await account(o, st, served, admission, 200);
    if (input.includeUsage) {
      sendEvent(res, { ...head, object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: st.promptTokens, completion_tokens: st.completionTokens, total_tokens: st.promptTokens + st.completionTokens } });
    }
    sendEvent(res, '[DONE]');
    res.end();
  } catch (e) {
    status = e instanceof ApiError ? e.status : 500;
    throw e;
  } finally {
    if (status !== 200) await account(o, st, served, admission, status);
  }
}
