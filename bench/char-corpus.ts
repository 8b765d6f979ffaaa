// The character-level corpus the training benchmarks share: Debian's fortunes, The Devil's
// Dictionary and the Jargon File (all installed here, about 4.3 MB of English), byte tokenizer
// (256 byte ids + specials = 264: our stand-in for nanoGPT's char-level vocab), 5% validation.
// Built on first use into data/chars (gitignored); about 3 s.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireFiles } from './prereqs.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const charCorpusBuild = [
  'data',
  'build',
  '--sources',
  'fortunes,devil,jargon',
  '--tokenizer',
  'bytes',
  '--name',
  'chars',
  '--val-fraction',
  '0.05',
];

export function ensureCharCorpus(dir = join(root, 'data/chars'), bench = 'bench'): string {
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  requireFiles(bench, [
    { path: '/usr/share/games/fortunes', pkg: 'fortunes' },
    { path: '/usr/share/dictd/devil.index', pkg: 'dict-devil' },
    { path: '/usr/share/dictd/jargon.index', pkg: 'dict-jargon' },
  ]);
  process.stderr.write(`building the character-level corpus in ${dir} ...\n`);
  const r = spawnSync(process.execPath, [join(root, 'bin/tetra.js'), ...charCorpusBuild, '--out', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0)
    throw new Error(`corpus build failed (exit ${r.status}): node bin/tetra.js ${charCorpusBuild.join(' ')} --out ${dir}`);
  return dir;
}

/** Debian's own interpreter: python3-torch is installed for it, not for a python3 earlier on PATH. */
export const debianPython = '/usr/bin/python3';

/** Why PyTorch cannot run here, or null when it can. */
export function pytorchMissing(): string | null {
  if (!existsSync(debianPython)) return `${debianPython} is missing`;
  const r = spawnSync(debianPython, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? null : `PyTorch is not importable by ${debianPython} (npm run bench:setup installs python3-torch and OpenBLAS)`;
}
