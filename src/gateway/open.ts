// Minimal governance for a server without a key store: the defaults `tetra serve` uses until the
// real implementations (keys, plans, limits, ledger) replace them. No keys configured means the
// server answers loopback clients only. Limits here admit everything and only report the plan's
// numbers; counting requests and tokens per minute is the governance implementation's job.
import { isLoopback } from './auth.ts';
import { GovernanceError, type Admission, type ApiKeyRecord, type Auth, type Ledger, type LedgerRow, type Limits, type Plan, type Principal } from './governance.ts';
import { DEFAULT_PLAN } from './plans.ts';

/** No keys: any (or no) bearer is accepted from loopback; everyone else is refused. */
export function loopbackAuth(plan: Plan = DEFAULT_PLAN): Auth {
  return {
    async authenticate(_bearer, remoteAddress): Promise<Principal> {
      if (!isLoopback(remoteAddress)) {
        throw new GovernanceError('This server has no API keys configured, so it only answers clients on this machine; configure keys to serve others.', 401, 'invalid_request_error', 'invalid_api_key');
      }
      return { key: null, plan };
    },
  };
}

/** A fixed set of secrets, each bound to a plan (for tests and small deployments). */
export function staticKeyAuth(keys: Record<string, { id?: string; plan?: string; name?: string }>, plans: Record<string, Plan> = {}): Auth {
  const records = new Map<string, Principal>();
  for (const [secret, k] of Object.entries(keys)) {
    const plan = plans[k.plan ?? 'default'] ?? (k.plan && k.plan !== 'default' ? undefined : DEFAULT_PLAN);
    if (!plan) throw new Error(`key ${secret.slice(0, 6)}... names plan "${k.plan}", which is not defined`);
    const key: ApiKeyRecord = { id: k.id ?? `key_${records.size + 1}`, prefix: secret.slice(0, 6), plan: plan.name, createdAt: new Date(0).toISOString(), ...(k.name ? { name: k.name } : {}) };
    records.set(secret, { key, plan });
  }
  return {
    async authenticate(bearer): Promise<Principal> {
      if (bearer === null) {
        throw new GovernanceError("You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY'.", 401, 'invalid_request_error', 'invalid_api_key');
      }
      const p = records.get(bearer);
      if (!p) {
        const shown = bearer.length > 8 ? `${bearer.slice(0, 3)}***${bearer.slice(-4)}` : '***';
        throw new GovernanceError(`Incorrect API key provided: ${shown}.`, 401, 'invalid_request_error', 'invalid_api_key');
      }
      return p;
    },
  };
}

/** Admits everything; the headers report the plan's limits (nothing is counted here). */
export const reportOnlyLimits: Limits = {
  async admit(principal): Promise<Admission> {
    const { rpm, tpm } = principal.plan;
    return {
      headers: {
        'x-ratelimit-limit-requests': String(rpm), 'x-ratelimit-remaining-requests': String(rpm), 'x-ratelimit-reset-requests': '0s',
        'x-ratelimit-limit-tokens': String(tpm), 'x-ratelimit-remaining-tokens': String(tpm), 'x-ratelimit-reset-tokens': '0s',
      },
      async settle() {},
    };
  },
};

/** Keeps the last `capacity` rows in memory (lost on restart; the real ledger is durable). */
export class MemoryLedger implements Ledger {
  readonly rows: LedgerRow[] = [];
  constructor(private readonly capacity = 10_000) {}
  record(row: LedgerRow): void {
    this.rows.push(row);
    if (this.rows.length > this.capacity) this.rows.splice(0, this.rows.length - this.capacity);
  }
}
