// POST /v1/completions through the generation pipeline (generation.ts): raw-prompt completions,
// for log-likelihood evaluators (lm-evaluation-harness' local-completions sends echo: true,
// logprobs: 1 and max_tokens 0 or 1, then reads token_logprobs of the prompt's continuation).
// Several prompts in one request are served one after another; choice index = prompt index * n + choice.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenLogprobInfo } from '../../engine/index.ts';
import { clientOf, checkContext, resolveModel, type GatewayOptions, type RequestState } from './context.ts';
import { invalid } from './errors.ts';
import { serveGeneration } from './generation.ts';
import { sendEvent, sendJson, startEventStream, type BodyLimits } from './wire.ts';
import { validateCompletion } from './validate.ts';

interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

function appendLogprobs(into: LegacyLogprobs, infos: TokenLogprobInfo[], textLength: number): void {
  let offset = textLength;
  for (const l of infos) {
    into.tokens.push(l.token);
    const known = Number.isFinite(l.logprob);
    into.token_logprobs.push(known ? l.logprob : null);
    into.top_logprobs.push(known ? Object.fromEntries(l.top.map((t) => [t.token, t.logprob])) : null);
    into.text_offset.push(offset);
    offset += l.token.length;
  }
}

export function completions(
  o: GatewayOptions,
  body: BodyLimits,
  req: IncomingMessage,
  res: ServerResponse,
  st: RequestState,
): Promise<void> {
  return serveGeneration(o, body, req, res, st, 'cmpl', async (principal, json) => {
    const input = validateCompletion(json);
    const served = resolveModel(o, principal, input.model);
    const { engine } = served;
    const p = input.params;
    if (!engine.capabilities.completions)
      throw invalid(
        'model',
        `The model ${input.model} does not serve raw-prompt completions; use /v1/chat/completions.`,
        'unsupported_capability',
      );
    if (p.topLogprobs !== null && !engine.capabilities.logprobs)
      throw invalid('logprobs', `The model ${input.model} does not report logprobs; omit logprobs.`, 'unsupported_capability');
    if (p.maxTokens === 0 && !input.echo)
      throw invalid('max_tokens', 'max_tokens 0 only makes sense with echo: true (to score the prompt)');
    const counts = await Promise.all(input.prompts.map((t) => engine.countTextTokens(t)));
    counts.forEach((c, i) => checkContext(served.window, c, p.maxTokens, input.prompts.length > 1 ? `prompt[${i}]` : 'prompt'));
    const maxTokens = p.maxTokens!;
    const promptTokens = counts.reduce((a, b) => a + b, 0);
    return {
      served,
      promptTokens,
      reserve: promptTokens + maxTokens * p.n * input.prompts.length,
      stream: input.stream,
      respond: async (ctx) => {
        const { res, meter } = ctx;
        const head = {
          id: ctx.id,
          object: 'text_completion',
          created: Math.floor(Date.now() / 1000),
          model: served.snapshot.id,
          system_fingerprint: served.fingerprint,
        };
        const wantLogprobs = p.topLogprobs !== null;
        const choices = Array.from({ length: p.n * input.prompts.length }, (_, index) => ({
          index,
          text: '',
          finish: null as string | null,
          logprobs: { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] } as LegacyLogprobs,
        }));
        let streaming = false;
        try {
          for (let k = 0; k < input.prompts.length && !ctx.signal.aborted; k++) {
            meter.begin(counts[k]);
            const it = engine
              .complete({ ...p, maxTokens, prompt: input.prompts[k], echo: input.echo, client: clientOf(principal, req) }, ctx.signal)
              [Symbol.asyncIterator]();
            const first = await it.next(); // errors before the first event keep their HTTP status
            if (input.stream && !streaming) {
              startEventStream(res, ctx.headers);
              streaming = true;
            }
            for (let r = first; !r.done; r = await it.next()) {
              const e = meter.see(r.value);
              const c = e.type === 'usage' ? null : choices[k * p.n + e.index];
              if (e.type === 'text' && c) {
                const piece: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
                if (e.logprobs) {
                  appendLogprobs(c.logprobs, e.logprobs, c.text.length);
                  appendLogprobs(piece, e.logprobs, c.text.length);
                }
                c.text += e.text;
                if (input.stream)
                  sendEvent(res, {
                    ...head,
                    choices: [{ index: c.index, text: e.text, logprobs: wantLogprobs ? piece : null, finish_reason: null }],
                  });
              } else if (e.type === 'done' && c) {
                c.finish = e.finishReason;
                if (input.stream)
                  sendEvent(res, { ...head, choices: [{ index: c.index, text: '', logprobs: null, finish_reason: e.finishReason }] });
              }
            }
          }
        } catch (e) {
          if (!input.stream) meter.undelivered();
          throw e;
        }
        if (ctx.signal.aborted) return;
        const used = await ctx.settle();
        const usage = { prompt_tokens: used.prompt, completion_tokens: used.completion, total_tokens: used.prompt + used.completion };
        if (input.stream) {
          if (input.includeUsage) sendEvent(res, { ...head, choices: [], usage });
          sendEvent(res, '[DONE]');
          res.end();
          return;
        }
        sendJson(
          res,
          200,
          {
            ...head,
            choices: choices.map((c) => ({
              index: c.index,
              text: c.text,
              logprobs: wantLogprobs ? c.logprobs : null,
              finish_reason: c.finish ?? 'length',
            })),
            usage,
          },
          ctx.headers,
        );
      },
    };
  });
}
