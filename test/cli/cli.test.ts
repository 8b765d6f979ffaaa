import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refBackend } from '../../src/tensor/index.ts';
import { requireNative } from '../helpers.ts';

const bin = join(import.meta.dirname, '../../bin/tetra.js');
function tetra(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the tetra command', () => {
  it('lists its subcommands under --help', () => {
    const r = tetra(['--help']);
    assert.equal(r.code, 0);
    for (const cmd of ['start', 'info']) assert.match(r.stdout, new RegExp(`^  ${cmd} `, 'm'));
  });

  it('rejects an unknown command with one line and exit code 2', () => {
    const r = tetra(['frobnicate']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  it('rejects an unknown flag with one line naming it and exit code 2', () => {
    const r = tetra(['info', '--colour']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'tetra info: unknown flag --colour (see tetra info --help)');
  });

  it('falls back to the reference backend with exactly one warning line when the addon cannot load', () => {
    const r = tetra(['info', '--json'], { TETRA_ADDON: '/nonexistent/tetra.node' });
    assert.equal(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /native kernels unavailable.*reference backend.*npm run build:native/);
    assert.equal(JSON.parse(r.stdout).backend, 'ref');
  });

  it('falls back the same way, naming the op, when the addon was built from older sources', () => {
    // A stand-in addon with every op but the newest: what a build from before windowsForward exports.
    const dir = mkdtempSync(join(tmpdir(), 'tetra-addon-'));
    const ops = Object.keys(refBackend).filter((k) => k !== 'name' && k !== 'windowsForward');
    writeFileSync(
      join(dir, 'tetra.cjs'),
      `const f = () => {};\nmodule.exports = { info: () => ({ isa: 'generic', available: ['generic'], threads: 1, cores: 1 }), ` +
        `setIsa: f, setThreads: f, ${ops.map((k) => `${k}: f`).join(', ')} };\n`,
    );
    const r = tetra(['info', '--json'], { TETRA_ADDON: join(dir, 'tetra.cjs') });
    assert.equal(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /is older than the sources \(no windowsForward\).*reference backend.*npm run build:native/);
    assert.equal(JSON.parse(r.stdout).backend, 'ref');
  });

  it('reports the instruction set forced by TETRA_CPU', { skip: requireNative().skip }, () => {
    const r = tetra(['info', '--json'], { TETRA_CPU: 'generic' });
    const report = JSON.parse(r.stdout);
    assert.equal(report.isa, 'generic');
  });

  it('takes its thread count from TETRA_THREADS', { skip: requireNative().skip }, () => {
    const r = tetra(['info', '--json'], { TETRA_THREADS: '1' });
    assert.equal(JSON.parse(r.stdout).threads, 1);
  });
});
