// JSON Lines as tetra appends them: a missing file is empty, blank lines are skipped, and a
// corrupted line stops the read with the file and line named.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JsonlError, readJsonl } from '../../src/util/index.ts';

describe('readJsonl', () => {
  it('reads each line, skips blank ones, and names a bad line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-jsonl-'));
    assert.deepEqual(readJsonl(join(dir, 'missing.jsonl')), []);
    const f = join(dir, 'r.jsonl');
    writeFileSync(f, '{"a":1}\n\n{"a":2}\n');
    assert.deepEqual(readJsonl<{ a: number }>(f), [{ a: 1 }, { a: 2 }]);
    writeFileSync(f, '{"a":1}\n{"a":\n');
    assert.throws(
      () => readJsonl(f, 'a result'),
      (e: unknown) => e instanceof JsonlError && /r\.jsonl:2: not a result$/.test((e as Error).message),
    );
  });
});
