// Where governance keeps its state: the tetra home directory (TETRA_HOME, else ~/.tetra) holds
// one SQLite file for API keys and the usage ledger, and an optional plans.json.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tetraHome } from '../util/index.ts';

export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(tetraHome(env), 'tetra.db');
}

export function defaultPlansPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(tetraHome(env), 'plans.json');
}

export type Db = Database.Database;

/**
 * Opens (creating its directory) a SQLite file in WAL mode, so the server's writes and the CLI's
 * reads (`tetra usage`, `tetra keys`) run side by side. busy_timeout covers the short moments
 * when two writers (server and `tetra keys create`) meet.
 */
export function openDb(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('busy_timeout = 5000'); // first: switching to WAL takes a lock too (two servers opening one file at once)
  db.pragma('journal_mode = WAL');
  return db;
}
