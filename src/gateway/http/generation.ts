// The one pipeline every generation route runs, in the order governance/contract.ts prescribes:
//   authenticate -> read and validate the body -> resolve the model (plan check) -> the route's
//   capability checks, images and token count -> context check -> admit -> generate -> account.
// A route supplies only what differs: how it validates and prepares (`prepare`) and how it shapes
// engine events into its response (`respond`). Accounting lives here once, so every route bills
// what it delivered and records the status the client was sent, whoever ended the stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatEngine, EngineEvent } from '../../engine/index.ts';
import { account, authenticate, newId, type GatewayOptions, type RequestState, type Served } from './context.ts';
import { toApiError } from './errors.ts';
import type { Principal } from '../governance/index.ts';
import { parseJson, readBody, type BodyLimits } from './wire.ts';

/** What a route has made of a request once it is ready to generate. */
export interface PreparedGeneration {
  served: Served;
  /** Streamed: the time to the first token is measured. */
  stream: boolean;
  /** Prompt tokens as the engine counts them (billed if the engine never reports usage). */
  promptTokens: number;
  /** Tokens to hold against the plan's TPM: the prompt plus the most every choice may generate. */
  reserve: number;
  /** Runs the engine and writes the answer; must call ctx.settle() before its last write. */
  respond(ctx: GenerationContext): Promise<void>;
}

export interface GenerationContext {
  res: ServerResponse;
  /** The completion id the client sees; also the ledger row's request id. */
  id: string;
  /** x-ratelimit-* from admission, for the response. */
  headers: Record<string, string>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  meter: UsageMeter;
  /** Writes the ledger row for a success (durable before the response completes); resolves to the usage it billed. */
  settle(): Promise<{ prompt: number; completion: number }>;
}

export type PrepareGeneration = (principal: Principal, body: unknown, signal: AbortSignal, st: RequestState) => Promise<PreparedGeneration>;

/** A caller that has already authenticated the request and built its body (the chat app's send). */
export interface GenerationSource {
  principal: Principal;
  body: unknown;
}

/** Observers of one generation, for a caller that keeps what was generated (the chat app stores the answer). */
export interface GenerationHooks {
  /** Every engine event, in order, as it is delivered. */
  onEvent?(e: EngineEvent): void;
  /**
   * Once the request is accounted (admitted requests only): the status the client was sent (200, 499 when
   * the client went away, else the error's), the usage billed, and ms from the request's start to its first token.
   */
  onEnd?(end: { status: number; prompt: number; completion: number; firstTokenMs?: number }): void | Promise<void>;
}

/**
 * Usage as the engine reports it, and, for an engine call that ended without its usage event (the
 * upstream died mid-stream, the engine threw), the text it had already delivered, counted here.
 */
export class UsageMeter {
  private prompt = 0;
  private completion = 0;
  private openPrompt = 0;
  private open: string[] | null = null;

  constructor(
    private readonly engine: ChatEngine,
    private onFirstText?: () => void,
    private readonly onEvent?: (e: EngineEvent) => void,
  ) {}

  /** An engine call starts; its prompt has this many tokens by the engine's own count. */
  begin(promptTokens: number): void {
    this.openPrompt = promptTokens;
    this.open = [];
  }

  /** Feeds every engine event through; returns it for chaining. Echoed prompt text is not output. */
  see(e: EngineEvent): EngineEvent {
    this.onEvent?.(e);
    if (e.type === 'text') {
      if (e.echo || !e.text) return e;
      if (this.onFirstText) {
        this.onFirstText();
        this.onFirstText = undefined;
      }
      if (this.open) this.open[e.index] = (this.open[e.index] ?? '') + e.text;
    } else if (e.type === 'usage') {
      this.prompt += e.promptTokens;
      this.completion += e.completionTokens;
      this.open = null;
    }
    return e;
  }

  /** A whole (non-streamed) answer that failed delivered none of its text: nothing of it is billed. */
  undelivered(): void {
    if (this.open) this.open = [];
  }

  async totals(): Promise<{ prompt: number; completion: number }> {
    if (!this.open) return { prompt: this.prompt, completion: this.completion };
    let delivered = 0;
    for (const t of this.open) if (t) delivered += await this.engine.countTextTokens(t);
    return { prompt: this.prompt + this.openPrompt, completion: this.completion + delivered };
  }
}

/** Runs one generation request end to end; errors propagate to the router, which answers them. */
export async function serveGeneration(
  o: GatewayOptions,
  body: BodyLimits,
  req: IncomingMessage,
  res: ServerResponse,
  st: RequestState,
  idPrefix: string,
  prepare: PrepareGeneration,
  source?: GenerationSource,
  hooks: GenerationHooks = {},
): Promise<void> {
  const principal = source ? source.principal : await authenticate(o, req);
  const input = source ? source.body : parseJson(await readBody(req, body), body.maxDepth);
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const g = await prepare(principal, input, abort.signal, st);
  st.model = g.served.snapshot.id;
  st.promptTokens = g.promptTokens;
  const admission = await o.limits.admit(principal, g.reserve);
  st.id = newId(idPrefix);
  const meter = new UsageMeter(
    g.served.engine,
    g.stream
      ? () => {
          st.firstTokenMs = performance.now() - st.started;
        }
      : undefined,
    hooks.onEvent,
  );
  let settled = false;
  const record = async (status: number) => {
    settled = true;
    const used = await meter.totals();
    st.promptTokens = used.prompt || st.promptTokens;
    st.completionTokens = used.completion;
    await account(o, st, g.served, admission, status);
    try {
      await hooks.onEnd?.({ status, prompt: st.promptTokens, completion: st.completionTokens, firstTokenMs: st.firstTokenMs });
    } catch (e) {
      (o.log ?? console.error)(`tetra serve: ${st.id}: keeping the answer failed: ${(e as Error).message}`);
    }
    return used;
  };
  try {
    await g.respond({
      res,
      id: st.id,
      headers: { ...admission.headers } as Record<string, string>,
      signal: abort.signal,
      meter,
      settle: () => record(200),
    });
    if (!settled) await record(abort.signal.aborted ? 499 : 500);
  } catch (e) {
    // The status the client is sent: the HTTP status before the headers went out, and after
    // that the status of the error event that ends the stream.
    if (!settled) await record(abort.signal.aborted ? 499 : toApiError(e).status);
    throw e;
  }
}
