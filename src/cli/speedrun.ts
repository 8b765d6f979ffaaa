// `tetra speedrun`: the default model from nothing (scripts/speedrun.ts, also `npm run speedrun`):
// corpus, scaling ladder and registered prediction, pretraining, post-training with the safety
// reward, evals, the release under models/ and its report card. Every stage resumes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { numberFlag } from './args.ts';
import type { Command } from './command.ts';

export const speedrunCommand: Command = {
  name: 'speedrun',
  summary: 'train the default model from nothing, every stage resumable, and ship it with its report card',
  usage: 'tetra speedrun [--budget-hours H] [--out DIR] [--ship DIR] [--snapshot NAME]',
  flags: {
    'budget-hours': { type: 'number', help: 'wall-time budget on this machine; a bigger one plans a bigger model', default: 2 },
    out: { type: 'string', help: 'working directory (every stage writes its output here)', default: 'runs/speedrun' },
    ship: { type: 'string', help: 'where the release goes', default: 'models' },
    snapshot: { type: 'string', help: 'the release name (default tetra-1-YYYY-MM-DD, fixed when the run first ships)' },
  },
  run(f) {
    const hours = numberFlag(f, 'budget-hours', 0.05, 1000, 'tetra speedrun', false);
    const args = ['--budget-hours', String(hours), '--out', String(f.out), '--ship', String(f.ship)];
    if (f.snapshot !== undefined) args.push('--snapshot', String(f.snapshot));
    const script = join(import.meta.dirname, '..', '..', 'scripts', 'speedrun.ts');
    return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit' }).status ?? 1;
  },
};
