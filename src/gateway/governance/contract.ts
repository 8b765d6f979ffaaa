// The contract between the HTTP layer (routes) and governance (keys, plans, limits, usage):
// routes call these in order for every request; governance never parses HTTP bodies.
//   1. auth.authenticate(bearer)               -> the key and its plan, or an error (401)
//   2. plan checks: model allowed, image input allowed, usage cap (429 with a clear message)
//   3. limits.admit(key, plan, estimatedTokens) -> admitted with x-ratelimit-* headers, or 429
//   4. ... generation ...
//   5. limits.settle(...) with the real token count; ledger.record(row)

export interface Plan {
  name: string;
  /** Requests per minute (default 200, as GPT-4 at launch). */
  rpm: number;
  /** Tokens per minute, prompt + max completion (default 40,000). */
  tpm: number;
  /** Model ids (snapshots or aliases; '*' = all) this plan may call. */
  models: string[];
  imageInput: boolean;
  /** Optional chat-app style cap: at most `messages` requests per `windowHours`. */
  usageCap?: { messages: number; windowHours: number };
  /** Multiplies list prices (e.g. 0.5 for subsidised research access). */
  priceMultiplier: number;
}

export interface ApiKeyRecord {
  id: string;
  /** Shown in listings (e.g. the first characters); never the secret. */
  prefix: string;
  plan: string;
  name?: string;
  createdAt: string;
  revokedAt?: string;
}

export interface Principal {
  key: ApiKeyRecord | null;
  plan: Plan;
  /** A chat-app user signed in with a password (key is then null); limits are kept per user. */
  user?: { id: string; name: string };
}

export interface Auth {
  /** null bearer = no Authorization header. Throws GovernanceError(401) on a bad or revoked key. */
  authenticate(bearer: string | null, remoteAddress: string): Promise<Principal>;
}

export interface RateLimitHeaders {
  'x-ratelimit-limit-requests': string;
  'x-ratelimit-remaining-requests': string;
  'x-ratelimit-reset-requests': string;
  'x-ratelimit-limit-tokens': string;
  'x-ratelimit-remaining-tokens': string;
  'x-ratelimit-reset-tokens': string;
}

export interface Admission {
  headers: RateLimitHeaders;
  /** Call once the request's real token use is known (refunds an over-estimate). */
  settle(actualTokens: number): Promise<void>;
}

/** Where a principal stands against its plan's usage cap (what the chat app shows). */
export interface CapUsage {
  /** Admissions in the current window. */
  used: number;
  /** When the oldest of them was admitted (ms since the epoch); null when the window is empty. */
  oldestMs: number | null;
}

export interface Limits {
  /** Admits or throws GovernanceError(429, 'rate_limit_exceeded') carrying the headers. */
  admit(principal: Principal, estimatedTokens: number): Promise<Admission>;
  /** Reads, without taking anything, the principal's usage-cap window; null when its plan has no cap. */
  capUsage?(principal: Principal): Promise<CapUsage | null>;
}

export interface LedgerRow {
  requestId: string;
  keyId: string | null;
  plan: string;
  /** The snapshot that served the request (never the alias). */
  model: string;
  endpoint: string;
  promptTokens: number;
  completionTokens: number;
  /** USD, after the plan's multiplier. */
  cost: number;
  latencyMs: number;
  status: number;
  createdAt: string;
}

export interface Ledger {
  /** Durable before it returns (the request that produced it has been answered 200 only after). */
  record(row: LedgerRow): void;
  /**
   * Optional group commit: durable when the promise resolves; rows from requests finishing in
   * the same event-loop turn share one transaction. The server answers only after it resolves.
   */
  recordSoon?(row: LedgerRow): Promise<void>;
}

export class GovernanceError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
    readonly code: string,
    /** x-ratelimit-* and, on a 429 that a retry can cure, retry-after (seconds). */
    readonly headers: Partial<RateLimitHeaders> & { 'retry-after'?: string } = {},
  ) {
    super(message);
  }
}
