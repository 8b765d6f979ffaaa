// The llamacpp engine: any GGUF model through node-llama-cpp (exactly 3.21.1, an optional
// dependency loaded on first use by a computed name, so tetra type-checks and runs without it).
//
// How a request runs: the conversation is rendered by the chat wrapper node-llama-cpp resolves
// from the GGUF (its tokenizer.chat_template, matched to a built-in wrapper or run as Jinja), the
// tokens are evaluated on a context sequence with the low-level evaluateWithMetadata API, and
// tokens stream back as text. The low-level API, not LlamaChat, because only it reports token
// probabilities (logprobs) and it takes the grammar, token bias and penalties directly.
//
// What maps onto llama.cpp and what does not (OpenAI parameter -> here):
//   temperature, top_p, seed        -> sampler options (seed + choice index, so n choices differ)
//   max_tokens                      -> generation budget (default: the rest of the context)
//   stop                            -> text stop strings, plus the chat wrapper's own end-of-turn triggers
//   presence/frequency_penalty      -> llama.cpp's penalties over the last 256 generated tokens
//   logit_bias                      -> TokenBias ({logit: b}; -100 = never); ids are this model's
//   logprobs / top_logprobs         -> probabilities from the sampler, i.e. AFTER temperature/top-p:
//                                      equal to the model's own only at temperature 1, top_p 1
//   response_format json_object     -> llama.cpp's JSON grammar; json_schema -> node-llama-cpp's
//                                      JSON-schema grammar (its GbnfJsonSchema subset; others -> 400)
//   n                               -> choices generated one after another on one sequence
//   image parts                     -> refused (400 unsupported_capability): node-llama-cpp has no vision
//   tool calls                      -> not offered (the gateway does not send tools to engines)
//
// Why the file is checked first: llama.cpp aborts the whole process (uncatchable) on some bad
// files, so every GGUF goes through inspectLlamaGGUF (tetra's strict llama/gpt2 check) before
// llama.cpp sees it. Files outside that check (other architectures, quantized tensors,
// sentencepiece vocabularies) are refused unless verify: 'basic', which checks only the keys
// known to abort llama.cpp when missing.
import { GGUFError, inspectLlamaGGUF } from '../model/index.ts';
import { FairQueue } from './queue.ts';
import { EngineError } from './types.ts';
import type { ChatEngine, ChatRequest, CompletionRequest, EngineCapabilities, EngineEvent, EngineMessage } from './types.ts';
import type { SamplingParams, TokenLogprobInfo } from './types.ts';

const STRICT_NOTE =
  ' (tetra checks llama-architecture GGUFs with a gpt2 tokenizer and F32/F16 tensors before llama.cpp loads them, ' +
  "because llama.cpp aborts the process on some bad files; verify: 'basic' loads other files with a lighter check)";
export const NODE_LLAMA_CPP_VERSION = '3.21.1';

export interface LlamaCppOptions {
  modelPath: string;
  /**
   * CPU threads per evaluation. Default 1: on the 2-core VM this project is measured on, 2 threads
   * gave far worse per-token latency than 1 (DESIGN.md); measure before raising it.
   */
  threads?: number;
  /** Context window in tokens. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Requests generated at once (context sequences); the rest wait in the fair queue. Default 1. */
  concurrency?: number;
  /** 'strict' (default): only files tetra's GGUF check covers; 'basic': any file with the keys llama.cpp aborts without. */
  verify?: 'strict' | 'basic';
}

// ---------------------------------------------------------------------------------------------
// The slice of node-llama-cpp's API used here, typed locally so `tsc` passes where the optional
// dependency is not installed.

