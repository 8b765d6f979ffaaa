// The evals contract: what an eval template, a completion function and the recorder are to each
// other. Templates (Match, Includes, model-graded, multiple choice, code execution, custom evals)
// implement EvalTemplate; completion functions wrap tetra's engines or any OpenAI-compatible
// endpoint; the runner feeds samples through a template and writes every event to the recorder.

/** An openai/evals chat message; few-shot examples are system messages named example_user / example_assistant. */
export interface EvalMessage {
  role: 'system' | 'user' | 'assistant' | 'developer';
  /** Text, or OpenAI content parts (text and image_url), as chat samples may carry images. */
  content: string | EvalPart[];
  name?: string;
}
/** A message's text: its parts' text joined (image parts left out). */
export function textOf(content: EvalMessage['content']): string {
  return typeof content === 'string' ? content : content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}
export type EvalPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } };

/** An openai/evals sample line: input is a chat or a plain prompt; ideal one or several answers. */
export interface Sample {
  input: EvalMessage[] | string;
  ideal?: string | string[];
  [extra: string]: unknown;
}

export interface CompletionOptions {
  temperature?: number;
  maxTokens?: number;
  n?: number;
  seed?: number;
  stop?: string[];
  /** Ask for per-token logprobs of the output with this many alternatives. */
  topLogprobs?: number;
}

export interface Completion {
  /** One text per requested choice. */
  texts: string[];
  usage?: { promptTokens: number; completionTokens: number };
  /** The model/snapshot that actually answered, when the backend says. */
  model?: string;
}

export interface LoglikelihoodRequest {
  context: string;
  continuation: string;
}
export interface LoglikelihoodResult {
  /** sum of log p(continuation tokens | context, earlier continuation tokens) */
  logprob: number;
  /** Whether greedy decoding would produce the continuation. */
  greedy: boolean;
  /** Tokens in the continuation (for length normalisation). */
  tokens: number;
}

/** Something that answers prompts: a tetra engine, an OpenAI-compatible endpoint, a registry entry. */
export interface CompletionFn {
  readonly name: string;
  chat(messages: EvalMessage[], opts: CompletionOptions, signal?: AbortSignal): Promise<Completion>;
  /** Raw-prompt completion (for evals whose input is a string). */
  complete?(prompt: string, opts: CompletionOptions, signal?: AbortSignal): Promise<Completion>;
  /** Log-likelihoods for multiple choice; absent when the backend exposes no logprobs. */
  loglikelihood?(reqs: LoglikelihoodRequest[], signal?: AbortSignal): Promise<LoglikelihoodResult[]>;
}

/** openai/evals record event types (record.py): sampling, match, metrics, error, ... */
export interface RecordEvent {
  type: string;
  sampleId: string | null;
  data: Record<string, unknown>;
}

export interface Recorder {
  record(e: RecordEvent): void;
}

export interface SampleContext {
  /** "<eval base>.<split>.<index>" as openai/evals names samples. */
  sampleId: string;
  index: number;
  /** The completion functions given on the command line; model-graded evals grade with the last. */
  completionFns: CompletionFn[];
  /** Seeded per sample (same seed + sample -> same value), for sampling-based templates. */
  random: () => number;
  recorder: Recorder;
  signal?: AbortSignal;
}

/** What one sample produced; the runner stores it for resume and hands it to aggregate. */
export interface SampleResult {
  sampleId: string;
  /** e.g. { correct: true } for Match, { choice: 'A', score: 1 } for model-graded, { passed: 3, n: 10 } for code. */
  [metric: string]: unknown;
}

export type Metrics = Record<string, number | string | null | Record<string, number>>;

/**
 * An eval template. Custom evals implement this interface: evalSample runs one sample (calling
 * completion functions and recording events) and aggregate turns all results into metrics.
 */
export interface EvalTemplate<S extends Sample = Sample> {
  evalSample(sample: S, ctx: SampleContext): Promise<SampleResult>;
  aggregate(results: SampleResult[]): Metrics;
}
