#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner (Node 20's --test does not expand
// globs). Arguments narrow the run to files whose path contains one of them.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.ts')) files.push(relative(root, p));
  }
})(join(root, 'test'));
const chosen = files.sort().filter((f) => !filters.length || filters.some((s) => f.includes(s)));
if (!chosen.length) {
  console.error(`no test files match ${filters.join(', ')}`);
  process.exit(2);
}

const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-reporter=spec`, ...chosen], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
