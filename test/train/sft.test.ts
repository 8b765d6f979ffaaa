// Supervised fine-tuning: OpenAI fine-tuning JSONL read and checked line by line, rows that learn
// only the assistant's tokens, batches that resume exactly, and `tetra sft` lowering the held-out
// loss of a real pretrained checkpoint on conversations with system messages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { conversationRow, generateInstructions, readConversations } from '../../src/data/index.ts';
import { GPT, latestCheckpoint, loadCheckpoint } from '../../src/model/index.ts';
import { defaultBackend } from '../../src/tensor/index.ts';
import { byteTokenizer } from '../../src/tokenizer/index.ts';
import { answerWeights, conversationLoss, conversationSource, loadSftData, padRows, readMetrics } from '../../src/train/index.ts';
import { pretrainTinyBase } from '../fixtures/tiny-base.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tetra-sft-'));
const bin = join(import.meta.dirname, '../../bin/tetra.js');
const tok = byteTokenizer();
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('conversation data', () => {
  it('learns the assistant turns only (content and closing <|end|>), and honours weight 0', () => {
    const dir = tmp(),
      file = join(dir, 'c.jsonl');
    const messages = [
      { role: 'system', content: 'Answer in uppercase.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'HELLO', weight: 0 },
      { role: 'user', content: 'again' },
      { role: 'assistant', content: [{ type: 'text', text: 'AGAIN' }] },
    ];
    writeFileSync(file, jsonl([{ messages }]));
    const [c] = readConversations(file);
    const row = conversationRow(tok, c, 256);
    const learned = [...row.targets].filter((t) => t >= 0);
    assert.equal(tok.decode(learned.filter((t) => !tok.isSpecial(t))), 'AGAIN', 'the weight-0 turn is context only');
    assert.equal(learned.at(-1), tok.special('<|end|>'));
    assert.equal(row.tokens, learned.length);
    for (let t = 0; t + 1 < row.inputs.length; t++) assert.ok(row.targets[t] === -1 || row.targets[t] === row.inputs[t + 1]);
  });

  it('names the file and line of every kind of bad input', () => {
    const dir = tmp();
    const bad: [unknown, RegExp][] = [
      ['{not json', /c\.jsonl:2: not valid JSON/],
      [
        { messages: [{ role: 'tool', content: 'x' }] },
        /c\.jsonl:2: messages\[0\]\.role must be "system", "user" or "assistant", got "tool"/,
      ],
      [
        {
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: ' ' },
          ],
        },
        /c\.jsonl:2: messages\[1\]: empty assistant turn/,
      ],
      [{ messages: [{ role: 'user', content: 'q' }] }, /c\.jsonl:2: no assistant message to learn from/],
      [{ messages: [] }, /c\.jsonl:2: expected \{"messages": \[\.\.\.\]\}/],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, /content\[0\]: image parts need/],
    ];
    const good = {
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
    };
    for (const [line, re] of bad) {
      const file = join(dir, 'c.jsonl');
      writeFileSync(file, `${JSON.stringify(good)}\n${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
      assert.throws(() => readConversations(file), re);
    }
    const file = join(dir, 'long.jsonl');
    writeFileSync(
      file,
      jsonl([
        good,
        {
          messages: [
            { role: 'user', content: 'x'.repeat(300) },
            { role: 'assistant', content: 'a' },
          ],
        },
      ]),
    );
    assert.throws(() => loadSftData(tok, 128, file), /long\.jsonl:2: the conversation needs \d+ tokens; the model's context holds 128/);
  });

  it('answer weights: each run of learned targets shares a weight of 1', () => {
    const w = answerWeights(Int32Array.of(-1, 5, 6, 7, -1, -1, 8, -1, 9, 9), -1);
    assert.deepEqual(Array.from(w), [0, 1 / 3, 1 / 3, 1 / 3, 0, 0, 1, 0, 0.5, 0.5].map(Math.fround));
    assert.deepEqual(Array.from(answerWeights(Int32Array.of(-1, -1))), [0, 0]);
  });

  it('batches pad with ignored targets and resume at any batch exactly', () => {
    const dir = tmp(),
      file = join(dir, 'c.jsonl');
    writeFileSync(file, jsonl(generateInstructions({ seed: 1, count: 60, split: 'train' }).map((s) => ({ messages: s.messages }))));
    const { train: rows } = loadSftData(tok, 256, file, { valFraction: 0 });
    const b = padRows(rows.slice(0, 3));
    assert.equal(b.T, Math.max(...rows.slice(0, 3).map((r) => r.inputs.length)));
    assert.equal(padRows(rows.slice(0, 3), 64).T % 64, 0);
    assert.equal(padRows(rows.slice(0, 3), 64, b.T).T, b.T, 'never past the cap, never below the longest row');
    // A training run meets few batch shapes: the tape keeps buffers by size, so each new shape costs memory for good.
    const shapes = new Set<string>();
    const src = conversationSource(rows, 4, 9, undefined, 256);
    for (let i = 0; i < 60; i++) {
      const x = src.next();
      shapes.add(`${x.B}x${x.T}`);
      assert.ok(x.T % 64 === 0 || x.T === 256);
    }
    assert.ok(shapes.size <= 2 * 4, [...shapes].join(' '));
    assert.equal(
      b.tokens,
      rows.slice(0, 3).reduce((s, r) => s + r.tokens, 0),
    );
    const a = conversationSource(rows, 4, 9);
    for (let i = 0; i < 20; i++) a.next(); // crosses an epoch (15 batches of 4)
    const resumed = conversationSource(rows, 4, 9, JSON.parse(JSON.stringify(a.position)));
    for (let i = 0; i < 5; i++) assert.deepEqual(resumed.next(), a.next());
  });
});

describe('tetra sft', () => {
  it('fine-tunes a pretrained checkpoint: the held-out loss on assistant turns falls', async () => {
    const base = await pretrainTinyBase(30, 2);
    const dir = tmp();
    const trainFile = join(dir, 'train.jsonl'),
      valFile = join(dir, 'val.jsonl');
    writeFileSync(trainFile, jsonl(generateInstructions({ seed: 1, count: 400, split: 'train' }).map((s) => ({ messages: s.messages }))));
    writeFileSync(valFile, jsonl(generateInstructions({ seed: 2, count: 40, split: 'eval' }).map((s) => ({ messages: s.messages }))));
    const ck = loadCheckpoint(latestCheckpoint(join(base, 'checkpoints'))!);
    const { val } = loadSftData(tok, 256, trainFile, { valFile });
    const before = conversationLoss(new GPT(ck.config, ck.params, { requiresGrad: false }), defaultBackend(), val, 8);

    const out = join(dir, 'sft');
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'sft',
        '--checkpoint',
        base,
        '--data',
        trainFile,
        '--val',
        valFile,
        '--out',
        out,
        '--steps',
        '60',
        '--batch',
        '8',
        '--lr',
        '3e-3',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.train, 400);
    assert.equal(result.val, 40);
    const metrics = readMetrics(out);
    assert.equal(metrics.length, 60);
    assert.ok(result.val_loss < before * 0.8, `held-out loss ${before.toFixed(3)} -> ${result.val_loss.toFixed(3)}`);
    assert.ok(latestCheckpoint(join(out, 'checkpoints')));

    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n{"messages": 3}\n');
    const e = spawnSync(process.execPath, [bin, 'sft', '--checkpoint', base, '--data', bad, '--out', join(dir, 'x')], { encoding: 'utf8' });
    assert.equal(e.status, 2);
    assert.match(e.stderr, /bad\.jsonl:2: expected \{"messages"/);
    assert.equal(e.stderr.trim().split('\n').length, 1);
  });
});