type Token = number;
interface NlcText {
  values: readonly unknown[];
  tokenize(tokenizer: unknown): Token[];
  toString(): string;
}
interface NlcChatWrapper {
  wrapperName?: string;
  generateContextState(o: { chatHistory: unknown[] }): { contextText: NlcText; stopGenerationTriggers: NlcText[] };
}
interface NlcSequence {
  clearHistory(): Promise<void>;
  evaluateWithMetadata(
    tokens: Token[],
    metadata: { probabilities?: boolean },
    options: object,
  ): AsyncGenerator<{ token: Token; probabilities?: Map<Token, number> }, void, void>;
  controlledEvaluate(input: (Token | [Token, object])[]): Promise<({ next?: { probabilities?: Map<Token, number> } } | undefined)[]>;
}
interface NlcContext {
  getSequence(): NlcSequence;
  dispose(): Promise<void>;
  contextSize: number;
}
interface NlcModel {
  trainContextSize: number;
  tokenizer: unknown;
  tokens: { bos: Token | null; shouldPrependBosToken: boolean };
  tokenize(text: string, specialTokens?: boolean): Token[];
  detokenize(tokens: readonly Token[], specialTokens?: boolean): string;
  isEogToken(token: Token): boolean;
  createContext(o: object): Promise<NlcContext>;
  dispose(): Promise<void>;
}
interface NlcLlama {
  loadModel(o: object): Promise<NlcModel>;
  createGrammarForJsonSchema(schema: object): Promise<unknown>;
}
interface NLC {
  getLlama(o: object): Promise<NlcLlama>;
  LlamaLogLevel: { error: string };
  LlamaGrammar: { getFor(llama: NlcLlama, type: 'json'): Promise<unknown> };
  LlamaGrammarEvaluationState: new (o: { model: NlcModel; grammar: unknown }) => unknown;
  TokenBias: new (tokenizer: unknown) => { set(t: Token, b: 'never' | { logit: number }): unknown };
  resolveChatWrapper(model: NlcModel): NlcChatWrapper;
  // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp's GGUF metadata is untyped JSON
  readGgufFileInfo(path: string, o?: object): Promise<{ metadata: Record<string, any> }>;
}

let loaded: Promise<NLC> | null = null;

/** Imports node-llama-cpp once; a clear 503 when it is not installed. */
export function loadNodeLlamaCpp(): Promise<NLC> {
  loaded ??= (async () => {
    const name = 'node-llama-cpp';
    try {
      return (await import(name)) as NLC;
    } catch (e) {
      loaded = null;
      throw new EngineError(
        `the llamacpp engine needs node-llama-cpp: install node-llama-cpp ${NODE_LLAMA_CPP_VERSION} (npm install ` +
          `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}; newer releases break npm ci here). Import failed: ` +
          `${(e as Error).message.split('\n')[0]}`,
        503,
        'engine_unavailable',
      );
    }
  })();
  return loaded;
}

// ---------------------------------------------------------------------------------------------

export class LlamaCppEngine implements ChatEngine {
  readonly kind = 'llamacpp';
  readonly capabilities: EngineCapabilities = { imageInput: false, logprobs: true, jsonSchema: true, completions: true };
  private readonly queue: FairQueue;
  private readonly free: NlcSequence[];
  private closed = false;

  private constructor(
    private readonly nlc: NLC,
    private readonly llama: NlcLlama,
    private readonly model: NlcModel,
    private readonly context: NlcContext,
    private readonly wrapper: NlcChatWrapper,
    concurrency: number,
  ) {
    this.queue = new FairQueue(concurrency);
    this.free = Array.from({ length: concurrency }, () => context.getSequence());
  }

