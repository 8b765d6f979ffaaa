// The `tetra` command: one file per subcommand, listed here.
import { formatFlags, parseFlags, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { data } from './data.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { generateCommand } from './generate.ts';
import { info } from './info.ts';
import { keysCommand } from './keys.ts';
import { scaleCommand } from './scale.ts';
import { serveCommand } from './serve.ts';
import { speedrunCommand } from './speedrun.ts';
import { start } from './start.ts';
import { tokenize } from './tokenize.ts';
import { tokenizer } from './tokenizer.ts';
import { trainCommand } from './train.ts';
import { sftCommand } from './sft.ts';
import { dpoCommand } from './dpo.ts';
import { rlCommand } from './rl.ts';
import { safetyCommand } from './safety.ts';
import { usageCommand } from './usage.ts';
import { usersCommand } from './users.ts';

const commands: Command[] = [
  start,
  info,
  tokenize,
  tokenizer,
  data,
  trainCommand,
  sftCommand,
  dpoCommand,
  rlCommand,
  safetyCommand,
  scaleCommand,
  speedrunCommand,
  generateCommand,
  exportCommand,
  serveCommand,
  keysCommand,
  usersCommand,
  usageCommand,
  evalCommand,
];

function help(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: tetra <command> [flags]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run `tetra <command> --help` for its flags.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  if (name === '--version') {
    console.log('tetra 0.1.0');
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  try {
    if (!cmd) throw new UsageError(`tetra: unknown command '${name}' (see tetra --help)`);
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(`usage: ${cmd.usage}\n\n${cmd.summary}\n${Object.keys(cmd.flags).length ? `\nflags:\n${formatFlags(cmd.flags)}` : ''}`);
      return 0;
    }
    const { flags, rest: positional } = parseFlags(rest, cmd.flags, `tetra ${cmd.name}`);
    return await cmd.run(flags, positional);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    // Anything else is a failure of the job, reported in one line; the stack is for developers.
    if (process.env.TETRA_DEBUG) throw e;
    console.error(`tetra ${name}: ${(e as Error).message ?? e}`);
    return 1;
  }
}
