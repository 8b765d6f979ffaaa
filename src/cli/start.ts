// `tetra start` (what `npm start` runs): serves the default model on 127.0.0.1:8080, with the
// chat app at / and the API at /v1, at once: the model ships in the repository under models/
// (a release from `npm run speedrun`: F16 weights, config, tokenizer, report card), so nothing is
// trained on first start. Every release there is served as its pinned snapshot
// (tetra-1-YYYY-MM-DD), and each family's moving alias names its newest: `tetra` the default
// model's, `tetra-vision` the vision model's (release.json's "alias").
import { readRelease, releases, SHIPPED_MODELS } from '../model/index.ts';
import { UsageError } from './args.ts';
import type { Command } from './command.ts';

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
    const newest = new Map(all.map((dir) => [readRelease(dir)!.alias, dir]));
    console.error(`tetra start: serving ${all.join(', ')} (${[...newest].map(([alias, dir]) => `${alias} = ${dir}`).join(', ')})`);
    const { main } = await import('./main.ts');
    return main(['serve', '--checkpoint', all.join(','), '--port', String(flags.port)]);
  },
};
