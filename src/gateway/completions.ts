// POST /v1/completions: raw-prompt completions, for log-likelihood evaluators (lm-evaluation-
// harness' local-completions sends echo: true, logprobs: 1 and max_tokens 0 or 1, then reads
// token_logprobs of the prompt's continuation). Several prompts in one request are served one
// after another; choice index = prompt index * n + choice.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenLogprobInfo } from '../engine/types.ts';
import { account, authenticate, clientOf, checkContext, newId, resolveModel, type GatewayOptions, type RequestState } from './context.ts';
import { ApiError, invalid } from './errors.ts';
import { parseJson, readBody, sendEvent, sendJson, startEventStream, type BodyLimits } from './http.ts';
import { validateCompletion } from './validate.ts';

interface LegacyLogprobs { tokens: string[]; token_logprobs: (number | null)[]; top_logprobs: (Record<string, number> | null)[]; text_offset: number[] }

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

export async function completions(o: GatewayOptions, body: BodyLimits, req: IncomingMessage, res: ServerResponse, st: RequestState): Promise<void> {
  const principal = await authenticate(o, req);
  const input = validateCompletion(parseJson(await readBody(req, body), body.maxDepth));
  const served = resolveModel(o, principal, input.model);
  const { snapshot, engine } = served;
  st.model = snapshot.id;
  const p = input.params;
  if (!engine.capabilities.completions) throw invalid('model', `The model ${input.model} does not serve raw-prompt completions; use /v1/chat/completions.`, 'unsupported_capability');
  if (p.topLogprobs !== null && !engine.capabilities.logprobs) throw invalid('logprobs', `The model ${input.model} does not report logprobs; omit logprobs.`, 'unsupported_capability');
  if (p.maxTokens === 0 && !input.echo) throw invalid('max_tokens', 'max_tokens 0 only makes sense with echo: true (to score the prompt)');

  const counts = await Promise.all(input.prompts.map((t) => engine.countTextTokens(t)));
  counts.forEach((c, i) => checkContext(served.window, c, p.maxTokens, input.prompts.length > 1 ? `prompt[${i}]` : 'prompt'));
  const maxTokens = p.maxTokens!;
  const admission = await o.limits.admit(principal, counts.reduce((a, b) => a + b, 0) + maxTokens * p.n * input.prompts.length);
  const headers = { ...admission.headers } as Record<string, string>;
  const abort = new AbortController();
  res.on('close', () => { if (!res.writableFinished) abort.abort(); });

  st.id = newId('cmpl'); // the ledger row's request id is the completion id the client sees
  const head = { id: st.id, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: snapshot.id, system_fingerprint: served.fingerprint };
  const wantLogprobs = p.topLogprobs !== null;
  const choices = Array.from({ length: p.n * input.prompts.length }, (_, index) => ({
    index, text: '', finish: null as string | null,
    logprobs: { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] } as LegacyLogprobs,
  }));
  let status = 200, streaming = false;
  try {
    for (let k = 0; k < input.prompts.length; k++) {
      const it = engine.complete({ ...p, maxTokens, prompt: input.prompts[k], echo: input.echo, client: clientOf(principal, req) }, abort.signal)[Symbol.asyncIterator]();
      const first = await it.next(); // errors before the first event keep their HTTP status
      if (input.stream && !streaming) { startEventStream(res, headers); streaming = true; }
      for (let r = first; !r.done; r = await it.next()) {
        const e = r.value;
        const c = e.type === 'usage' ? null : choices[k * p.n + e.index];
        if (e.type === 'text' && c) {
          const piece: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
          if (e.logprobs) { appendLogprobs(c.logprobs, e.logprobs, c.text.length); appendLogprobs(piece, e.logprobs, c.text.length); }
          c.text += e.text;
          if (input.stream) sendEvent(res, { ...head, choices: [{ index: c.index, text: e.text, logprobs: wantLogprobs ? piece : null, finish_reason: null }] });
        } else if (e.type === 'done' && c) {
          c.finish = e.finishReason;
          if (input.stream) sendEvent(res, { ...head, choices: [{ index: c.index, text: '', logprobs: null, finish_reason: e.finishReason }] });
        } else if (e.type === 'usage') { st.promptTokens += e.promptTokens; st.completionTokens += e.completionTokens; }
      }
      if (abort.signal.aborted) { status = 499; return; }
    }
    await account(o, st, served, admission, 200);
    const usage = { prompt_tokens: st.promptTokens, completion_tokens: st.completionTokens, total_tokens: st.promptTokens + st.completionTokens };
    if (input.stream) {
      if (input.includeUsage) sendEvent(res, { ...head, choices: [], usage });
      sendEvent(res, '[DONE]');
      res.end();
      return;
    }
    sendJson(res, 200, {
      ...head,
      choices: choices.map((c) => ({ index: c.index, text: c.text, logprobs: wantLogprobs ? c.logprobs : null, finish_reason: c.finish ?? 'length' })),
      usage,
    }, headers);
  } catch (e) {
    status = e instanceof ApiError ? e.status : 500;
    throw e;
  } finally {
    if (status !== 200) await account(o, st, served, admission, status);
  }
}
