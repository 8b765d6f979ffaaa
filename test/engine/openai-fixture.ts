// A small but real OpenAI-compatible HTTP server for engine tests, backed by tetra's own model (a
// seeded random GPT over the byte tokenizer): /v1/chat/completions and /v1/completions, streaming
// as SSE (chat.completion.chunk / text_completion, include_usage, [DONE]) or whole JSON, logprobs,
// n, stop, seed, and OpenAI's error envelope (401 bad key, 404 unknown model, 400 context length).
// It records every request and whether its client hung up before the stream ended, so tests can
// see an abort reach the server. A fixture for the upstream engine to talk to, not a mock of it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateStream, GPT, type GPTConfig } from '../../src/model/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { byteTokenizer, renderPrompt, StreamDecoder, type ChatMessage } from '../../src/tokenizer/index.ts';

export interface FixtureRequest {
  path: string;
  body: Record<string, any>;
  /** Tokens generated so far. */
  tokens: number;
  /** The client closed the connection before the response ended. */
  clientClosed: boolean;
  finished: boolean;
}

export interface OpenAIFixture {
  url: string;
  requests: FixtureRequest[];
  tokenizer: ReturnType<typeof byteTokenizer>;
  /** The same model the server runs, for computing expected outputs. */
  model: GPT;
  close(): Promise<void>;
}