  /** Checks the file, loads node-llama-cpp and the model. Failures are EngineErrors (503), never a crash. */
  static async open(o: LlamaCppOptions): Promise<LlamaCppEngine> {
    const threads = o.threads ?? 1,
      concurrency = o.concurrency ?? 1;
    if (!Number.isInteger(threads) || threads < 1)
      throw new EngineError(`llamacpp threads must be a positive integer, got ${threads}`, 400, 'invalid_request');
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new EngineError(`llamacpp concurrency must be a positive integer, got ${concurrency}`, 400, 'invalid_request');
    const nlc = await loadNodeLlamaCpp();
    await verifyGGUF(nlc, o.modelPath, o.verify ?? 'strict');
    try {
      const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error });
      const model = await llama.loadModel({ modelPath: o.modelPath, gpuLayers: 0 });
      const contextSize = o.contextSize ?? Math.min(model.trainContextSize, 4096);
      const context = await model.createContext({ contextSize, sequences: concurrency, threads, flashAttention: false });
      return new LlamaCppEngine(nlc, llama, model, context, nlc.resolveChatWrapper(model), concurrency);
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw new EngineError(`llama.cpp could not load ${o.modelPath}: ${(e as Error).message}`, 503, 'engine_unavailable');
    }
  }

  /** The chat wrapper node-llama-cpp chose from the GGUF (e.g. "ChatML", "Jinja"). */
  get chatWrapperName(): string {
    return this.wrapper.wrapperName ?? this.wrapper.constructor.name;
  }

  contextWindow(): number {
    return this.context.contextSize;
  }
  queueDepth(): number {
    return this.queue.queueDepth();
  }

  async countTextTokens(text: string): Promise<number> {
    return this.model.tokenize(text, false).length;
  }
  async countChatTokens(messages: EngineMessage[]): Promise<number> {
    return this.render(messages).tokens.length;
  }

  async *chat(req: ChatRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    // checks that need no slot happen before queueing, so a bad request fails without waiting
    const { tokens, stopTokens, stopTexts } = this.render(req.messages);
    yield* this.queue.run(req.client ?? '', signal, () => this.run(req, tokens, stopTokens, [...stopTexts, ...req.stop], signal, false));
  }

  async *complete(req: CompletionRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    const text = this.model.tokenize(req.prompt, false);
    const tokens = this.model.tokens.shouldPrependBosToken && this.model.tokens.bos !== null ? [this.model.tokens.bos, ...text] : text;
    if (!tokens.length) throw new EngineError('the prompt is empty', 400, 'invalid_request', 'prompt');
    yield* this.queue.run(req.client ?? '', signal, () => this.run(req, tokens, [], req.stop, signal, req.echo ? req.prompt : false));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.rejectAll(new EngineError('the llamacpp engine is shutting down', 503, 'engine_unavailable'));
    await this.context.dispose();
    await this.model.dispose();
  }

  // -------------------------------------------------------------------------------------------

  /** The conversation as tokens through the GGUF's chat template, and how the template ends a turn. */
  private render(messages: EngineMessage[]): { tokens: Token[]; stopTokens: Token[][]; stopTexts: string[] } {
    const history: unknown[] = messages.map((m) => {
      if (typeof m.content !== 'string' && m.content.some((p) => p.type === 'image')) {
        throw new EngineError(
          'this llamacpp model does not take image input (node-llama-cpp has no vision support)',
          400,
          'unsupported_capability',
          'messages',
        );
      }
      const text = typeof m.content === 'string' ? m.content : m.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
      return m.role === 'assistant' ? { type: 'model', response: [text] } : { type: m.role, text };
    });
    history.push({ type: 'model', response: [] }); // an open assistant turn: the template writes its prefix
    const state = this.wrapper.generateContextState({ chatHistory: history });
    const tokens = state.contextText.tokenize(this.model.tokenizer);
    const stopTokens: Token[][] = [],
      stopTexts: string[] = [];
    for (const t of state.stopGenerationTriggers) {
      if (t.values.every((v) => typeof v === 'string')) stopTexts.push(t.values.join(''));
      else stopTokens.push(t.tokenize(this.model.tokenizer));
    }
    return { tokens, stopTokens, stopTexts };
  }

  private async grammarFor(p: SamplingParams): Promise<unknown | null> {
    const f = p.responseFormat;
    if (f.type === 'text') return null;
    if (f.type === 'json_object') return this.nlc.LlamaGrammar.getFor(this.llama, 'json');
    try {
      return await this.llama.createGrammarForJsonSchema(f.schema);
    } catch (e) {
      throw new EngineError(
        `response_format json_schema "${f.name}" is outside the JSON Schema subset llama.cpp grammars support: ${(e as Error).message}`,
        400,
        'invalid_request',
        'response_format',
      );
    }
  }

  private async *run(
    p: SamplingParams,
    prompt: Token[],
    stopTokens: Token[][],
    stopTexts: string[],
    signal: AbortSignal,
    echo: string | false,
  ): AsyncGenerator<EngineEvent> {
    const window = this.context.contextSize;
    if (prompt.length >= window) {
      throw new EngineError(
        `This model's maximum context length is ${window} tokens. However, your prompt has ${prompt.length} tokens.`,
        400,
        'context_length_exceeded',
        echo === false && 'messages' in p ? 'messages' : 'prompt',
      );
    }
    const budget = Math.min(p.maxTokens ?? Infinity, window - prompt.length);
    const grammar = await this.grammarFor(p);
    const seq = this.free.pop()!;
    let completionTokens = 0;
    try {
      for (let index = 0; index < Math.max(1, p.n); index++) {
        if (signal.aborted) return;
        await seq.clearHistory();
        let input = prompt;
        if (echo !== false) {
          const lps = p.topLogprobs !== null ? await this.promptLogprobs(seq, prompt, p.topLogprobs) : undefined;
          yield { type: 'text', index, text: echo, echo: true, ...(lps ? { logprobs: lps } : {}) };
          if (lps) input = prompt.slice(-1); // the rest is in the sequence already
        }
        const choice = this.generate(seq, p, index, input, budget, grammar, stopTokens, stopTexts, signal);
        let r = await choice.next();
        while (!r.done) {
          yield r.value;
          r = await choice.next();
        }
        if (r.value === null) return; // aborted
        completionTokens += r.value.tokens;
        yield { type: 'done', index, finishReason: r.value.finishReason };
      }
      yield { type: 'usage', promptTokens: prompt.length, completionTokens };
    } finally {
      this.free.push(seq);
    }
  }

  /** One choice; returns its token count and finish reason, or null when aborted. */
  private async *generate(
    seq: NlcSequence,
    p: SamplingParams,
    index: number,
    input: Token[],
    budget: number,
    grammar: unknown | null,
    stopTokens: Token[][],
    stopTexts: string[],
    signal: AbortSignal,
  ): AsyncGenerator<EngineEvent, { tokens: number; finishReason: 'stop' | 'length' } | null> {
    const nlc = this.nlc;
    const generated: Token[] = [];
    const options: Record<string, unknown> = {
      temperature: p.temperature,
      topP: p.topP,
      topK: 0, // off: OpenAI has no top-k
      ...(p.seed !== undefined ? { seed: p.seed + index } : {}),
    };
    if (grammar) options.grammarEvaluationState = new nlc.LlamaGrammarEvaluationState({ model: this.model, grammar });
    if (p.presencePenalty || p.frequencyPenalty) {
      options.repeatPenalty = {
        punishTokens: () => generated.slice(-256),
        maxPunishTokens: 256,
        penalty: 1,
        presencePenalty: p.presencePenalty,
        frequencyPenalty: p.frequencyPenalty,
      };
    }
    const biases = Object.entries(p.logitBias);
    if (biases.length) {
      const tb = new nlc.TokenBias(this.model.tokenizer);
      for (const [id, b] of biases) tb.set(Number(id), b <= -100 ? 'never' : { logit: b });
      options.tokenBias = tb;
    }
    const wantLogprobs = p.topLogprobs !== null;
    let emitted = ''; // text already sent
    let pending: TokenLogprobInfo[] = [];
    if (budget <= 0) return { tokens: 0, finishReason: 'length' };
    const it = seq.evaluateWithMetadata(input, { probabilities: wantLogprobs }, options);
    let finishReason: 'stop' | 'length' = 'stop'; // the iterator ends by itself only at an end-of-generation token
    try {
      for await (const out of it) {
        if (signal.aborted) return null;
        const token = out.token;
        if (this.model.isEogToken(token)) break;
        generated.push(token);
        if (wantLogprobs) pending.push(logprobInfo(this.model, token, out.probabilities, p.topLogprobs!));
        if (
          stopTokens.some(
            (s) => s.length && s.length <= generated.length && s.every((t, i) => generated[generated.length - s.length + i] === t),
          )
        ) {
          const s = stopTokens.find((s) => s.every((t, i) => generated[generated.length - s.length + i] === t))!;
          generated.length -= s.length;
          break;
        }
        // Text so far; hold back an unfinished UTF-8 character and anything that may start a stop string.
        let text = this.model.detokenize(generated);
        // llama.cpp's JSON grammars allow whitespace after the value until the model ends its
        // turn; a random or weak model pads for the whole budget, so stop where the value closes.
        const end = grammar ? jsonValueEnd(text) : -1;
        const cut = end >= 0 ? end : firstStop(text, stopTexts);
        if (cut >= 0) {
          text = text.slice(0, cut);
          yield* this.emit(index, text, emitted, pending);
          emitted = text;
          pending = [];
          return { tokens: generated.length, finishReason: 'stop' };
        }
        const safe = text.length - holdBack(text, stopTexts);
        if (safe > emitted.length) {
          yield* this.emit(index, text.slice(0, safe), emitted, pending);
          emitted = text.slice(0, safe);
          pending = [];
        }
        if (generated.length >= budget) {
          finishReason = 'length';
          break;
        }
      }
    } finally {
      await it.return(undefined);
    }
    if (signal.aborted) return null;
    const text = this.model.detokenize(generated);
    if (text.length > emitted.length || pending.length) yield* this.emit(index, text, emitted, pending);
    return { tokens: generated.length, finishReason };
  }

  private *emit(index: number, upTo: string, emitted: string, lps: TokenLogprobInfo[]): Generator<EngineEvent> {
    const text = upTo.slice(emitted.length);
    if (!text && !lps.length) return;
    yield { type: 'text', index, text, ...(lps.length ? { logprobs: lps } : {}) };
  }

  /** Logprobs of prompt[1..] under the model (temperature 1, no filters), for echo. */
  private async promptLogprobs(seq: NlcSequence, prompt: Token[], top: number): Promise<TokenLogprobInfo[]> {
    const opts = { temperature: 1, topK: 0, topP: 1, minP: 0 };
    const out = await seq.controlledEvaluate(
      prompt.slice(0, -1).map((t): [Token, object] => [t, { generateNext: { probabilities: true, options: opts } }]),
    );
    const first: TokenLogprobInfo = { ...logprobInfo(this.model, prompt[0], undefined, 0), logprob: NaN };
    return [first, ...prompt.slice(1).map((t, i) => logprobInfo(this.model, t, out[i]?.next?.probabilities, top))];
  }
}

