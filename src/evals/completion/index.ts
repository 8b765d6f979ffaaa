// Turning names on the command line into completion functions, in this order:
//   "dummy"                      answers every prompt with a fixed text (plumbing checks)
//   a registry completion_fns    {class, args}: tetra.openai / openai/evals' OpenAI classes,
//     entry                      tetra.checkpoint, tetra.dummy
//   a checkpoint or run dir      a tetra model, in-process
//   any other name               a model on the OpenAI-compatible endpoint (--base-url or
//                                OPENAI_BASE_URL; key from OPENAI_API_KEY)
import { RbrmGraderFn } from './rbrm.ts';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Registry } from '../registry.ts';
import type { Completion, CompletionFn } from '../types.ts';
import { cached, type ResponseCache } from './cache.ts';
import { CheckpointCompletionFn } from './checkpoint.ts';
import { OpenAICompatible } from './openai.ts';
import type { RetryOptions } from '../../net/index.ts';

export { OpenAICompatible, type OpenAICompatibleOptions } from './openai.ts';
export { CheckpointCompletionFn } from './checkpoint.ts';
export { toChatTurns } from '../completion-tetra.ts';
export { ResponseCache, cached } from './cache.ts';
export { withRetries, isRetryable, retryAfterMs, RetriesExhaustedError, type RetryOptions } from '../../net/index.ts';
export { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from '../../net/index.ts';

export class DummyCompletionFn implements CompletionFn {
  constructor(
    private readonly text = 'dummy completion',
    readonly name = 'dummy',
  ) {}
  async chat(): Promise<Completion> {
    return { texts: [this.text] };
  }
  async complete(): Promise<Completion> {
    return { texts: [this.text] };
  }
}

export interface ResolveOptions {
  registry: Registry;
  baseURL?: string;
  apiKey?: string;
  cache?: ResponseCache | null;
  retry?: Omit<RetryOptions, 'signal'>;
  timeoutMs?: number;
}

const OPENAI_CLASSES = new Set([
  'tetra.openai',
  'evals.completion_fns.openai:OpenAIChatCompletionFn',
  'evals.completion_fns.openai:OpenAICompletionFn',
]);

function looksLikeCheckpoint(p: string): boolean {
  const r = resolve(p);
  return existsSync(join(r, 'checkpoint.json')) || existsSync(join(r, 'checkpoints')) || existsSync(join(r, 'latest'));
}

function endpoint(
  model: string,
  o: ResolveOptions,
  args: Record<string, unknown> = {},
  api: 'chat' | 'completions' = 'chat',
): CompletionFn {
  const baseURL = (args.base_url as string | undefined) ?? o.baseURL ?? process.env.OPENAI_BASE_URL;
  if (!baseURL) {
    throw new Error(
      `"${model}" is not "dummy", a registry completion function or a checkpoint directory; to use it as a model on an ` +
        `OpenAI-compatible endpoint pass --base-url URL (or set OPENAI_BASE_URL)`,
    );
  }
  const keyEnv = args.api_key_env as string | undefined;
  const apiKey = (keyEnv ? process.env[keyEnv] : undefined) ?? o.apiKey ?? process.env.OPENAI_API_KEY;
  const extraBody = (args.extra_body ?? undefined) as Record<string, unknown> | undefined;
  return new OpenAICompatible({
    baseURL,
    model,
    apiKey,
    retry: o.retry,
    timeoutMs: o.timeoutMs,
    extraBody,
    api: args.api === 'completions' ? 'completions' : api,
  });
}

export function resolveCompletionFn(name: string, o: ResolveOptions): CompletionFn {
  let fn: CompletionFn;
  const entry = o.registry.completionFn(name);
  if (name === 'dummy') return new DummyCompletionFn();
  if (entry) {
    const a = entry.args;
    if (OPENAI_CLASSES.has(entry.cls)) {
      const model = (a.model ?? a.model_name) as string | undefined;
      if (!model) throw new Error(`${entry.file}: completion function "${name}" needs args.model`);
      fn = endpoint(model, o, a, entry.cls.endsWith(':OpenAICompletionFn') ? 'completions' : 'chat');
    } else if (entry.cls === 'tetra.checkpoint') {
      if (typeof a.checkpoint !== 'string')
        throw new Error(`${entry.file}: completion function "${name}" needs args.checkpoint (a directory)`);
      fn = new CheckpointCompletionFn(resolve(dirname(entry.file), a.checkpoint));
    } else if (entry.cls === 'tetra.dummy' || entry.cls === 'evals.completion_fns.dummy:DummyCompletionFn') {
      return new DummyCompletionFn(typeof a.text === 'string' ? a.text : undefined, name);
    } else {
      throw new Error(
        `${entry.file}: completion function "${name}" has unknown class "${entry.cls}" (known: ` +
          `${[...OPENAI_CLASSES, 'tetra.checkpoint', 'tetra.dummy'].join(', ')})`,
      );
    }
  } else if (name.startsWith('rbrm:')) {
    return new RbrmGraderFn(resolve(name.slice('rbrm:'.length)));
  } else if (looksLikeCheckpoint(name)) {
    fn = new CheckpointCompletionFn(name);
  } else {
    fn = endpoint(name, o);
  }
  // Checkpoints are not cached: a retrained model in the same directory would replay stale answers.
  return o.cache && !(fn instanceof CheckpointCompletionFn) ? cached(fn, o.cache) : fn;
}

/** "a,b,grader" -> completion functions; model-graded evals grade with the last. */
export function resolveCompletionFns(names: string, o: ResolveOptions): CompletionFn[] {
  return names
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((n) => resolveCompletionFn(n, o));
}
