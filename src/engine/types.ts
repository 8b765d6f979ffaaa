// The ChatEngine contract: what the gateway needs from anything that generates text: tetra's own
// model (builtin), a GGUF through llama.cpp (llamacpp), or an OpenAI-compatible server (upstream).
// Requests arrive already validated by the gateway (ranges, types); engines check what only they
// know (context window, capabilities) and throw EngineError with an OpenAI-style code.

/** A chat message after the gateway normalised it (developer -> system, image_url -> image). */
export interface EngineMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | EnginePart[];
  name?: string;
}
export type EnginePart =
  | { type: 'text'; text: string }
  /** An image as bytes already fetched/decoded from a data URL or http URL, with its MIME type. */
  | { type: 'image'; data: Uint8Array; mime: string; detail?: 'auto' | 'low' | 'high' };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean };

export interface SamplingParams {
  /** Completion token budget (max_completion_tokens / max_tokens); undefined = up to the context window. */
  maxTokens?: number;
  temperature: number;
  topP: number;
  /** Independent choices to generate. */
  n: number;
  stop: string[];
  seed?: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** Token id -> bias in [-100, 100] added to that token's logit. */
  logitBias: Record<number, number>;
  /** Report logprobs of each generated token, with this many alternatives (null = no logprobs). */
  topLogprobs: number | null;
  responseFormat: ResponseFormat;
}

export interface ChatRequest extends SamplingParams {
  messages: EngineMessage[];
  /** Who is asking (API key id): the engine's fair queue serves clients round-robin. Absent = one shared lane. */
  client?: string;
}

/** A raw-prompt completion (/v1/completions), used for log-likelihood scoring by evaluators. */
export interface CompletionRequest extends SamplingParams {
  prompt: string;
  /** Return the prompt's own tokens (with logprobs when requested) before the completion. */
  echo: boolean;
  /** As ChatRequest.client. */
  client?: string;
}

export interface TokenLogprobInfo {
  token: string;
  logprob: number;
  /** UTF-8 bytes of the token (OpenAI's `bytes`). */
  bytes: number[];
  top: { token: string; logprob: number; bytes: number[] }[];
}

export type EngineEvent =
  /** Text for choice `index`. For echo, prompt tokens come first with echo: true (logprob null for the first). */
  | { type: 'text'; index: number; text: string; logprobs?: TokenLogprobInfo[]; echo?: boolean }
  | { type: 'done'; index: number; finishReason: 'stop' | 'length' | 'content_filter' }
  /** Once, after every choice is done. */
  | { type: 'usage'; promptTokens: number; completionTokens: number };

export interface EngineCapabilities {
  imageInput: boolean;
  logprobs: boolean;
  /** response_format json_object / json_schema honoured (not just requested). */
  jsonSchema: boolean;
  /** Raw-prompt completions with echo and prompt logprobs (needed for log-likelihood evals). */
  completions: boolean;
}

export interface ChatEngine {
  /** The backend kind: 'builtin' | 'llamacpp' | 'upstream'. */
  readonly kind: string;
  readonly capabilities: EngineCapabilities;
  /** Tokens the model can attend to (prompt + completion). */
  contextWindow(): number;
  /** Prompt tokens this conversation renders to, exactly as chat() would count them. */
  countChatTokens(messages: EngineMessage[]): Promise<number>;
  countTextTokens(text: string): Promise<number>;
  /**
   * Generates; events stream as they are produced. Aborting the signal (client disconnected)
   * stops generation promptly and ends the iterator. Requests beyond the engine's concurrency
   * wait in a fair queue.
   */
  chat(req: ChatRequest, signal: AbortSignal): AsyncIterable<EngineEvent>;
  complete(req: CompletionRequest, signal: AbortSignal): AsyncIterable<EngineEvent>;
  /** Requests waiting for their turn (for /metrics). */
  queueDepth(): number;
  close(): Promise<void>;
}

/** An engine failure the gateway maps to an OpenAI error envelope. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code:
      | 'context_length_exceeded'
      | 'unsupported_capability'
      | 'engine_unavailable'
      | 'upstream_error'
      | 'upstream_timeout'
      | 'invalid_request',
    readonly param: string | null = null,
  ) {
    super(message);
  }
}
