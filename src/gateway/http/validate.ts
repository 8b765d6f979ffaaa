// Request validation for /v1/chat/completions and /v1/completions: parsed JSON in, typed and
// range-checked parameters out, or an ApiError(400) that names the field, what arrived and the
// limit. Hostile input (wrong types, huge numbers, odd keys) must never throw anything else, so
// every read below checks the type before touching the value. Explicit nulls mean "not given",
// as the OpenAI API treats them.
import type { ResponseFormat, SamplingParams } from '../../engine/index.ts';
import { invalid } from './errors.ts';

export const LIMITS = {
  messages: 4096,
  partsPerMessage: 256,
  imagesPerRequest: 16,
  n: 128,
  maxTokens: 1 << 20,
  stopStrings: 4,
  stopLength: 256,
  logitBias: 1024,
  topLogprobs: 20,
  completionLogprobs: 5,
  prompts: 64,
  modelId: 256,
  nameLength: 64,
} as const;

export type InputPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; url: string; detail?: 'auto' | 'low' | 'high'; param: string };

export interface InputMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | InputPart[];
  name?: string;
}

export interface ChatInput {
  model: string;
  messages: InputMessage[];
  params: SamplingParams;
  stream: boolean;
  includeUsage: boolean;
  imageCount: number;
}

export interface CompletionInput {
  model: string;
  prompts: string[];
  echo: boolean;
  params: SamplingParams;
  stream: boolean;
  includeUsage: boolean;
}

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Record<string, Json>, k: string) => Object.hasOwn(o, k) && o[k] !== null && o[k] !== undefined;
const kind = (v: Json) =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? 'a string' : typeof v === 'object' ? 'an object' : typeof v;
const show = (v: Json) => {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  return kind(v);
};

const TOKEN_ID_NOTE = " (token-id prompts are not accepted: send text, e.g. lm-eval's tokenized_requests=False)";
function str(o: Record<string, Json>, k: string, param: string, max = Infinity): string | undefined {
  if (!has(o, k)) return undefined;
  const v = o[k];
  if (typeof v !== 'string') throw invalid(param, `${param} must be a string, got ${kind(v)}`);
  if (v.length > max) throw invalid(param, `${param} is ${v.length} characters; the limit is ${max}`);
  return v;
}

function num(o: Record<string, Json>, k: string, lo: number, hi: number, integer = false, param = k): number | undefined {
  if (!has(o, k)) return undefined;
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw invalid(param, `${param} must be ${integer ? 'an integer' : 'a number'}, got ${show(v)}`);
  if (integer && !Number.isInteger(v)) throw invalid(param, `${param} must be an integer, got ${v}`);
  if (v < lo || v > hi)
    throw invalid(
      param,
      `${param} must be in [${lo}, ${hi}], got ${v}`,
      param === 'max_tokens' || param === 'max_completion_tokens' ? 'integer_above_max_value' : null,
    );
  return v;
}

