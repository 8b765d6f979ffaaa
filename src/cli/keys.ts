// `tetra keys create|list|revoke`: API keys in the tetra database ($TETRA_HOME/tetra.db or --db).
// A new key is printed once, alone on stdout (so `KEY=$(tetra keys create --plan default)`
// works); only its sha256 is kept.
import { UsageError } from './args.ts';
import type { Command } from './command.ts';
import { defaultDbPath, defaultPlansPath, KeyStore, loadPlans } from '../gateway/index.ts';

const USAGE = 'tetra keys create --plan NAME [--name LABEL] | tetra keys list [--json] | tetra keys revoke ID|PREFIX';

export function formatTable(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** --plan, which must name a plan in the plans file (--plans or the default); shared with `tetra users`. */
export function checkPlanFlag(flags: Record<string, unknown>, cmd: string): string {
  const plan = flags.plan as string | undefined;
  if (!plan) throw new UsageError(`${cmd}: --plan is required (e.g. --plan default)`);
  const plans = loadPlans((flags.plans as string | undefined) ?? defaultPlansPath());
  if (!plans.plans.has(plan)) {
    throw new UsageError(`${cmd}: no plan '${plan}' in ${plans.source} (plans: ${[...plans.plans.keys()].join(', ')})`);
  }
  return plan;
}

export const keysCommand: Command = {
  name: 'keys',
  summary: 'create, list and revoke API keys (only a hash of each key is stored)',
  usage: USAGE,
  flags: {
    plan: { type: 'string', help: 'plan of a new key (a plan in the plans file, e.g. default)' },
    name: { type: 'string', help: 'label for a new key (who or what uses it)' },
    db: { type: 'string', help: 'database file (default $TETRA_HOME/tetra.db, TETRA_HOME defaults to ~/.tetra)' },
    plans: { type: 'string', help: 'plans file (default $TETRA_HOME/plans.json)' },
    json: { type: 'boolean', help: 'print JSON' },
  },
  run(flags, rest) {
    const [action, ...args] = rest;
    const db = (flags.db as string | undefined) ?? defaultDbPath();
    if (action === 'create') {
      if (args.length) throw new UsageError(`tetra keys create: unexpected argument '${args[0]}' (usage: ${USAGE})`);
      const planName = checkPlanFlag(flags, 'tetra keys create');
      const { key, record } = new KeyStore(db).create(planName, flags.name as string | undefined);
      if (flags.json) console.log(JSON.stringify({ key, ...record }));
      else {
        console.log(key);
        console.error(`created ${record.id} on plan '${planName}' in ${db}; this is the only time the key is shown`);
      }
      return 0;
    }
    if (action === 'list') {
      const keys = new KeyStore(db).list();
      if (flags.json) {
        console.log(JSON.stringify(keys));
      } else if (!keys.length) {
        console.log(`no API keys in ${db} (the server serves loopback clients only until one is created)`);
      } else {
        console.log(
          formatTable(
            ['ID', 'PREFIX', 'PLAN', 'NAME', 'CREATED', 'REVOKED'],
            keys.map((k) => [k.id, `${k.prefix}...`, k.plan, k.name ?? '', k.createdAt, k.revokedAt ?? '']),
          ),
        );
      }
      return 0;
    }
    if (action === 'revoke') {
      if (args.length !== 1) throw new UsageError(`tetra keys revoke: give one key id or prefix (usage: ${USAGE})`);
      const rec = new KeyStore(db).revoke(args[0]);
      if (!rec) throw new Error(`no key '${args[0]}' in ${db} (see tetra keys list)`);
      console.log(`revoked ${rec.id} (${rec.prefix}...) at ${rec.revokedAt}`);
      return 0;
    }
    throw new UsageError(action ? `tetra keys: unknown action '${action}' (usage: ${USAGE})` : `usage: ${USAGE}`);
  },
};
