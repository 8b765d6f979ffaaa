#!/usr/bin/env node
// Builds the native kernels (native/) with node-gyp. Runs as the package's `install` script.
// A failed build must not fail `npm ci`: tetra then runs on the TypeScript reference backend and
// says so once at startup. `--strict` (or TETRA_REQUIRE_NATIVE=1, which CI sets) makes a failed
// build an error instead, so CI never silently tests only the fallback.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict') || process.env.TETRA_REQUIRE_NATIVE === '1';

if (process.env.TETRA_SKIP_NATIVE === '1' && !strict) {
  console.log('tetra: TETRA_SKIP_NATIVE=1, not building native kernels');
  process.exit(0);
}

// npm hands lifecycle scripts the path of its bundled node-gyp; outside npm, look beside npm.
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    const npmDir = dirname(createRequire(import.meta.url).resolve('npm/package.json'));
    candidates.push(join(npmDir, 'node_modules/node-gyp/bin/node-gyp.js'));
  } catch {}
  candidates.push(join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  return candidates.find((p) => p && existsSync(p));
}

const gyp = findNodeGyp();
let ok = false;
if (!gyp) {
  console.error('tetra: node-gyp not found (it ships with npm)');
} else {
  const jobs = process.env.JOBS ?? 'max';
  const args = [gyp, 'rebuild', `--jobs=${jobs}`];
  // Offline machines cannot download Node's headers: use the installed ones (npm passes its
  // nodedir setting to lifecycle scripts; outside npm, look beside the node binary).
  const prefix = join(dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  ok = r.status === 0;
}
if (!ok) {
  const msg =
    'tetra: native kernels failed to build; tetra will run on the slow TypeScript reference backend. ' +
    'Install g++, make and python3, then run `npm run build:native`.';
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
}