function bool(o: Record<string, Json>, k: string, param = k): boolean | undefined {
  if (!has(o, k)) return undefined;
  const v = o[k];
  if (typeof v !== 'boolean') throw invalid(param, `${param} must be a boolean, got ${show(v)}`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// shared sampling fields

function stop(body: Record<string, Json>): string[] {
  if (!has(body, 'stop')) return [];
  const v = body.stop;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw invalid('stop', `stop must be a string or an array of strings, got ${kind(v)}`);
  if (list.length > LIMITS.stopStrings) throw invalid('stop', `stop has ${list.length} sequences; the limit is ${LIMITS.stopStrings}`);
  return list.map((s, i) => {
    if (typeof s !== 'string') throw invalid(`stop[${i}]`, `stop[${i}] must be a string, got ${kind(s)}`);
    if (s.length === 0) throw invalid(`stop[${i}]`, `stop[${i}] is empty; remove it or give at least one character`);
    if (s.length > LIMITS.stopLength)
      throw invalid(`stop[${i}]`, `stop[${i}] is ${s.length} characters; the limit is ${LIMITS.stopLength}`);
    return s;
  });
}

function logitBias(body: Record<string, Json>): Record<number, number> {
  if (!has(body, 'logit_bias')) return {};
  const v = body.logit_bias;
  if (!isObject(v)) throw invalid('logit_bias', `logit_bias must be an object mapping token ids to biases, got ${kind(v)}`);
  const keys = Object.keys(v);
  if (keys.length > LIMITS.logitBias)
    throw invalid('logit_bias', `logit_bias has ${keys.length} entries; the limit is ${LIMITS.logitBias}`);
  const out: Record<number, number> = {};
  for (const k of keys) {
    if (!/^\d{1,9}$/.test(k))
      throw invalid('logit_bias', `logit_bias keys must be token ids (non-negative integers), got ${JSON.stringify(k.slice(0, 40))}`);
    const b = v[k];
    if (typeof b !== 'number' || !Number.isFinite(b) || b < -100 || b > 100)
      throw invalid('logit_bias', `logit_bias[${k}] must be a number in [-100, 100], got ${show(b)}`);
    out[Number(k)] = b;
  }
  return out;
}

function responseFormat(body: Record<string, Json>): ResponseFormat {
  if (!has(body, 'response_format')) return { type: 'text' };
  const v = body.response_format;
  if (!isObject(v)) throw invalid('response_format', `response_format must be an object like {"type": "json_object"}, got ${kind(v)}`);
  const type = v.type;
  if (type === 'text') return { type: 'text' };
  if (type === 'json_object') return { type: 'json_object' };
  if (type === 'json_schema') {
    const js = v.json_schema;
    if (!isObject(js))
      throw invalid('response_format.json_schema', `response_format.json_schema must be an object {name, schema, strict}, got ${kind(js)}`);
    const name = str(js, 'name', 'response_format.json_schema.name', LIMITS.nameLength);
    if (name === undefined || !/^[A-Za-z0-9_-]+$/.test(name))
      throw invalid(
        'response_format.json_schema.name',
        'response_format.json_schema.name is required: letters, digits, _ and - only, at most 64 characters',
      );
    const schema = has(js, 'schema') ? js.schema : {};
    if (!isObject(schema))
      throw invalid(
        'response_format.json_schema.schema',
        `response_format.json_schema.schema must be a JSON Schema object, got ${kind(schema)}`,
      );
    const strict = bool(js, 'strict', 'response_format.json_schema.strict');
    return { type: 'json_schema', name, schema, ...(strict === undefined ? {} : { strict }) };
  }
  throw invalid('response_format.type', `response_format.type must be "text", "json_object" or "json_schema", got ${show(type)}`);
}

function streamFlags(body: Record<string, Json>): { stream: boolean; includeUsage: boolean } {
  const stream = bool(body, 'stream') ?? false;
  let includeUsage = false;
  if (has(body, 'stream_options')) {
    const so = body.stream_options;
    if (!isObject(so)) throw invalid('stream_options', `stream_options must be an object, got ${kind(so)}`);
    if (!stream) throw invalid('stream_options', 'stream_options is only allowed when stream is true');
    includeUsage = bool(so, 'include_usage', 'stream_options.include_usage') ?? false;
  }
  return { stream, includeUsage };
}

function model(body: Record<string, Json>): string {
  const m = str(body, 'model', 'model', LIMITS.modelId);
  if (!m) throw invalid('model', 'model is required: pass a model id from GET /v1/models');
  return m;
}

function sampling(body: Record<string, Json>, minMaxTokens: number, topLogprobs: number | null): SamplingParams {
  const maxCompletion = num(body, 'max_completion_tokens', minMaxTokens, LIMITS.maxTokens, true);
  const maxTokens = maxCompletion ?? num(body, 'max_tokens', minMaxTokens, LIMITS.maxTokens, true);
  const seed = num(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  return {
    ...(maxTokens === undefined ? {} : { maxTokens }),
    temperature: num(body, 'temperature', 0, 2) ?? 1,
    topP: num(body, 'top_p', 0, 1) ?? 1,
    n: num(body, 'n', 1, LIMITS.n, true) ?? 1,
    stop: stop(body),
    ...(seed === undefined ? {} : { seed }),
    presencePenalty: num(body, 'presence_penalty', -2, 2) ?? 0,
    frequencyPenalty: num(body, 'frequency_penalty', -2, 2) ?? 0,
    logitBias: logitBias(body),
    topLogprobs,
    responseFormat: responseFormat(body),
  };
}

function rejectTools(body: Record<string, Json>): void {
  for (const k of ['tools', 'functions']) {
    if (has(body, k) && !(Array.isArray(body[k]) && (body[k] as Json[]).length === 0)) {
      throw invalid(k, `${k} are not supported by this server yet; remove ${k} (and tool_choice) from the request`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// chat

function content(m: Record<string, Json>, i: number, role: InputMessage['role'], images: { count: number }): string | InputPart[] {
  const p = `messages[${i}].content`;
  const c = m.content;
  if (c === null || c === undefined) {
    if (role === 'assistant') return '';
    throw invalid(p, `${p} is required for a ${role} message`);
  }
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) throw invalid(p, `${p} must be a string or an array of content parts, got ${kind(c)}`);
  if (c.length > LIMITS.partsPerMessage) throw invalid(p, `${p} has ${c.length} parts; the limit is ${LIMITS.partsPerMessage}`);
  return c.map((part, j): InputPart => {
    const pp = `${p}[${j}]`;
    if (!isObject(part)) throw invalid(pp, `${pp} must be an object like {"type": "text", "text": "..."}, got ${kind(part)}`);
    if (part.type === 'text') {
      const text = part.text;
      if (typeof text !== 'string') throw invalid(`${pp}.text`, `${pp}.text must be a string, got ${kind(text)}`);
      return { type: 'text', text };
    }
    if (part.type === 'image_url') {
      if (role !== 'user') throw invalid(pp, `${pp}: image parts are allowed in user messages only, found one in a ${role} message`);
      const iu = part.image_url;
      if (!isObject(iu))
        throw invalid(
          `${pp}.image_url`,
          `${pp}.image_url must be an object {"url": "data:image/png;base64,..." or "https://..."}, got ${kind(iu)}`,
        );
      const url = iu.url;
      if (typeof url !== 'string' || url.length === 0)
        throw invalid(`${pp}.image_url.url`, `${pp}.image_url.url must be a data URL or an http(s) URL, got ${show(url ?? null)}`);
      let detail: 'auto' | 'low' | 'high' | undefined;
      if (has(iu, 'detail')) {
        if (iu.detail !== 'auto' && iu.detail !== 'low' && iu.detail !== 'high')
          throw invalid(`${pp}.image_url.detail`, `${pp}.image_url.detail must be "auto", "low" or "high", got ${show(iu.detail)}`);
        detail = iu.detail;
      }
      if (++images.count > LIMITS.imagesPerRequest)
        throw invalid(pp, `the request has more than ${LIMITS.imagesPerRequest} images; send at most ${LIMITS.imagesPerRequest}`);
      return { type: 'image_url', url, ...(detail ? { detail } : {}), param: `${pp}.image_url.url` };
    }
    throw invalid(`${pp}.type`, `${pp}.type must be "text" or "image_url", got ${show(part.type ?? null)}`);
  });
}

export function validateChat(body: Json): ChatInput {
  if (!isObject(body)) throw invalid(null, `the request body must be a JSON object, got ${kind(body)}`);
  const m = model(body);
  const msgs = body.messages;
  if (!has(body, 'messages')) throw invalid('messages', 'messages is required: an array of {role, content} objects');
  if (!Array.isArray(msgs)) throw invalid('messages', `messages must be an array, got ${kind(msgs)}`);
  if (msgs.length === 0) throw invalid('messages', 'messages must contain at least one message');
  if (msgs.length > LIMITS.messages) throw invalid('messages', `messages has ${msgs.length} entries; the limit is ${LIMITS.messages}`);
  rejectTools(body);
  const images = { count: 0 };
  const messages = msgs.map((msg, i): InputMessage => {
    if (!isObject(msg)) throw invalid(`messages[${i}]`, `messages[${i}] must be an object {role, content}, got ${kind(msg)}`);
    const r = msg.role;
    let role: InputMessage['role'];
    if (r === 'system' || r === 'developer') role = 'system';
    else if (r === 'user' || r === 'assistant') role = r;
    else if (r === 'tool' || r === 'function')
      throw invalid(`messages[${i}].role`, `messages[${i}].role "${r}" needs tools, which this server does not support yet`);
    else
      throw invalid(
        `messages[${i}].role`,
        `messages[${i}].role must be "system", "developer", "user" or "assistant", got ${show(r ?? null)}`,
      );
    const name = str(msg, 'name', `messages[${i}].name`, LIMITS.nameLength);
    const c = content(msg, i, role, images);
    return { role, content: c, ...(name === undefined ? {} : { name }) };
  });
  const logprobs = bool(body, 'logprobs') ?? false;
  const top = num(body, 'top_logprobs', 0, LIMITS.topLogprobs, true);
  if (top !== undefined && !logprobs) throw invalid('top_logprobs', 'top_logprobs needs logprobs: true');
  const params = sampling(body, 1, logprobs ? (top ?? 0) : null);
  return { model: m, messages, params, ...streamFlags(body), imageCount: images.count };
}

// ---------------------------------------------------------------------------------------------
// completions

export function validateCompletion(body: Json): CompletionInput {
  if (!isObject(body)) throw invalid(null, `the request body must be a JSON object, got ${kind(body)}`);
  const m = model(body);
  if (!has(body, 'prompt')) throw invalid('prompt', 'prompt is required: a string or an array of strings');
  const p = body.prompt;
  let prompts: string[];
  if (typeof p === 'string') prompts = [p];
  else if (Array.isArray(p)) {
    if (p.length === 0) throw invalid('prompt', 'prompt must not be an empty array');
    if (p.length > LIMITS.prompts) throw invalid('prompt', `prompt has ${p.length} entries; the limit is ${LIMITS.prompts}`);
    prompts = p.map((s, i) => {
      if (typeof s !== 'string') {
        throw invalid(
          `prompt[${i}]`,
          `prompt[${i}] must be a string, got ${kind(s)}${typeof s === 'number' || Array.isArray(s) ? TOKEN_ID_NOTE : ''}`,
        );
      }
      return s;
    });
  } else throw invalid('prompt', `prompt must be a string or an array of strings, got ${kind(p)}`);
  if (has(body, 'suffix')) throw invalid('suffix', 'suffix (insertion) is not supported; remove it');
  if (has(body, 'best_of') && body.best_of !== 1) throw invalid('best_of', 'best_of other than 1 is not supported; use n');
  const echo = bool(body, 'echo') ?? false;
  const lp = num(body, 'logprobs', 0, LIMITS.completionLogprobs, true);
  const params = sampling(body, 0, lp ?? null);
  // Legacy completions default to 16 tokens when max_tokens is absent.
  if (params.maxTokens === undefined) params.maxTokens = 16;
  if (params.responseFormat.type !== 'text')
    throw invalid('response_format', 'response_format is a chat completions parameter; use /v1/chat/completions');
  return { model: m, prompts, echo, params, ...streamFlags(body) };
}
