// What every benchmark does about its prerequisites: say in one line what is missing and how to
// get it (`npm run bench:setup` installs all of them), never a stack trace.
import { existsSync } from 'node:fs';

const SETUP = 'run `npm run bench:setup` (it installs what the benchmarks need from Debian)';

/** Any failure of the benchmark script becomes one line on stderr and exit 1 (TETRA_DEBUG=1 keeps the stack). */
export function oneLineFailures(bench: string): void {
  if (process.env.TETRA_DEBUG) return;
  const fail = (e: unknown) => {
    console.error(`${bench}: ${((e as Error)?.message ?? String(e)).split('\n')[0]}; ${SETUP}, or set TETRA_DEBUG=1 for the stack`);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

/** Exits with one line when any of the files that Debian packages install is missing. */
export function requireFiles(bench: string, needs: { path: string; pkg: string }[]): void {
  const missing = needs.filter((n) => !existsSync(n.path));
  if (!missing.length) return;
  console.error(`${bench}: missing ${missing.map((m) => `${m.path} (Debian package ${m.pkg})`).join(', ')}; ${SETUP}`);
  process.exit(1);
}
