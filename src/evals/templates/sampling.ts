// One completion for a sample, recorded as openai/evals records it: a "sampling" event with the
// prompt, the sampled texts and the token usage.
import type { CompletionFn, CompletionOptions, EvalMessage, SampleContext, Sample } from '../types.ts';

/** Asks fn for a completion of input (chat, or raw prompt when fn can complete text) and records it. */
export async function sampleCompletion(
  fn: CompletionFn,
  input: Sample['input'],
  opts: CompletionOptions,
  ctx: SampleContext,
): Promise<string> {
  const c =
    typeof input === 'string'
      ? fn.complete
        ? await fn.complete(input, opts, ctx.signal)
        : await fn.chat([{ role: 'user', content: input }], opts, ctx.signal)
      : await fn.chat(input as EvalMessage[], opts, ctx.signal);
  const sampled = c.texts[0] ?? '';
  ctx.recorder.record({
    type: 'sampling',
    sampleId: ctx.sampleId,
    data: {
      prompt: input,
      sampled: c.texts,
      ...(c.usage ? { usage: { prompt_tokens: c.usage.promptTokens, completion_tokens: c.usage.completionTokens } } : {}),
      ...(c.model ? { model: c.model } : {}),
      fn: fn.name,
    },
  });
  return sampled;
}

/** The completion function under evaluation: the first one given. */
export function candidate(ctx: SampleContext): CompletionFn {
  const fn = ctx.completionFns[0];
  if (!fn) throw new Error('this eval needs a completion function');
  return fn;
}
