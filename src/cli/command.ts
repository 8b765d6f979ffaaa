// The shape every subcommand file exports.
import type { FlagSpec, Flags } from './args.ts';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Returns the process exit code. */
  run(flags: Flags, rest: string[]): Promise<number> | number;
}
