// POST /v1/chat/completions through the generation pipeline (generation.ts): what is particular to
// chat is its validation, capability checks and images (prepare), and shaping the engine's events
// into an OpenAI chat.completion or chat.completion.chunk events over SSE (respond).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EngineEvent, EngineMessage, EnginePart, TokenLogprobInfo } from '../../engine/index.ts';
import { clientOf, checkContext, resolveModel, type GatewayOptions, type RequestState, type Served } from './context.ts';
import { ApiError, invalid } from './errors.ts';
import {
  serveGeneration,
  type GenerationContext,
  type GenerationHooks,
  type GenerationSource,
  type PrepareGeneration,
} from './generation.ts';
import { sendEvent, sendJson, startEventStream, type BodyLimits } from './wire.ts';
import { loadImage, parseDataUrl, type ImageLimits } from './images.ts';
import { validateChat, type InputMessage, type InputPart } from './validate.ts';
import { checkImageInput, type Principal } from '../governance/index.ts';

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
  return Promise.all(
    messages.map(async (m): Promise<EngineMessage> => {
      const base = m.name === undefined ? {} : { name: m.name };
      if (typeof m.content === 'string') return { role: m.role, content: m.content, ...base };
      const parts = await Promise.all(
        m.content.map(async (p): Promise<EnginePart> => {
          if (p.type === 'text') return p;
          const img = loaded.get(p) ?? (await loadImage(p.url, p.param, limits, signal));
          return { type: 'image', data: img.data, mime: img.mime, ...(p.detail ? { detail: p.detail } : {}) };
        }),
      );
      return { role: m.role, content: parts, ...base };
    }),
  );
}

/**
 * Pulls the first event before any byte is written, so errors an engine raises up front (context, capability) still get
 * their HTTP status.
 */
async function firstEvent(
  events: AsyncIterable<EngineEvent>,
): Promise<{ it: AsyncIterator<EngineEvent>; first: IteratorResult<EngineEvent> }> {
  const it = events[Symbol.asyncIterator]();
  return { it, first: await it.next() };
}

export function chatCompletions(
  o: GatewayOptions,
  body: BodyLimits,
  images: ImageLimits,
  req: IncomingMessage,
  res: ServerResponse,
  st: RequestState,
  source?: GenerationSource,
  hooks?: GenerationHooks,
): Promise<void> {
  return serveGeneration(o, body, req, res, st, 'chatcmpl', prepareChat(o, images, req), source, hooks);
}

function prepareChat(o: GatewayOptions, images: ImageLimits, req: IncomingMessage): PrepareGeneration {
  return async (principal: Principal, json: unknown, signal: AbortSignal) => {
    const input = validateChat(json);
    const served: Served = resolveModel(o, principal, input.model);
    const { snapshot, engine } = served;
    const p = input.params;
    const loaded = decodeDataUrls(input.messages, images);
    if (input.imageCount > 0) {
      if (!snapshot.imageInput || !engine.capabilities.imageInput) {
        throw new ApiError(
          400,
          `The model ${input.model} does not accept image input; send text only, or use a model whose /v1/models entry has ` +
            `image_input: true.`,
          'invalid_request_error',
          'messages',
          'image_input_not_supported',
        );
      }
      checkImageInput(principal.plan, true);
    }
    if (p.responseFormat.type !== 'text' && !engine.capabilities.jsonSchema) {
      throw invalid(
        'response_format',
        `The model ${input.model} cannot guarantee JSON output, so response_format ${p.responseFormat.type} is refused; omit ` +
          `response_format or pick another model.`,
        'unsupported_capability',
      );
    }
    if (p.topLogprobs !== null && !engine.capabilities.logprobs)
      throw invalid('logprobs', `The model ${input.model} does not report logprobs; omit logprobs.`, 'unsupported_capability');
    const messages = await loadImages(input.messages, loaded, images, signal);
    const promptTokens = await engine.countChatTokens(messages);
    const maxTokens = checkContext(served.window, promptTokens, p.maxTokens);
    return {
      served,
      promptTokens,
      reserve: promptTokens + maxTokens * p.n,
      stream: input.stream,
      respond: (ctx) =>
        respond(
          ctx,
          served,
          input.stream,
          input.includeUsage,
          p.n,
          p.topLogprobs !== null,
          engine.chat({ ...p, maxTokens, messages, client: clientOf(principal, req) }, ctx.signal),
          promptTokens,
        ),
    };
  };
}

async function respond(
  ctx: GenerationContext,
  served: Served,
  stream: boolean,
  includeUsage: boolean,
  n: number,
  wantLogprobs: boolean,
  events: AsyncIterable<EngineEvent>,
  promptTokens: number,
): Promise<void> {
  const { res, meter } = ctx;
  const head = { id: ctx.id, created: Math.floor(Date.now() / 1000), model: served.snapshot.id, system_fingerprint: served.fingerprint };
  meter.begin(promptTokens);
  const { it, first } = await firstEvent(events);
  if (!stream) {
    const choices = Array.from({ length: n }, (_, index) => ({
      index,
      text: '',
      logprobs: [] as LogprobContent[],
      finish: null as string | null,
    }));
    try {
      for (let r = first; !r.done; r = await it.next()) {
        const e = meter.see(r.value);
        if (e.type === 'text') {
          choices[e.index].text += e.text;
          if (e.logprobs) choices[e.index].logprobs.push(...e.logprobs.map(toContent));
        } else if (e.type === 'done') choices[e.index].finish = e.finishReason;
      }
    } catch (e) {
      meter.undelivered();
      throw e;
    }
    if (ctx.signal.aborted) return;
    const used = await ctx.settle();
    sendJson(
      res,
      200,
      {
        ...head,
        object: 'chat.completion',
        choices: choices.map((c) => ({
          index: c.index,
          message: { role: 'assistant', content: c.text, refusal: null },
          logprobs: wantLogprobs ? { content: c.logprobs, refusal: null } : null,
          finish_reason: c.finish ?? 'stop',
        })),
        usage: { prompt_tokens: used.prompt, completion_tokens: used.completion, total_tokens: used.prompt + used.completion },
        service_tier: 'default',
      },
      ctx.headers,
    );
    return;
  }
  startEventStream(res, ctx.headers);
  const chunk = (choices: unknown[]) => ({ ...head, object: 'chat.completion.chunk', choices, ...(includeUsage ? { usage: null } : {}) });
  for (let i = 0; i < n; i++)
    sendEvent(res, chunk([{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
  for (let r = first; !r.done; r = await it.next()) {
    const e = meter.see(r.value);
    if (e.type === 'text') {
      if (!e.text && !e.logprobs?.length) continue;
      sendEvent(
        res,
        chunk([
          {
            index: e.index,
            delta: { content: e.text },
            logprobs: wantLogprobs ? { content: (e.logprobs ?? []).map(toContent), refusal: null } : null,
            finish_reason: null,
          },
        ]),
      );
    } else if (e.type === 'done') {
      sendEvent(res, chunk([{ index: e.index, delta: {}, logprobs: null, finish_reason: e.finishReason }]));
    }
  }
  if (ctx.signal.aborted) return;
  const used = await ctx.settle();
  if (includeUsage) {
    sendEvent(res, {
      ...head,
      object: 'chat.completion.chunk',
      choices: [],
      usage: { prompt_tokens: used.prompt, completion_tokens: used.completion, total_tokens: used.prompt + used.completion },
    });
  }
  sendEvent(res, '[DONE]');
  res.end();
}
