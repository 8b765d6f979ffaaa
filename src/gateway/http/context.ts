// What every route shares: the options the gateway was built with, and the steps of serving a
// generation request in the order governance/contract.ts prescribes (authenticate, resolve the model and
// check the plan, admit, ... generate ..., settle and record).
import type { ModerationService } from './moderations.ts';
import { createHash, randomFillSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ChatEngine } from '../../engine/index.ts';
import type { Catalog, Snapshot } from './catalog.ts';
import { ApiError, modelNotFound } from './errors.ts';
import {
  checkModel,
  costUsd,
  type Admission,
  type Auth,
  type GatewayMetrics,
  type Ledger,
  type Limits,
  type Principal,
} from '../governance/index.ts';
import { bearer } from './wire.ts';
import type { ImageLimits } from './images.ts';

export interface GatewayOptions {
  catalog: Catalog;
  /** Engines by the names the catalog's snapshots use. */
  engines: Map<string, ChatEngine>;
  auth: Auth;
  limits: Limits;
  ledger: Ledger;
  metrics?: GatewayMetrics;
  /** Body size limit in bytes (default 32 MiB: room for a few base64 images). */
  maxBodyBytes?: number;
  /** The whole body must arrive within this many ms (default 30 s). */
  bodyTimeoutMs?: number;
  maxJsonDepth?: number;
  /** The request line and headers must arrive within this many ms (default 20 s, or the body timeout + 5 s if less). */
  headersTimeoutMs?: number;
  images?: Partial<ImageLimits>;
  /** Where unexpected errors are reported (default stderr). */
  log?: (line: string) => void;
  /** Serves /v1/moderations (without it, that route answers 404 naming the flag that loads one). */
  moderation?: ModerationService;
}

/** Per request: filled in as the request goes through, read by the metrics and ledger at the end. */
export interface RequestState {
  id: string;
  route: string;
  started: number;
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** Streamed generations: ms from `started` to the first token written. */
  firstTokenMs?: number;
  /** Refused by the plan's limits: which limit (for tetra_rate_limited_total). */
  limit?: string;
}

// Ids draw 12 random bytes from a pool refilled 128 ids at a time (one getrandom call instead of one per request).
const idPool = Buffer.alloc(12 * 128);
let idAt = idPool.length;
export function newId(prefix: string): string {
  if (idAt === idPool.length) {
    randomFillSync(idPool);
    idAt = 0;
  }
  idAt += 12;
  return `${prefix}-${idPool.toString('base64url', idAt - 12, idAt)}`;
}

const fingerprints = new WeakMap<Snapshot, Map<ChatEngine, string>>();

/** A stable fingerprint of the serving configuration: changes when the snapshot's engine setup does. */
export function fingerprint(s: Snapshot, engine: ChatEngine, spec: unknown): string {
  let byEngine = fingerprints.get(s);
  if (!byEngine) fingerprints.set(s, (byEngine = new Map()));
  let fp = byEngine.get(engine);
  if (fp === undefined) {
    fp =
      'fp_' +
      createHash('sha256')
        .update(JSON.stringify([s.id, s.engine, engine.kind, spec ?? null]))
        .digest('hex')
        .slice(0, 10);
    byEngine.set(engine, fp);
  }
  return fp;
}

export interface Served {
  principal: Principal;
  snapshot: Snapshot;
  engine: ChatEngine;
  fingerprint: string;
  window: number;
}

export async function authenticate(o: GatewayOptions, req: IncomingMessage): Promise<Principal> {
  return o.auth.authenticate(bearer(req.headers.authorization), req.socket.remoteAddress ?? '');
}

/** The snapshot and engine for a model id the principal's plan may use; 404 otherwise (as OpenAI does for models without access). */
export function resolveModel(o: GatewayOptions, principal: Principal, model: string): Served {
  const r = o.catalog.resolve(model);
  if (!r) throw modelNotFound(model);
  checkModel(principal.plan, model, r.snapshot.id);
  const engine = o.engines.get(r.snapshot.engine);
  if (!engine)
    throw new ApiError(
      503,
      `The engine "${r.snapshot.engine}" for model ${r.snapshot.id} is not running; check the server's configuration and logs.`,
      'server_error',
      null,
      'engine_unavailable',
    );
  return {
    principal,
    snapshot: r.snapshot,
    engine,
    fingerprint: fingerprint(r.snapshot, engine, o.catalog.config.engines[r.snapshot.engine]),
    window: r.snapshot.contextWindow ?? engine.contextWindow(),
  };
}

/** OpenAI's context error, with the counts; `completion` undefined = no max_tokens given. */
export function checkContext(window: number, prompt: number, completion: number | undefined, param = 'messages'): number {
  const what = param === 'messages' ? 'messages' : 'prompt';
  if (completion === undefined) {
    if (prompt >= window) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${window} tokens. However, your ${what} resulted in ${prompt} tokens, which leaves ` +
          `no room for a completion. Please reduce the length of the ${what}.`,
        'invalid_request_error',
        param,
        'context_length_exceeded',
      );
    }
    return window - prompt;
  }
  if (prompt + completion > window) {
    throw new ApiError(
      400,
      `This model's maximum context length is ${window} tokens. However, you requested ${prompt + completion} tokens (${prompt} in ` +
        `the ${what}, ${completion} in the completion). Please reduce the length of the ${what} or completion.`,
      'invalid_request_error',
      param,
      'context_length_exceeded',
    );
  }
  return completion;
}

/** Settles the admission and writes the ledger row; failures here are logged, never sent to a client that already has its answer. */
export async function account(o: GatewayOptions, st: RequestState, served: Served, admission: Admission, status: number): Promise<void> {
  const total = st.promptTokens + st.completionTokens;
  try {
    await admission.settle(total);
    const row = {
      requestId: st.id,
      // Who: the API key, or a chat-app user (`user:NAME`, so `tetra usage --by key` sums per user); null on loopback.
      keyId: served.principal.key?.id ?? (served.principal.user ? `user:${served.principal.user.name}` : null),
      plan: served.principal.plan.name,
      model: served.snapshot.id,
      endpoint: st.route,
      promptTokens: st.promptTokens,
      completionTokens: st.completionTokens,
      cost: costUsd(served.principal.plan, served.snapshot.prices, st.promptTokens, st.completionTokens),
      latencyMs: performance.now() - st.started,
      status,
      createdAt: new Date().toISOString(),
    };
    if (o.ledger.recordSoon) await o.ledger.recordSoon(row);
    else o.ledger.record(row);
  } catch (e) {
    (o.log ?? console.error)(`tetra serve: accounting for ${st.id} failed: ${(e as Error).message}`);
  }
}

/** The fair-queue lane of a request: its API key, or for keyless (loopback) use its address. */
export function clientOf(principal: Principal, req: { socket: { remoteAddress?: string } }): string {
  return principal.key?.id ?? `addr:${req.socket.remoteAddress ?? ''}`;
}
