// Who is using the chat app, and whether a write may come from where it came from.
// - No chat users configured: no sign-in, as the API's open mode: the app serves this machine only
//   (a loopback peer AND a loopback Host header, so a web page that rebinds its DNS name to
//   127.0.0.1 is refused), as the built-in local user on the default plan.
// - Users configured (`tetra users create`): a session cookie from POST /app/api/login, HttpOnly,
//   SameSite=Lax; only a hash of its token is stored (store.ts). API keys stay the API's credentials.
// CSRF: a cookie-authenticated write must be same-origin by Fetch Metadata (Sec-Fetch-Site), or,
// from a browser that does not send it, by Origin; a body must be application/json, which no
// cross-site HTML form can send. Clients that send neither header are not browsers (curl, scripts)
// and hold no victim's cookie.
import type { IncomingMessage } from 'node:http';
import { ApiError, getPlan, isLoopback, type PlanSet, type Principal } from '../gateway/index.ts';
import type { AppUser } from './contract.ts';
import type { AppStore } from './store.ts';

export const SESSION_COOKIE = 'tetra_session';
const SESSION_MAX_AGE_S = 30 * 24 * 3600;

export interface Caller {
  user: AppUser;
  principal: Principal;
}

export function cookieValue(req: IncomingMessage, name: string): string | null {
  const h = req.headers.cookie;
  if (!h) return null;
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return null;
}

/** Served over TLS (directly or behind a proxy that says so): the cookie gets Secure. */
function secure(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-forwarded-proto'] === 'https';
}

export function sessionCookie(req: IncomingMessage, token: string): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_MAX_AGE_S}${secure(req) ? '; Secure' : ''}`;
}

export function clearedCookie(req: IncomingMessage): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure(req) ? '; Secure' : ''}`;
}

/** localhost, 127.x.y.z or [::1], with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || isLoopback(name);
}

function forbidden(message: string, code: string): ApiError {
  return new ApiError(403, message, 'invalid_request_error', null, code);
}

/** Throws 403 'csrf' unless a state-changing request is same-origin (see the header). */
export function checkSameOrigin(req: IncomingMessage, hasBody: boolean): void {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (typeof site === 'string') {
    if (site !== 'same-origin' && site !== 'none')
      throw forbidden(`Cross-site request refused (Sec-Fetch-Site: ${site}); the chat app only accepts writes from its own pages.`, 'csrf');
  } else if (typeof origin === 'string') {
    const host = req.headers.host ?? '';
    if (origin !== `http://${host}` && origin !== `https://${host}`)
      throw forbidden(`Cross-origin request refused (Origin ${origin} is not this server, ${host}).`, 'csrf');
  }
  if (hasBody) {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') throw forbidden(`Send the body as Content-Type: application/json (got ${type || 'none'}).`, 'csrf');
  }
}

export class Access {
  constructor(
    private readonly store: AppStore,
    private readonly plans: PlanSet,
  ) {}

  mode(): 'none' | 'password' {
    return this.store.hasUsers() ? 'password' : 'none';
  }

  /** The caller, or null when sign-in is needed and the request has no live session. Throws when the app is not open to it. */
  caller(req: IncomingMessage): Caller | null {
    if (this.mode() === 'password') {
      const token = cookieValue(req, SESSION_COOKIE);
      const user = token ? this.store.sessionUser(token) : null;
      if (!user) return null;
      const plan = this.plans.plans.get(user.plan);
      if (!plan)
        throw forbidden(
          `Your account is on plan '${user.plan}', which this server does not define (${this.plans.source}); ask the operator.`,
          'plan_not_found',
        );
      return { user, principal: { key: null, plan, user: { id: user.id, name: user.name } } };
    }
    if (!isLoopback(req.socket.remoteAddress ?? '') || !isLoopbackHost(req.headers.host)) {
      throw new ApiError(
        401,
        'This server has no chat users, so the app serves only this machine (http://localhost). Ask the operator to create an ' +
          'account (`tetra users create NAME --plan PLAN`).',
        'invalid_request_error',
        null,
        'sign_in_unavailable',
      );
    }
    const plan = getPlan(this.plans, this.plans.defaultPlan);
    return { user: this.store.localUser(plan.name), principal: { key: null, plan } };
  }

  /** As caller(), but 401 when nobody is signed in. */
  require(req: IncomingMessage): Caller {
    const c = this.caller(req);
    if (!c) throw new ApiError(401, 'Sign in to use the chat app.', 'invalid_request_error', null, 'not_signed_in');
    return c;
  }
}

/**
 * Failed sign-ins per name and per address, in a sliding window: scrypt is deliberately slow, and
 * guessing must stay slower still. 10 failures in 15 minutes locks that name (or address) until the
 * oldest failure leaves the window.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly max = 10,
    private readonly windowMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(k: string): number[] {
    const since = this.now() - this.windowMs;
    const list = (this.failures.get(k) ?? []).filter((t) => t > since);
    if (list.length) this.failures.set(k, list);
    else this.failures.delete(k);
    return list;
  }

  /** ms until a sign-in may be tried again for these subjects (0 = now). */
  waitMs(subjects: string[]): number {
    let wait = 0;
    for (const k of subjects) {
      const list = this.recent(k);
      if (list.length >= this.max) wait = Math.max(wait, list[0] + this.windowMs - this.now());
    }
    return wait;
  }

  fail(subjects: string[]): void {
    for (const k of subjects) this.failures.set(k, [...this.recent(k), this.now()]);
  }

  succeed(subjects: string[]): void {
    for (const k of subjects) this.failures.delete(k);
  }
}