// ---------------------------------------------------------------------------------------------

function logprobInfo(model: NlcModel, token: Token, probs: Map<Token, number> | undefined, top: number): TokenLogprobInfo {
  const text = model.detokenize([token], true);
  const entry = (t: Token, p: number) => {
    const s = model.detokenize([t], true);
    return { token: s, logprob: Math.log(p), bytes: [...Buffer.from(s, 'utf8')] };
  };
  const topList: TokenLogprobInfo['top'] = [];
  if (probs)
    for (const [t, pr] of probs) {
      if (topList.length >= top) break;
      topList.push(entry(t, pr));
    }
  return { token: text, logprob: Math.log(probs?.get(token) ?? 0), bytes: [...Buffer.from(text, 'utf8')], top: topList };
}

/** Index just past a complete top-level JSON object or array at the start of text, or -1. */
export function jsonValueEnd(text: string): number {
  let depth = 0,
    inString = false,
    escaped = false,
    started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      depth++;
      started = true;
    } else if (c === '}' || c === ']') {
      depth--;
      if (started && depth === 0) return i + 1;
    }
  }
  return -1;
}

function firstStop(text: string, stops: string[]): number {
  let cut = -1;
  for (const s of stops) {
    if (!s) continue;
    const k = text.indexOf(s);
    if (k >= 0 && (cut < 0 || k < cut)) cut = k;
  }
  return cut;
}

