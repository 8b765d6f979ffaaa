// The tetra home directory: TETRA_HOME, else ~/.tetra. Keys and the usage ledger, plans, eval
// records and caches, the demo model: everything tetra keeps between runs lives under it.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function tetraHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.TETRA_HOME ? resolve(env.TETRA_HOME) : join(homedir(), '.tetra');
}
