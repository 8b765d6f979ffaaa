// Mounts the chat app on a gateway: `/` and /app/assets/* serve the page (assets.ts), /app/api/*
// the JSON routes (api.ts). The gateway's exact-match table keeps /v1 first; the app only sees
// paths the API does not own. Route labels for the metrics are the patterns, never raw ids.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ApiError,
  DEFAULT_IMAGE_LIMITS,
  sendJson,
  type BodyLimits,
  type Gateway,
  type ImageLimits,
  type Limits,
  type PlanSet,
  type RequestState,
} from '../gateway/index.ts';
import { Access, checkSameOrigin, cookieValue, LoginThrottle, SESSION_COOKIE } from './access.ts';
import * as api from './api.ts';
import { Assets, SECURITY_HEADERS } from './assets.ts';
import { AppStoreError, type AppStore } from './store.ts';

export interface ChatAppOptions {
  store: AppStore;
  plans: PlanSet;
  /** The gateway's limits (the same object it admits with): the usage meter reads the cap from it. */
  limits: Limits;
  /** web/dist by default. */
  webDir?: string;
  images?: Partial<ImageLimits>;
  now?: () => number;
  /** Report cards by snapshot id (a release's report.html), served at /app/report/SNAPSHOT and linked from the page. */
  reports?: Record<string, string>;
}

/** A report card is a self-contained page: inline styles and SVG, its figures in a srcdoc frame, no scripts. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; base-uri 'none'; form-action 'none'";

export interface ChatApp {
  readonly assets: Assets;
  readonly access: Access;
}

type Route = { pattern: string; params: string[] };

/** /app/api/conversations/c_x/messages -> {pattern: '/app/api/conversations/{id}/messages', params: ['c_x']}. */
function routeOf(path: string): Route {
  const parts = path.split('/'); // ['', 'app', 'api', collection, id?, ...]
  if (parts.length < 5 || (parts[3] !== 'conversations' && parts[3] !== 'attachments')) return { pattern: path, params: [] };
  const params = [decodeURIComponent(parts[4])];
  parts[4] = '{id}';
  return { pattern: parts.join('/'), params };
}

export function mountChatApp(gateway: Gateway, o: ChatAppOptions): ChatApp {
  const assets = new Assets(o.webDir);
  const access = new Access(o.store, o.plans);
  const body: BodyLimits = { maxBytes: 48 << 20, timeoutMs: 30_000, maxDepth: 64 };
  const d: api.ApiDeps = {
    gateway,
    limits: o.limits,
    store: o.store,
    reports: o.reports ?? {},
    access,
    throttle: new LoginThrottle(),
    body,
    images: { ...DEFAULT_IMAGE_LIMITS, ...o.images },
    now: o.now ?? Date.now,
  };

  const owns = (path: string) => path === '/' || path === '/index.html' || path.startsWith('/app/');

  async function handle(req: IncomingMessage, res: ServerResponse, st: RequestState, path: string): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const method = req.method ?? 'GET';
    if (path.startsWith('/app/report/')) {
      st.route = '/app/report/{snapshot}';
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, path, 'GET');
      const file = o.reports?.[decodeURIComponent(path.slice('/app/report/'.length))];
      if (!file) throw api.notFound('report card');
      access.require(req);
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': REPORT_CSP,
        'cache-control': 'no-cache',
      });
      res.end(method === 'HEAD' ? undefined : readFileSync(file));
      return;
    }
    if (!path.startsWith('/app/api/')) {
      st.route = path.startsWith('/app/assets/') ? '/app/assets' : '/';
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, path, 'GET');
      assets.serve(req, res, path);
      return;
    }
    const { pattern, params } = routeOf(path);
    st.route = pattern;
    const [id] = params;
    const key = `${method} ${pattern}`;
    res.setHeader('cache-control', 'no-store');
    switch (key) {
      case 'GET /app/api/session':
        return sendJson(res, 200, api.sessionInfo(d, req));
      case 'POST /app/api/login':
        return api.login(d, req, res);
      case 'POST /app/api/logout':
        return api.logout(d, req, res, cookieValue(req, SESSION_COOKIE));
    }
    const c = access.require(req);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    switch (key) {
      case 'GET /app/api/usage':
        return sendJson(res, 200, await api.usage(d, c));
      case 'GET /app/api/models':
        return sendJson(res, 200, api.models(d, c));
      case 'GET /app/api/conversations':
        return sendJson(res, 200, api.listConversations(d, c, query.get('q') || undefined, query.get('before')));
      case 'POST /app/api/conversations':
        return sendJson(res, 200, await api.createConversation(d, req, c));
      case 'GET /app/api/conversations/{id}': {
        const detail = o.store.getConversation(c.user.id, id);
        if (!detail) throw api.notFound('conversation');
        return sendJson(res, 200, detail);
      }
      case 'PATCH /app/api/conversations/{id}':
        return sendJson(res, 200, await api.patchConversation(d, req, c, id));
      case 'DELETE /app/api/conversations/{id}': {
        checkSameOrigin(req, false);
        if (!o.store.deleteConversation(c.user.id, id)) throw api.notFound('conversation');
        res.writeHead(204);
        res.end();
        return;
      }
      case 'POST /app/api/conversations/{id}/messages':
        return api.send(d, req, res, st, c, id);
      case 'GET /app/api/conversations/{id}/export':
        return api.exportConversation(d, res, c, id, query.get('format'));
      case 'GET /app/api/attachments/{id}':
        return api.attachment(d, res, c, id);
    }
    throw new ApiError(404, `Invalid URL (${method} ${path}).`, 'invalid_request_error', null, 'unknown_url');
  }

  // Store errors carry a code and the field: a bad id or value is the caller's 400/404, not a 500.
  const guarded = async (req: IncomingMessage, res: ServerResponse, st: RequestState, path: string) => {
    try {
      await handle(req, res, st, path);
    } catch (e) {
      if (!(e instanceof AppStoreError)) throw e;
      const status = e.code === 'not_found' ? 404 : e.code === 'conflict' ? 409 : 400;
      throw new ApiError(status, e.message, 'invalid_request_error', e.param, e.code);
    }
  };
  gateway.mount(owns, guarded);
  return { assets, access };
}

function methodNotAllowed(method: string, path: string, allow: string): ApiError {
  return new ApiError(405, `${method} is not allowed on ${path}; use ${allow}.`, 'invalid_request_error', null, 'method_not_allowed', {
    allow,
  });
}
