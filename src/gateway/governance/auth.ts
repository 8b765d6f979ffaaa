// Auth: who is calling, and on which plan.
// - No API key configured (none ever created): the server is open, but to loopback clients
//   only, as the default plan. `openModeNotice` is the line the server prints at start.
// - Keys configured: every request needs `Authorization: Bearer sk-tetra-...` naming a live key.
// The key store caches rows but asks SQLite on every request whether any other connection has
// committed since (PRAGMA data_version, no table read), so a key created or revoked with
// `tetra keys` takes effect on a running server at its next request.
import { GovernanceError, type Auth, type Principal } from './contract.ts';
import { maskKey, type KeyStore } from './keys.ts';
import { getPlan, type PlanSet } from './plans.ts';

/** 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. */
export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export const openModeNotice =
  'no API keys configured: serving loopback clients only, on the default plan (create a key with `tetra keys create --plan default` ' +
  'to serve other hosts)';

function unauthorized(message: string): GovernanceError {
  return new GovernanceError(message, 401, 'invalid_request_error', 'invalid_api_key');
}

export class KeyAuth implements Auth {
  constructor(
    private readonly keys: KeyStore,
    private readonly plans: PlanSet,
  ) {}

  /** 'keys' when bearer keys are required, 'loopback' when the server is open to loopback only. */
  mode(): 'keys' | 'loopback' {
    return this.keys.hasKeys() ? 'keys' : 'loopback';
  }

  async authenticate(bearer: string | null, remoteAddress: string): Promise<Principal> {
    return this.authenticateSync(bearer, remoteAddress);
  }

  authenticateSync(bearer: string | null, remoteAddress: string): Principal {
    if (this.mode() === 'loopback') {
      if (!isLoopback(remoteAddress)) {
        throw unauthorized(
          'This server has no API keys configured, so it only serves clients on the same machine (loopback). Ask its operator for a ' +
            'key (`tetra keys create --plan NAME`).',
        );
      }
      return { key: null, plan: getPlan(this.plans, this.plans.defaultPlan) };
    }
    if (bearer === null || bearer === '') {
      throw unauthorized(
        "You didn't provide an API key. Send it in an Authorization header as Bearer auth (Authorization: Bearer YOUR_KEY).",
      );
    }
    const v = this.keys.verify(bearer);
    if (!v.ok) {
      if (v.reason === 'revoked') throw unauthorized(`The API key ${maskKey(bearer)} has been revoked.`);
      throw unauthorized(
        `Incorrect API key provided: ${maskKey(bearer)}. Keys look like sk-tetra-... and are created with \`tetra keys create\`.`,
      );
    }
    const plan = this.plans.plans.get(v.record.plan);
    if (!plan) {
      // The operator removed or renamed a plan that keys still use: refuse rather than guess limits.
      throw new GovernanceError(
        `The API key ${maskKey(bearer)} is on plan '${v.record.plan}', which is not defined in ${this.plans.source}; ask the ` +
          `operator to restore the plan or move the key.`,
        403,
        'invalid_request_error',
        'plan_not_found',
      );
    }
    return { key: v.record, plan };
  }
}
