// `tetra users create|list|disable|enable|passwd|plan`: the chat app's accounts, in the tetra
// database ($TETRA_HOME/tetra.db or --db). Once one exists the app asks everyone to sign in (until
// then it serves this machine only, without sign-in). Passwords are typed twice without echo, or
// read from the first line of stdin with --password-stdin (scripts); never taken as an argument,
// where they would land in shell history and the process list.
import { UsageError } from './args.ts';
import type { Command } from './command.ts';
import { checkPlanFlag, formatTable } from './keys.ts';
import { AppStore, checkPassword } from '../app/index.ts';
import { defaultDbPath } from '../gateway/index.ts';

const USAGE =
  'tetra users create NAME --plan P [--password-stdin] | tetra users list [--json] | tetra users disable NAME | ' +
  'tetra users enable NAME | tetra users passwd NAME [--password-stdin] | tetra users plan NAME --plan P';

/** The first line of stdin, its line ending stripped. */
async function passwordFromStdin(cmd: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const nl = text.indexOf('\n');
  const line = (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
  if (!line) throw new UsageError(`${cmd}: --password-stdin read no password (write it as the first line of stdin)`);
  return line;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let line = '';
    const done = (err: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || ch === '\u0004') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('');
        else if (ch >= ' ') line += ch;
      }
    };
    // Echo goes off before the prompt shows, so nothing typed after it is echoed.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function readPassword(flags: Record<string, unknown>, cmd: string): Promise<string> {
  if (flags['password-stdin']) return passwordFromStdin(cmd);
  if (!process.stdin.isTTY) {
    throw new UsageError(`${cmd}: no terminal to type the password on; pass --password-stdin and write it as the first line of stdin`);
  }
  const pw = await promptHidden('password: ');
  checkPassword(pw);
  if ((await promptHidden('password again: ')) !== pw) throw new Error('the two passwords differ; nothing was changed');
  return pw;
}

/** Checked before a password is asked for, so nobody types one for a name that cannot take it. */
const hasUser = (store: AppStore, name: string) => store.listUsers().some((u) => u.name.toLowerCase() === name.toLowerCase());

function oneName(args: string[], action: string): string {
  if (args.length !== 1) throw new UsageError(`tetra users ${action}: give one user name (usage: ${USAGE})`);
  return args[0];
}

export const usersCommand: Command = {
  name: 'users',
  summary: 'create, list, disable and re-plan chat app users (sign-in with a password)',
  usage: USAGE,
  flags: {
    plan: { type: 'string', help: 'plan of the user (a plan in the plans file, e.g. default)' },
    'password-stdin': { type: 'boolean', help: 'read the password from the first line of stdin instead of asking' },
    db: { type: 'string', help: 'database file (default $TETRA_HOME/tetra.db, TETRA_HOME defaults to ~/.tetra)' },
    plans: { type: 'string', help: 'plans file (default $TETRA_HOME/plans.json)' },
    json: { type: 'boolean', help: 'print JSON (list)' },
  },
  async run(flags, rest) {
    const [action, ...args] = rest;
    const db = (flags.db as string | undefined) ?? defaultDbPath();
    const cmd = `tetra users ${action}`;
    const unknown = () => `no user '${args[0]}' in ${db} (see tetra users list)`;
    if (action === 'create') {
      const name = oneName(args, action);
      const plan = checkPlanFlag(flags, cmd);
      const store = new AppStore(db);
      if (hasUser(store, name)) throw new Error(`user '${name}' already exists`);
      const user = await store.createUser(name, await readPassword(flags, cmd), plan);
      console.log(`created user '${user.name}' (${user.id}) on plan '${plan}' in ${db}; the chat app now asks everyone to sign in`);
      return 0;
    }
    if (action === 'list') {
      if (args.length) throw new UsageError(`tetra users list: unexpected argument '${args[0]}' (usage: ${USAGE})`);
      const users = new AppStore(db).listUsers();
      if (flags.json) console.log(JSON.stringify(users));
      else if (!users.length) console.log(`no chat users in ${db} (the chat app serves this machine only, without sign-in)`);
      else {
        const rows = users.map((u) => [u.name, u.id, u.plan, u.disabled ? 'disabled' : 'active', u.createdAt]);
        console.log(formatTable(['NAME', 'ID', 'PLAN', 'STATUS', 'CREATED'], rows));
      }
      return 0;
    }
    if (action === 'disable' || action === 'enable') {
      const name = oneName(args, action);
      if (!new AppStore(db).setDisabled(name, action === 'disable')) throw new Error(unknown());
      console.log(action === 'disable' ? `disabled user '${name}' and signed it out everywhere` : `enabled user '${name}'`);
      return 0;
    }
    if (action === 'passwd') {
      const name = oneName(args, action);
      const store = new AppStore(db);
      if (!hasUser(store, name)) throw new Error(unknown());
      if (!(await store.setPassword(name, await readPassword(flags, cmd)))) throw new Error(unknown());
      console.log(`changed the password of '${name}' and signed it out everywhere`);
      return 0;
    }
    if (action === 'plan') {
      const name = oneName(args, action);
      const plan = checkPlanFlag(flags, cmd);
      if (!new AppStore(db).setPlan(name, plan)) throw new Error(unknown());
      console.log(`user '${name}' is now on plan '${plan}'`);
      return 0;
    }
    throw new UsageError(action ? `tetra users: unknown action '${action}' (usage: ${USAGE})` : `usage: ${USAGE}`);
  },
};
