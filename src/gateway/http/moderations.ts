// POST /v1/moderations, OpenAI's schema: {input: string | string[] | text parts, model?} ->
// {id, model, results: [{flagged, categories, category_scores, category_applied_input_types}]},
// one result per input. The classifier is whatever the server was started with (tetra serve
// --moderation-model DIR: src/safety's moderation classifier); the gateway only knows this
// interface. As at OpenAI, moderation is free: authenticated, but neither limited nor billed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, newId, type GatewayOptions, type RequestState } from './context.ts';
import { ApiError, invalid, modelNotFound } from './errors.ts';
import { parseJson, readBody, sendJson, type BodyLimits } from './wire.ts';

export interface ModerationService {
  /** The model name answers carry. */
  model: string;
  moderate(text: string): object;
}

/** Names a client may ask for: OpenAI's, and the service's own. */
const ALIASES = ['omni-moderation-latest', 'omni-moderation-2024-09-26', 'text-moderation-latest', 'text-moderation-stable'];
const MAX_INPUTS = 32,
  MAX_CHARS = 32_768;

function inputs(body: unknown): string[] {
  const input = (body as { input?: unknown })?.input;
  const one = (x: unknown, where: string): string => {
    if (typeof x === 'string') return x;
    const p = x as { type?: unknown; text?: unknown };
    if (p?.type === 'text' && typeof p.text === 'string') return p.text;
    if (p?.type === 'image_url') throw invalid(where, `${where}: image inputs are not supported by this moderation model; send text`);
    throw invalid(where, `${where} must be a string or a {"type": "text", "text": ...} part`);
  };
  const list = typeof input === 'string' ? [input] : Array.isArray(input) ? input.map((x, i) => one(x, `input[${i}]`)) : null;
  if (!list) throw invalid('input', 'input is required: a string, an array of strings, or an array of text parts');
  if (list.length === 0) throw invalid('input', 'input must not be empty');
  if (list.length > MAX_INPUTS) throw invalid('input', `input has ${list.length} items; at most ${MAX_INPUTS} per request`);
  list.forEach((t, i) => {
    if (t.length > MAX_CHARS) throw invalid(`input[${i}]`, `input[${i}] has ${t.length} characters; at most ${MAX_CHARS}`);
  });
  return list;
}

export async function moderations(
  o: GatewayOptions,
  limits: BodyLimits,
  req: IncomingMessage,
  res: ServerResponse,
  st: RequestState,
): Promise<void> {
  await authenticate(o, req);
  const body = parseJson(await readBody(req, limits), limits.maxDepth);
  const svc = o.moderation;
  if (!svc)
    throw new ApiError(
      404,
      'this server has no moderation model (start it with --moderation-model DIR)',
      'invalid_request_error',
      'model',
      'model_not_found',
    );
  const model = (body as { model?: unknown })?.model;
  if (model !== undefined && (typeof model !== 'string' || (model !== svc.model && !ALIASES.includes(model))))
    throw modelNotFound(String(model));
  const texts = inputs(body);
  st.model = svc.model;
  st.id = newId('modr-');
  sendJson(res, 200, { id: st.id, model: svc.model, results: texts.map((t) => svc.moderate(t)) });
}