export async function startOpenAIFixture(o: {
  apiKey: string;
  model: string;
  tokenDelayMs?: number;
  seed?: number;
}): Promise<OpenAIFixture> {
  const tok = byteTokenizer();
  const config: GPTConfig = {
    vocabSize: tok.idLimit,
    contextLength: 256,
    nLayer: 1,
    nEmbd: 32,
    nHead: 2,
    mlpHidden: 64,
    tiedEmbeddings: true,
    ropeBase: 10000,
    normEps: 1e-5,
  };
  const model = GPT.init(config, o.seed ?? 3);
  const backend = defaultBackend();
  const requests: FixtureRequest[] = [];
  const end = tok.special('<|end|>');

  const fail = (res: ServerResponse, status: number, message: string, code: string | null, param: string | null = null) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } }));
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    let raw = '';
    for await (const c of req) raw += c;
    const path = (req.url ?? '').replace(/\?.*/, '');
    if (req.headers.authorization !== `Bearer ${o.apiKey}`) return fail(res, 401, 'Incorrect API key provided.', 'invalid_api_key');
    let body: Record<string, any>;
    try {
      body = JSON.parse(raw);
    } catch {
      return fail(res, 400, 'We could not parse the JSON body of your request.', null);
    }
    if (body.model !== o.model)
      return fail(res, 404, `The model \`${body.model}\` does not exist or you do not have access to it.`, 'model_not_found');
    const record: FixtureRequest = { path, body, tokens: 0, clientClosed: false, finished: false };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.clientClosed = true;
    });

    const chat = path === '/v1/chat/completions';
    if (!chat && path !== '/v1/completions') return fail(res, 404, `Unknown path ${path}`, null);
    const prompt = chat
      ? renderPrompt(
          tok,
          (body.messages as { role: string; content: string | { type: string; text?: string }[] }[]).map(
            (m): ChatMessage => ({
              role: m.role as ChatMessage['role'],
              content:
                typeof m.content === 'string'
                  ? m.content
                  : m.content
                      .filter((p) => p.type === 'text')
                      .map((p) => p.text)
                      .join(''),
            }),
          ),
        ).ids
      : tok.encode(body.prompt as string);
    const maxTokens: number = body.max_completion_tokens ?? body.max_tokens ?? 16;
    if (prompt.length + maxTokens > config.contextLength) {
      return fail(
        res,
        400,
        `This model's maximum context length is ${config.contextLength} tokens. However, you requested ${prompt.length + maxTokens} tokens (${prompt.length} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
        'context_length_exceeded',
        chat ? 'messages' : 'prompt',
      );
    }
    const n: number = body.n ?? 1;
    const id = `fixture-${requests.length}`,
      created = Math.floor(Date.now() / 1000);
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    const stream = body.stream === true;
    const topK: number | undefined = chat ? (body.logprobs ? (body.top_logprobs ?? 0) : undefined) : (body.logprobs ?? undefined);
    const send = (choices: unknown[], usage: unknown = null) => {
      if (stream)
        res.write(
          `data: ${JSON.stringify({ id, object, created, model: o.model, choices, ...(body.stream_options?.include_usage ? { usage } : {}) })}\n\n`,
        );
    };
    if (stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });

    const decoders = Array.from({ length: n }, () => new StreamDecoder(tok));
    const texts = Array.from({ length: n }, () => '');
    const lps: unknown[][] = Array.from({ length: n }, () => []);
    if (!chat && body.echo) {
      for (let i = 0; i < n; i++) {
        texts[i] = body.prompt;
        send([{ index: i, text: body.prompt, logprobs: null, finish_reason: null }]);
      }
    }
    const it = generateStream(
      model,
      backend,
      Array.from({ length: n }, () => Int32Array.from(prompt)),
      {
        maxTokens,
        temperature: body.temperature ?? 1,
        topP: body.top_p ?? 1,
        seed: body.seed ?? 0,
        stopTokens: [end],
        stopStrings: body.stop ? [].concat(body.stop) : undefined,
        decode: (ids) => tok.decode(ids),
        logprobs: topK,
      },
    );
    let r = it.next();
    while (!r.done) {
      if (record.clientClosed) return; // the client hung up: stop generating
      const ev = r.value;
      record.tokens++;
      const text = decoders[ev.seq].push(ev.token);
      const tokText = tok.decode([ev.token]);
      const bytes = [...tok.decodeBytes([ev.token])];
      let logprobs: unknown = null;
      if (topK !== undefined) {
        const top = (ev.top ?? []).map((t) => ({
          token: tok.decode([t.token]),
          logprob: t.logprob,
          bytes: [...tok.decodeBytes([t.token])],
        }));
        if (chat) logprobs = { content: [{ token: tokText, logprob: ev.logprob, bytes, top_logprobs: top }] };
        else
          logprobs = {
            tokens: [tokText],
            token_logprobs: [ev.logprob],
            top_logprobs: [Object.fromEntries(top.map((t) => [t.token, t.logprob]))],
            text_offset: [texts[ev.seq].length],
          };
        lps[ev.seq].push(logprobs);
      }
      texts[ev.seq] += text;
      send([
        chat
          ? { index: ev.seq, delta: { ...(record.tokens <= n ? { role: 'assistant' } : {}), content: text }, logprobs, finish_reason: null }
          : { index: ev.seq, text, logprobs, finish_reason: null },
      ]);
      if (o.tokenDelayMs) await new Promise((d) => setTimeout(d, o.tokenDelayMs));
      r = it.next();
    }
    const gens = r.value;
    const completionTokens = gens.reduce((s, g) => s + g.tokens.length, 0);
    const usage = { prompt_tokens: prompt.length, completion_tokens: completionTokens, total_tokens: prompt.length + completionTokens };
    if (stream) {
      gens.forEach((g, i) =>
        send([
          chat
            ? { index: i, delta: {}, logprobs: null, finish_reason: g.finishReason }
            : { index: i, text: '', logprobs: null, finish_reason: g.finishReason },
        ]),
      );
      if (body.stream_options?.include_usage) send([], usage);
      res.end('data: [DONE]\n\n');
    } else {
      const choices = gens.map((g, i) =>
        chat
          ? { index: i, message: { role: 'assistant', content: g.text }, logprobs: null, finish_reason: g.finishReason }
          : { index: i, text: texts[i], logprobs: null, finish_reason: g.finishReason },
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, object: chat ? 'chat.completion' : 'text_completion', created, model: o.model, choices, usage }));
    }
    record.finished = true;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) fail(res, 500, String(e), null);
      else res.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    tokenizer: tok,
    model,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
