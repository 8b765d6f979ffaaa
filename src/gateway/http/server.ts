// The gateway: node:http with a small exact-match router (the API has a handful of fixed paths,
// so a table lookup beats a general router on the p99 overhead budget). Every answer that is not
// a success is an OpenAI error envelope, including unknown paths and wrong methods.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatCompletions } from './chat.ts';
import { completions } from './completions.ts';
import { moderations } from './moderations.ts';
import { authenticate, newId, type GatewayOptions, type RequestState } from './context.ts';
import { ApiError, modelNotFound, toApiError } from './errors.ts';
import { sendError, sendJson, type BodyLimits } from './wire.ts';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from './images.ts';
import { GatewayMetrics, GovernanceError, planAllows, type Plan } from '../governance/index.ts';
import type { GenerationHooks, GenerationSource } from './generation.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse, st: RequestState, path: string) => Promise<void> | void;

/** A model as GET /v1/models lists it (OpenAI's four fields and what a client needs to pick and budget one). */
export type ModelObject = ReturnType<typeof modelObject>;

export interface Gateway {
  /** The node:http request listener (mount it in another server if you like). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Hands paths the API does not own to another handler (the chat app), after the exact-match table
   * missed; what it throws is answered in the error envelope, and it is metered under st.route.
   */
  mount(owns: (path: string) => boolean, handler: Handler): void;
  /**
   * A chat completion for a principal authenticated elsewhere (a chat-app session), with a body built
   * by the caller, through the same pipeline as POST /v1/chat/completions: plan checks, limits, the
   * usage cap, the ledger and metrics apply unchanged.
   */
  chat(source: GenerationSource, req: IncomingMessage, res: ServerResponse, st: RequestState, hooks?: GenerationHooks): Promise<void>;
  /** The models a plan may call, as GET /v1/models lists them, and the catalog's default. */
  models(plan: Plan): { data: ModelObject[]; default: string | null };
  /** Listens; port 0 picks a free port. Resolves to the URL clients use. */
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
  readonly server: Server;
  readonly metrics: GatewayMetrics;
}

function modelObject(o: GatewayOptions, id: string) {
  const e = o.catalog.entries().find((x) => x.id === id)!;
  const s = e.snapshot;
  const engine = o.engines.get(s.engine);
  return {
    id,
    object: 'model',
    created: s.created,
    owned_by: s.ownedBy,
    // Beyond OpenAI's four fields: what a client needs to pick and budget a model.
    snapshot: s.id,
    alias: e.alias,
    context_window: s.contextWindow ?? engine?.contextWindow() ?? null,
    image_input: s.imageInput && (engine?.capabilities.imageInput ?? false),
    pricing: { prompt_per_1k: s.prices.prompt, completion_per_1k: s.prices.completion, currency: 'USD' },
    deprecation_date: s.deprecationDate,
  };
}

