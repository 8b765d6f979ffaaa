// The sandbox against hostile programs: each test states the outcome the sandbox must produce and
// checks that the host is unaffected. Assertions are on outcomes, never on timing, and wall limits
// are generous, because the machine running the tests is small and shared.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSandboxed, sandboxSupport, SandboxUnavailableError } from '../../src/evals/sandbox.ts';

const support = sandboxSupport();
const skip = support.ok ? false : `no namespaces here: ${support.reason}`;
const python = spawnSync('/usr/bin/python3', ['-c', 'pass']).status === 0;

const leftoverDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('tetra-sandbox-')).length;
/** Processes still running as the run's uid (or, without one, any per-run uid >= 1.5e9). */
function sandboxProcesses(runUid: number | null): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      if (runUid === null ? uid >= 1_500_000_000 : uid === runUid) n++;
    } catch {
      /* exited meanwhile */
    }
  }
  return n;
}
const hostStillRunsProcesses = () => spawnSync('/bin/true').status === 0;

describe('sandbox (namespaces)', { skip: skip || (!python && 'no /usr/bin/python3') }, () => {
  const dirsBefore = leftoverDirs();
  after(() => assert.equal(leftoverDirs(), dirsBefore, 'every private temp dir was deleted'));

  it('runs ordinary code in an empty private working directory and returns its output', async () => {
    const r = await runSandboxed(
      'import os\nprint(os.getcwd(), sorted(os.listdir(".")))\nopen("f.txt", "w").write("ok")\nprint(open("f.txt").read())',
    );
    assert.equal(r.status, 'ok', r.stderr);
    assert.equal(r.stdout, "/sandbox ['main.py']\nok\n");
    assert.equal(r.isolation, 'namespaces');
  });

  it('reports a failing program as an error with its traceback', async () => {
    const r = await runSandboxed('assert 1 + 1 == 3, "math"');
    assert.equal(r.status, 'error');
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /AssertionError: math/);
  });

  it('a fork bomb hits the process limit and everything it spawned is gone afterwards', async () => {
    const r = await runSandboxed('import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass', {
      wallSeconds: 3,
      cpuSeconds: 2,
      maxProcesses: 8,
    });
    assert.ok(['timeout', 'cpu-limit', 'killed'].includes(r.status), `status ${r.status}`);
    assert.equal(sandboxProcesses(r.uid), 0, 'no sandbox process survives');
    assert.ok(hostStillRunsProcesses());
  });

  it('cannot connect to a port listening on the host loopback', async () => {
    let connections = 0;
    const server: Server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runSandboxed(`import socket\nsocket.create_connection(("127.0.0.1", ${port}), timeout=5)\nprint("connected")`);
      assert.equal(r.status, 'error');
      assert.doesNotMatch(r.stdout, /connected/);
      assert.match(r.stderr, /OSError|unreachable|refused/i);
      // The host end is fine and saw nothing from the sandbox.
      const probe = spawnSync('/usr/bin/python3', [
        '-c',
        `import socket; socket.create_connection(("127.0.0.1", ${port}), timeout=5).close()`,
      ]);
      assert.equal(probe.status, 0, 'the host itself can connect');
      await new Promise((res) => setTimeout(res, 100));
      assert.equal(connections, 1, 'only the host connection arrived');
    } finally {
      server.close();
    }
  });

  it('cannot read a secret file outside its directory, nor the project or /etc/passwd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-secret-'));
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'TOP-SECRET-4417', { mode: 0o644 }); // world-readable on purpose: permissions are not what stops it
    const project = join(import.meta.dirname, '../../package.json');
    try {
      const code = [secret, project, '/etc/passwd', '/proc/1/environ']
        .map((p) => `try:\n    print(open(${JSON.stringify(p)}).read())\nexcept OSError as e:\n    print("denied", type(e).__name__)`)
        .join('\n');
      const r = await runSandboxed(code);
      assert.equal(r.status, 'ok', r.stderr);
      assert.doesNotMatch(r.stdout, /TOP-SECRET|"name": "tetra"|root:/);
      assert.equal(r.stdout.match(/^denied/gm)?.length, 4, r.stdout);
      assert.equal(readFileSync(secret, 'utf8'), 'TOP-SECRET-4417', 'the secret is untouched');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cannot write to the system directories it can see', async () => {
    const r = await runSandboxed(
      'import os\nfor p in ["/usr/evil", "/evil", "/bin/evil"]:\n    try:\n        open(p, "w")\n        print("wrote", p)\n    except OSError as e:\n        print("denied")',
    );
    assert.equal(r.status, 'ok', r.stderr);
    assert.equal(r.stdout, 'denied\ndenied\ndenied\n');
  });

  it('an infinite loop is killed at its CPU limit', async () => {
    const r = await runSandboxed('while True:\n    pass', { cpuSeconds: 1, wallSeconds: 30 });
    assert.ok(r.status === 'cpu-limit' || r.status === 'killed', `status ${r.status}`);
    assert.equal(sandboxProcesses(r.uid), 0);
  });

  it('a sleeping program is killed at the wall-clock limit', async () => {
    const r = await runSandboxed('import time\ntime.sleep(600)', { wallSeconds: 1 });
    assert.equal(r.status, 'timeout');
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(sandboxProcesses(r.uid), 0);
  });

  it('printing a gigabyte is cut at the output cap without Node buffering it', async () => {
    const rss0 = process.memoryUsage().rss;
    const r = await runSandboxed('import sys\nb = "x" * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(b)', {
      maxOutputBytes: 100_000,
      wallSeconds: 60,
      cpuSeconds: 30,
    });
    assert.equal(r.status, 'output-limit');
    assert.equal(r.truncated, true);
    assert.equal(r.stdout.length, 100_000);
    assert.ok(process.memoryUsage().rss - rss0 < 200 << 20, 'Node did not buffer the output');
  });

  it('allocating 10 GB fails at the memory limit', async () => {
    const r = await runSandboxed('x = bytearray(10 * 1024 ** 3)\nprint("allocated")', { memoryBytes: 256 << 20 });
    assert.equal(r.status, 'error');
    assert.match(r.stderr, /MemoryError/);
    assert.doesNotMatch(r.stdout, /allocated/);
  });

  it('a file larger than the size limit cannot be written', async () => {
    const r = await runSandboxed('f = open("big", "wb")\nf.write(b"x" * (4 << 20))\nf.close()\nprint("wrote")', { maxFileBytes: 1 << 20 });
    assert.notEqual(r.status, 'ok');
    assert.doesNotMatch(r.stdout, /wrote/);
  });

  it('a child that escapes with setsid is still killed with the sandbox', async () => {
    const r = await runSandboxed('import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\nelse:\n    time.sleep(600)', {
      wallSeconds: 1,
    });
    assert.equal(r.status, 'timeout');
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(sandboxProcesses(r.uid), 0);
  });

  it('aborts when the caller aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await runSandboxed('import time\ntime.sleep(600)', { signal: ac.signal, wallSeconds: 60 });
    assert.equal(r.status, 'aborted');
  });
});

describe('sandbox without namespaces', () => {
  it('refuses to run unless allowUnsandboxed is given', async () => {
    await assert.rejects(
      runSandboxed('print(1)', { isolation: 'none' }),
      (e: Error) => e instanceof SandboxUnavailableError && /allowUnsandboxed/.test(e.message),
    );
  });

  it('with allowUnsandboxed, a bypassable audit hook refuses sockets and files outside the temp dir', {
    skip: !python && 'no /usr/bin/python3',
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-secret-'));
    writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET-4417');
    try {
      const r = await runSandboxed(
        `try:\n    print(open(${JSON.stringify(join(dir, 'secret.txt'))}).read())\nexcept PermissionError:\n    print("denied")\nimport socket\ntry:\n    socket.socket()\nexcept PermissionError:\n    print("denied")\nopen("mine.txt", "w").write("ok")\nprint(open("mine.txt").read())`,
        { isolation: 'none', allowUnsandboxed: true },
      );
      assert.equal(r.isolation, 'none');
      assert.equal(r.stdout, 'denied\ndenied\nok\n', r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

before(() => {
  if (skip) console.log(`# sandbox namespace tests skipped: ${skip}`);
});
