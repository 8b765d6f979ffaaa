// `tetra start` (what `npm start` runs): serves the default model on 127.0.0.1:8080, with the
// chat app at / and the API at /v1, at once: the model ships in the repository under models/
// (a release from `npm run speedrun`: F16 weights, config, tokenizer, report card), so nothing is
// trained on first start. Every release there is served as its pinned snapshot
// (tetra-1-YYYY-MM-DD), and the moving alias `tetra` names the newest.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './args.ts';
import type { Command } from './command.ts';

/** The repository's models/ folder (beside src/). */
export const SHIPPED_MODELS = join(import.meta.dirname, '..', '..', 'models');

/** The releases under a models folder (directories with release.json), oldest first by name (its date sorts). */
export function releases(models: string): string[] {
  if (!existsSync(models)) return [];
  return readdirSync(models, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(models, d.name, 'release.json')))
    .map((d) => d.name)
    .sort()
    .map((name) => join(models, name));
}

/** The newest release under a models folder, or null. */
export function newestRelease(models: string): string | null {
  return releases(models).at(-1) ?? null;
}

export const start: Command = {
  name: 'start',
  summary: 'serve the shipped default model on 127.0.0.1:8080: the chat app at / and the API at /v1',
  usage: 'tetra start [--port P] [--models DIR]',
  flags: {
    port: { type: 'number', help: 'port to serve on', default: 8080 },
    models: { type: 'string', help: 'folder of releases to serve, tetra = the newest (default: the repository models/)' },
  },
  async run(flags) {
    const models = flags.models !== undefined ? String(flags.models) : SHIPPED_MODELS;
    const all = releases(models);
    if (!all.length)
      throw new UsageError(
        `tetra start: no model release under ${models} (a folder with release.json); ` +
          'make one with `npm run speedrun`, or serve a checkpoint with `tetra serve --checkpoint DIR`',
      );
    console.error(`tetra start: serving ${all.join(', ')} (tetra = ${all[all.length - 1]})`);
    const { main } = await import('./main.ts');
    return main(['serve', '--checkpoint', all.join(','), '--port', String(flags.port)]);
  },
};
