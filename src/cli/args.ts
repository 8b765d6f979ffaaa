// Flag parsing for tetra's subcommands: each declares its flags; anything else is a usage error
// (one line on stderr, exit code 2), never a stack trace.

export type FlagSpec = { type: 'boolean' | 'string' | 'number'; help: string; default?: string | number | boolean };
export type Flags = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {}

export function parseFlags(argv: readonly string[], spec: Record<string, FlagSpec>, cmd: string): { flags: Flags; rest: string[] } {
  const flags: Flags = {};
  const rest: string[] = [];
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) flags[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) throw new UsageError(`${cmd}: unknown flag --${name} (see ${cmd} --help)`);
    if (s.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`${cmd}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${cmd}: --${name} needs a value`);
    if (s.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`${cmd}: --${name} must be a number, got '${value}'`);
      flags[name] = n;
    } else {
      flags[name] = value;
    }
  }
  return { flags, rest };
}

export function formatFlags(spec: Record<string, FlagSpec>): string {
  const rows = Object.entries(spec).map(([k, s]) => [
    `--${k}${s.type === 'boolean' ? '' : ` <${s.type}>`}`,
    s.help + (s.default !== undefined && s.type !== 'boolean' ? ` (default ${s.default})` : ''),
  ]);
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}

/** A numeric flag checked against its range: a usage error naming the flag and the limits. */
export function numberFlag(flags: Flags, name: string, lo: number, hi: number, cmd: string, integer = true): number {
  const v = flags[name] as number;
  if (!(v >= lo && v <= hi) || (integer && !Number.isInteger(v))) {
    throw new UsageError(`${cmd}: --${name} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${v}`);
  }
  return v;
}
