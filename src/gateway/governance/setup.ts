// Opens the governance a server runs with: keys and ledger in one SQLite file, plans from a
// JSON file, limits in-process or in Redis (REDIS_URL), Prometheus metrics. `tetra serve` calls
// this once at start; `notices` are the lines it prints about how it is governed.
import { KeyAuth, openModeNotice } from './auth.ts';
import { defaultDbPath, defaultPlansPath, openDb } from '../home.ts';
import { KeyStore } from './keys.ts';
import { JournaledLedger, SqliteLedger } from './ledger.ts';
import { createLimits, type ManagedLimits } from './limits.ts';
import { loadPlans, type PlanSet } from './plans.ts';
import { GatewayMetrics } from './metrics.ts';

export interface Governance {
  auth: KeyAuth;
  keys: KeyStore;
  plans: PlanSet;
  limits: ManagedLimits;
  ledger: JournaledLedger;
  metrics: GatewayMetrics;
  dbPath: string;
  notices(): string[];
  close(): Promise<void>;
}

export async function openGovernance(opts: { db?: string; plans?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Governance> {
  const env = opts.env ?? process.env;
  const dbPath = opts.db ?? defaultDbPath(env);
  const plans = loadPlans(opts.plans ?? defaultPlansPath(env));
  const db = openDb(dbPath);
  const keys = new KeyStore(db);
  const synchronous = env.TETRA_LEDGER_SYNC === 'full' ? 'full' : 'normal';
  // Opening the ledger moves in rows a killed server left in its journal; then this server journals its own.
  const ledger = new JournaledLedger(new SqliteLedger(db, { synchronous }), { synchronous });
  const limits = await createLimits(env);
  const auth = new KeyAuth(keys, plans);
  return {
    auth,
    keys,
    plans,
    limits,
    ledger,
    metrics: new GatewayMetrics({ processMetrics: true }),
    dbPath,
    notices: () => [
      auth.mode() === 'keys' ? `API keys required (keys and usage ledger in ${dbPath})` : `${openModeNotice}; usage ledger in ${dbPath}`,
      `plans from ${plans.source}: ${[...plans.plans.values()].map((p) => `${p.name} (${p.rpm} RPM, ${p.tpm} TPM)`).join(', ')}`,
      `rate limits ${limits.describe}`,
    ],
    async close() {
      await limits.close();
      await ledger.close(); // every journaled row moved into SQLite
      db.close();
    },
  };
}