export function createGateway(o: GatewayOptions): Gateway {
  const metrics = o.metrics ?? new GatewayMetrics();
  const body: BodyLimits = { maxBytes: o.maxBodyBytes ?? 32 << 20, timeoutMs: o.bodyTimeoutMs ?? 30_000, maxDepth: o.maxJsonDepth ?? 64 };
  const images: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...o.images };
  const log = o.log ?? ((l: string) => console.error(l));

  const mounts: { owns: (path: string) => boolean; handler: Handler }[] = [];
  const visibleModels = (plan: Plan) => o.catalog.entries().filter((e) => planAllows(plan, e.id, e.snapshot.id));
  const routes = new Map<string, Map<string, Handler>>();
  const route = (method: string, path: string, h: Handler) => {
    if (!routes.has(path)) routes.set(path, new Map());
    routes.get(path)!.set(method, h);
  };
  route('POST', '/v1/chat/completions', (req, res, st) => chatCompletions(o, body, images, req, res, st));
  route('POST', '/v1/completions', (req, res, st) => completions(o, body, req, res, st));
  route('POST', '/v1/moderations', (req, res, st) => moderations(o, body, req, res, st));
  // A key sees only the models its plan may call, as OpenAI lists only what a key can use.
  route('GET', '/v1/models', async (req, res) => {
    const { plan } = await authenticate(o, req);
    sendJson(res, 200, { object: 'list', data: visibleModels(plan).map((e) => modelObject(o, e.id)) });
  });
  route('GET', '/v1/models/*', async (req, res, _st, path) => {
    const { plan } = await authenticate(o, req);
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/v1/models/'.length));
    } catch {
      id = path.slice('/v1/models/'.length);
    }
    const r = o.catalog.resolve(id);
    if (!r || !planAllows(plan, id, r.snapshot.id)) throw modelNotFound(id);
    sendJson(res, 200, modelObject(o, id));
  });
  route('GET', '/healthz', (_req, res) => {
    const engines = Object.fromEntries([...o.engines].map(([name, e]) => [name, { kind: e.kind, queue_depth: e.queueDepth() }]));
    sendJson(res, 200, { status: 'ok', models: o.catalog.entries().length, engines });
  });
  // Authenticated like the API: series carry model ids a key's plan may not see; Prometheus sends
  // a key with its `authorization` scrape setting. Without keys, loopback scrapers need none.
  route('GET', '/metrics', async (req, res) => {
    await authenticate(o, req);
    const depth: Record<string, number> = {};
    for (const s of o.catalog.config.snapshots) depth[s.id] = o.engines.get(s.engine)?.queueDepth() ?? 0;
    const text = await metrics.render(depth);
    res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const table = routes.get(path) ?? (path.startsWith('/v1/models/') && path.length > 11 ? routes.get('/v1/models/*') : undefined);
    const mounted = table ? undefined : mounts.find((m) => m.owns(path));
    const st: RequestState = {
      id: '',
      route: table ? (routes.get(path) ? path : '/v1/models/{id}') : mounted ? 'app' : 'unknown',
      started: performance.now(),
      model: '-',
      promptTokens: 0,
      completionTokens: 0,
    };
    res.on('finish', () =>
      metrics.observe({
        route: st.route,
        model: st.model,
        status: res.statusCode,
        latencyMs: performance.now() - st.started,
        promptTokens: st.promptTokens,
        completionTokens: st.completionTokens,
        firstTokenMs: st.firstTokenMs,
        limit: st.limit,
      }),
    );
    const fail = (e: unknown) => {
      let err = toApiError(e);
      if (e instanceof GovernanceError && e.status === 429) st.limit = e.code === 'usage_cap_exceeded' ? 'usage_cap' : e.type;
      if (err.detail !== undefined || (err.status >= 500 && !(e instanceof ApiError))) {
        // The client gets a message without internals plus an id to quote; the log gets the detail under that id.
        const ref = st.id || newId('req');
        log(`tetra serve: ${ref} ${req.method} ${path} ${err.status}: ${err.detail ?? (e as Error)?.stack ?? e}`);
        err = new ApiError(err.status, `${err.message} (request ${ref})`, err.type, err.param, err.code, err.headers);
      }
      try {
        sendError(res, err);
      } catch {
        res.destroy();
      }
    };
    const h = mounted ? mounted.handler : table?.get(req.method ?? '');
    if (!table && !mounted)
      return fail(
        new ApiError(
          404,
          `Invalid URL (${req.method} ${path}); see GET /v1/models, POST /v1/chat/completions, POST /v1/completions.`,
          'invalid_request_error',
          null,
          'unknown_url',
        ),
      );
    if (!h)
      return fail(
        new ApiError(
          405,
          `${req.method} is not allowed on ${path}; use ${[...table!.keys()].join(' or ')}.`,
          'invalid_request_error',
          null,
          'method_not_allowed',
          { allow: [...table!.keys()].join(', ') },
        ),
      );
    try {
      const r = h(req, res, st, path);
      if (r) r.catch(fail);
    } catch (e) {
      fail(e);
    }
  }

  // Node's own request timeout answers with a bare 408; ours (bodyTimeoutMs) fires first and uses the envelope.
  // Headers that trickle in (slowloris) get a 408 from the clientError handler below; Node checks
  // the deadline every connectionsCheckingInterval, so that is kept well under the deadline.
  const headersTimeout = o.headersTimeoutMs ?? Math.min(20_000, body.timeoutMs + 5_000);
  const server = createServer(
    {
      requestTimeout: body.timeoutMs + 5_000,
      headersTimeout,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: Math.max(50, Math.min(5_000, headersTimeout / 2)),
    },
    handle,
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed HTTP (bad request line, oversized headers) or headers too slow to arrive (slowloris):
    // answer in the envelope when the socket still can.
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, reason, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'The request headers are too large.']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', `The request headers did not arrive within ${server.headersTimeout} ms.`]
          : [400, 'Bad Request', `The HTTP request is malformed (${err.code ?? 'parse error'}).`];
    const text = JSON.stringify(
      new ApiError(status, message, 'invalid_request_error', null, status === 408 ? 'request_timeout' : null).body(),
    );
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: ` +
        `close\r\n\r\n${text}`,
    );
  });
  return {
    handle,
    server,
    metrics,
    mount(owns, handler) {
      mounts.push({ owns, handler });
    },
    chat(source, req, res, st, hooks) {
      return chatCompletions(o, body, images, req, res, st, source, hooks);
    },
    models(plan) {
      const visible = visibleModels(plan);
      const def = o.catalog.config.defaultModel;
      return {
        data: visible.map((e) => modelObject(o, e.id)),
        default: def !== null && visible.some((e) => e.id === def) ? def : (visible[0]?.id ?? null),
      };
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
