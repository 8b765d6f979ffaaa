// The prediction registry: append-only, hash-chained, a prediction before the start or not at all.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readRegistry, recordStart, registerPrediction, RegistryError, scorePrediction } from '../../src/scaling/index.ts';

const prediction = (target: string) => ({
  target,
  targetFlops: 2e14,
  loss: 2.0,
  interval: [1.98, 2.03] as [number, number],
  level: 0.9,
  law: { a: 12, b: -0.1, c: 1.5 },
  ladder: [{ compute: 1e9, loss: 3.1 }],
  gitRevision: 'abc123',
});
const fresh = () => join(mkdtempSync(join(tmpdir(), 'tetra-registry-')), 'predictions.jsonl');

describe('prediction registry', () => {
  it('registers, starts and scores in order, with the error and whether the interval held', () => {
    const file = fresh();
    registerPrediction(file, prediction('big'));
    recordStart(file, 'big');
    const s = scorePrediction(file, 'big', 2.02);
    assert.ok(Math.abs(s.errorPct - (0.02 / 2.02) * 100) < 1e-9);
    assert.equal(s.withinInterval, true);
    assert.deepEqual(
      readRegistry(file).map((e) => [e.seq, e.kind]),
      [
        [1, 'prediction'],
        [2, 'started'],
        [3, 'score'],
      ],
    );
  });

  it('refuses a prediction after the start, a second prediction, and a score without both', () => {
    const file = fresh();
    recordStart(file, 'late');
    assert.throws(() => registerPrediction(file, prediction('late')), /already started training/);
    registerPrediction(file, prediction('once'));
    assert.throws(() => registerPrediction(file, prediction('once')), /never replaced/);
    assert.throws(() => scorePrediction(file, 'once', 2), /no recorded start/);
    assert.throws(() => scorePrediction(file, 'nobody', 2), /no registered prediction/);
  });

  it('a metric of a run (run:metric) starts when its run starts', () => {
    const file = fresh();
    registerPrediction(file, prediction('big:addition-2digit'));
    recordStart(file, 'big');
    assert.throws(() => registerPrediction(file, prediction('big:addition-3digit')), /already started training/);
    assert.ok(scorePrediction(file, 'big:addition-2digit', 2.0).errorPct < 1e-9);
    registerPrediction(file, prediction('bigger:addition-2digit'));
    assert.throws(() => scorePrediction(file, 'bigger:addition-2digit', 2), /no recorded start/, "another run's start does not count");
  });

  it('a prediction written after the start by hand-appending does not count', () => {
    const file = fresh();
    recordStart(file, 't');
    // Forge the order: bypass registerPrediction's check by writing to another file and splicing.
    const other = fresh();
    recordStart(other, 'x');
    registerPrediction(other, prediction('t'));
    const lines = readFileSync(other, 'utf8').trim().split('\n');
    writeFileSync(file, `${readFileSync(file, 'utf8')}${lines[1]}\n`);
    assert.throws(
      () => readRegistry(file),
      (e: unknown) => e instanceof RegistryError && /:2: this entry was changed/.test(e.message),
    );
  });

  it('detects any edit, deletion or reordering, naming the line', () => {
    const file = fresh();
    registerPrediction(file, prediction('a'));
    registerPrediction(file, prediction('b'));
    recordStart(file, 'a');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('"loss":2,', '"loss":1.9,'));
    assert.throws(() => readRegistry(file), /predictions\.jsonl:1: this entry was changed/);
    const lines = original.trim().split('\n');
    writeFileSync(file, `${[lines[0], lines[2]].join('\n')}\n`);
    assert.throws(() => readRegistry(file), /:2: this entry was changed, removed or moved/);
    writeFileSync(file, `${[lines[1], lines[0], lines[2]].join('\n')}\n`);
    assert.throws(() => readRegistry(file), /:1:/);
    writeFileSync(file, original);
    assert.equal(readRegistry(file).length, 3);
  });
});
