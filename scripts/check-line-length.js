#!/usr/bin/env node
// No line in src/ over 140 characters: the formatter wraps code at 140 but cannot wrap long
// strings or comments, so this check keeps them from creeping back. Prints file:line for each.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const LIMIT = 140;
const root = join(import.meta.dirname, '..');
const long = [];
(function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.ts')) {
      readFileSync(p, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.length > LIMIT) long.push(`${relative(root, p)}:${i + 1}: ${line.length} characters (the limit is ${LIMIT})`);
        });
    }
  }
})(join(root, 'src'));
for (const l of long) console.error(l);
process.exit(long.length ? 1 : 0);