/** Characters at the end to hold back: a replacement char (a character still arriving) or a stop string's start. */
function holdBack(text: string, stops: string[]): number {
  let hold = text.endsWith('\uFFFD') ? 1 : 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(s.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

/** Checks a GGUF before llama.cpp sees it (see the top of this file). */
async function verifyGGUF(nlc: NLC, path: string, mode: 'strict' | 'basic'): Promise<void> {
  try {
    inspectLlamaGGUF(path);
    return;
  } catch (e) {
    const why = (e as Error).message;
    if (mode === 'strict' || !(e instanceof GGUFError)) {
      throw new EngineError(`refusing to load ${path}: ${why}${mode === 'strict' ? STRICT_NOTE : ''}`, 503, 'engine_unavailable');
    }
  }
  // basic: node-llama-cpp's own (JavaScript) GGUF reader, and the keys whose absence aborts llama.cpp
  // biome-ignore lint/suspicious/noExplicitAny: the same untyped metadata, read field by field below
  let md: Record<string, any>;
  try {
    md = (await nlc.readGgufFileInfo(path, { readTensorInfo: false })).metadata;
  } catch (e) {
    throw new EngineError(`refusing to load ${path}: not a readable GGUF file (${(e as Error).message})`, 503, 'engine_unavailable');
  }
  const arch = md.general?.architecture;
  const missing: string[] = [];
  if (typeof arch !== 'string') missing.push('general.architecture');
  else for (const k of ['context_length', 'embedding_length', 'block_count']) if (md[arch]?.[k] === undefined) missing.push(`${arch}.${k}`);
  if (md.tokenizer?.ggml?.model === undefined) missing.push('tokenizer.ggml.model');
  if (md.tokenizer?.ggml?.tokens === undefined) missing.push('tokenizer.ggml.tokens');
  if (md.tokenizer?.ggml?.model === 'gpt2' && md.tokenizer?.ggml?.merges === undefined) missing.push('tokenizer.ggml.merges');
  if (arch === 'llama') {
    if (md.llama?.feed_forward_length === undefined) missing.push('llama.feed_forward_length');
    if (md.llama?.attention?.head_count === undefined) missing.push('llama.attention.head_count');
  }
  if (missing.length)
    throw new EngineError(
      `refusing to load ${path}: required key(s) ${missing.join(', ')} missing (llama.cpp would abort loading it)`,
      503,
      'engine_unavailable',
    );
}
