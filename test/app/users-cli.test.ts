// `tetra users` (src/cli/users.ts) as a child process with TETRA_HOME in a temp dir: passwords
// from stdin (first line, line ending stripped), plans checked against the plans file, exit codes
// 2 for usage and 1 for failures, and, where python3 can give it a terminal, the no-echo prompt.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppStore } from '../../src/app/store.ts';

const bin = join(import.meta.dirname, '../../bin/tetra.js');
const ENV = { ...process.env, TETRA_SCRYPT_LOG2N: '12' };
process.env.TETRA_SCRYPT_LOG2N = '12';
const home = () => mkdtempSync(join(tmpdir(), 'tetra-users-'));
const tetra = (h: string, args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, 'users', ...args], { encoding: 'utf8', input, env: { ...ENV, TETRA_HOME: h } });
const store = (h: string) => new AppStore(join(h, 'tetra.db'));

describe('tetra users', () => {
  it('creates a user with the password from stdin (first line only), lists it without secrets', async () => {
    const h = home();
    const c = tetra(h, ['create', 'alice', '--plan', 'default', '--password-stdin'], 'correct horse\r\nsecond line\n');
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /^created user 'alice' \(u_[\w-]{16}\) on plan 'default' in .*tetra\.db/);
    const s = store(h);
    assert.equal((await s.verifyLogin('alice', 'correct horse'))?.name, 'alice');
    assert.equal(await s.verifyLogin('alice', 'correct horse\r'), null);
    const l = tetra(h, ['list']);
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, /^NAME\s+ID\s+PLAN\s+STATUS\s+CREATED\nalice\s+u_[\w-]{16}\s+default\s+active\s+\d{4}-/);
    const j = tetra(h, ['list', '--json']);
    const [u] = JSON.parse(j.stdout);
    assert.deepEqual(Object.keys(u).sort(), ['createdAt', 'disabled', 'id', 'name', 'plan']);
    assert.ok(!j.stdout.includes('scrypt') && !l.stdout.includes('scrypt'));
    const dup = tetra(h, ['create', 'ALICE', '--plan', 'default', '--password-stdin'], 'another password\n');
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /user 'ALICE' already exists/);
  });

  it('says so when there are no users', () => {
    const l = tetra(home(), ['list']);
    assert.equal(l.status, 0);
    assert.match(l.stdout, /no chat users in .* \(the chat app serves this machine only, without sign-in\)/);
  });

  it('refuses missing or unknown plans, a missing password source, short passwords and unknown actions', () => {
    const h = home();
    const noPlan = tetra(h, ['create', 'alice', '--password-stdin'], 'long enough pw\n');
    assert.equal(noPlan.status, 2);
    assert.match(noPlan.stderr, /tetra users create: --plan is required/);
    const gold = tetra(h, ['create', 'alice', '--plan', 'gold', '--password-stdin'], 'long enough pw\n');
    assert.equal(gold.status, 2);
    assert.equal(gold.stderr.trim(), "tetra users create: no plan 'gold' in built-in (plans: default)");
    const noTty = tetra(h, ['create', 'alice', '--plan', 'default'], '');
    assert.equal(noTty.status, 2);
    assert.match(noTty.stderr, /no terminal to type the password on; pass --password-stdin/);
    const short = tetra(h, ['create', 'alice', '--plan', 'default', '--password-stdin'], 'short\n');
    assert.equal(short.status, 1);
    assert.match(short.stderr, /password must have 8 to 1024 characters, got 5/);
    const empty = tetra(h, ['create', 'alice', '--plan', 'default', '--password-stdin'], '\nsecond\n');
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /--password-stdin read no password/);
    const badName = tetra(h, ['create', 'a b', '--plan', 'default', '--password-stdin'], 'long enough pw\n');
    assert.equal(badName.status, 1);
    assert.match(badName.stderr, /user name must be 1 to 64 letters, digits or _ \. - @/);
    assert.equal(tetra(h, ['rename', 'alice']).status, 2);
    assert.equal(tetra(h, []).status, 2);
    assert.equal(tetra(h, ['disable']).status, 2);
    assert.deepEqual(store(h).listUsers(), [], 'nothing was created');
  });

  it('disables (ending sessions), enables, changes passwords and plans; unknown users exit 1', async () => {
    const h = home();
    writeFileSync(join(h, 'plans.json'), JSON.stringify({ plans: { gold: { rpm: 10 } } }));
    assert.equal(tetra(h, ['create', 'bob', '--plan', 'gold', '--password-stdin'], 'first password\n').status, 0);
    const s = store(h);
    const bob = (await s.verifyLogin('bob', 'first password'))!;
    assert.equal(bob.plan, 'gold');
    const token = s.createSession(bob.id);

    const d = tetra(h, ['disable', 'bob']);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, /disabled user 'bob'/);
    assert.equal(s.sessionUser(token), null);
    assert.equal(await s.verifyLogin('bob', 'first password'), null);
    assert.match(tetra(h, ['list']).stdout, /bob\s+u_[\w-]+\s+gold\s+disabled/);
    assert.equal(tetra(h, ['enable', 'bob']).status, 0);
    assert.ok(await s.verifyLogin('bob', 'first password'));

    const p = tetra(h, ['passwd', 'bob', '--password-stdin'], 'second password\n');
    assert.equal(p.status, 0, p.stderr);
    assert.equal(await s.verifyLogin('bob', 'first password'), null);
    assert.ok(await s.verifyLogin('bob', 'second password'));

    const pl = tetra(h, ['plan', 'bob', '--plan', 'default']);
    assert.equal(pl.status, 0, pl.stderr);
    assert.equal(s.listUsers()[0].plan, 'default');
    assert.equal(tetra(h, ['plan', 'bob', '--plan', 'platinum']).status, 2);
    assert.equal(s.listUsers()[0].plan, 'default');

    for (const args of [
      ['disable', 'nobody'],
      ['enable', 'nobody'],
      ['plan', 'nobody', '--plan', 'gold'],
    ]) {
      const r = tetra(h, args);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, /no user 'nobody' in .*tetra\.db \(see tetra users list\)/);
    }
    const r = tetra(h, ['passwd', 'nobody', '--password-stdin'], 'whatever pw\n');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no user 'nobody'/);
  });

  const python = spawnSync('python3', ['-c', 'import pty'], { encoding: 'utf8' }).status === 0;
  it('asks twice on a terminal without echoing, and refuses two different passwords', {
    skip: !python && 'needs python3 for a pty',
  }, async () => {
    const h = home();
    // python3's pty gives the CLI a terminal; the script answers the two prompts and prints all the terminal showed.
    const script = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
def until(s):
    global out
    end = time.time() + 30
    while s not in out and time.time() < end:
        try: out += os.read(fd, 1024)
        except OSError: break
for answer in (os.environ['FIRST'], os.environ['SECOND']):
    until(b'again: ' if out.count(b'password') else b'password: ')
    os.write(fd, answer.encode() + b'\\r')
while True:
    try:
        b = os.read(fd, 1024)
        if not b: break
        out += b
    except OSError: break
sys.stdout.write(out.decode())
sys.exit(os.waitpid(pid, 0)[1] >> 8)
`;
    const run = (name: string, first: string, second: string) =>
      spawnSync('python3', ['-c', script, process.execPath, bin, 'users', 'create', name, '--plan', 'default'], {
        encoding: 'utf8',
        env: { ...ENV, TETRA_HOME: h, FIRST: first, SECOND: second },
      });
    const ok = run('carol', 'typed secret 1', 'typed secret 1');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /password: [\s\S]*password again: [\s\S]*created user 'carol'/);
    assert.ok(!ok.stdout.includes('typed secret'), `echoed: ${ok.stdout}`);
    assert.ok(await store(h).verifyLogin('carol', 'typed secret 1'));
    const differ = run('dave', 'typed secret 1', 'typed secret 2');
    assert.equal(differ.status, 1, differ.stdout);
    assert.match(differ.stdout, /the two passwords differ; nothing was changed/);
    assert.deepEqual(
      store(h)
        .listUsers()
        .map((u) => u.name),
      ['carol'],
    );
  });
});
