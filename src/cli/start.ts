// `tetra start` (what `npm start` runs). The API server and chat app do not exist yet, so this
// runs the most useful thing that does: the engine report with a GEMM speed check.
import type { Command } from './command.ts';
import { info } from './info.ts';

export const start: Command = {
  name: 'start',
  summary: 'start tetra (for now: the engine report and GEMM speed check; the server is not built yet)',
  usage: 'tetra start',
  flags: {},
  run() {
    console.log('tetra: the API server and chat app are not built yet; showing the compute engine instead.');
    return info.run({ bench: true }, []);
  },
};
