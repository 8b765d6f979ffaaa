/// <reference lib="dom" />
/// <reference path="../../web/src/env.d.ts" />
// The page's pure parts, run in Node: the SSE reader (fed byte by byte, so every multi-byte
// character and every `data:` line is split across chunks), the math delimiters (prices stay
// prices, code is never math) and the conversation tree.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Marked } from 'marked';
import type { AppMessage } from '../../src/app/contract.ts';
import { mathExtensions } from '../../web/src/math.ts';
import { readSse } from '../../web/src/sse.ts';
import { branchTo, buildTree, siblingsOf } from '../../web/src/tree.ts';

function streamOf(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

describe('the SSE reader', () => {
  const pieces = ['漢字', ' and ', '🙂🙂', ' é ', 'done'];
  const body = `${pieces.map((p) => `data: ${JSON.stringify({ choices: [{ delta: { content: p } }] })}\n\n`).join('')}: keep-alive\n\ndata: [DONE]\n\n`;
  const bytes = new TextEncoder().encode(body);

  for (const chunk of [1, 2, 3, 5, 7, bytes.length]) {
    test(`chunks of ${chunk} byte(s): every event whole, in order, no U+FFFD`, async () => {
      const events: string[] = [];
      await readSse(streamOf(bytes, chunk), (d) => events.push(d));
      assert.equal(events.at(-1), '[DONE]');
      const text = events
        .slice(0, -1)
        .map((e) => JSON.parse(e).choices[0].delta.content)
        .join('');
      assert.equal(text, pieces.join(''));
    });
  }

  test('CRLF lines, a multi-line data field and a body without a final blank line', async () => {
    const events: string[] = [];
    await readSse(streamOf(new TextEncoder().encode('data: a\r\ndata: b\r\n\r\ndata: last'), 2), (d) => events.push(d));
    assert.deepEqual(events, ['a\nb', 'last']);
  });
});

describe('math delimiters', () => {
  const md = new Marked({ extensions: mathExtensions });
  const tex = (src: string) => [...(md.parse(src) as string).matchAll(/data-tex="([^"]*)"/g)].map((m) => m[1]);

  test('prices stay prices; $…$, \\(…\\), $$…$$ and \\[…\\] are math', () => {
    assert.deepEqual(tex('It costs $5 and $10.'), []);
    assert.deepEqual(tex('Between $ 3 $ and $4$5'), []);
    assert.deepEqual(tex('Let $x^2$ be'), ['x^2']);
    assert.deepEqual(tex('and \\(a+b\\) too'), ['a+b']);
    assert.deepEqual(tex('$$\\int_0^1 f$$'), ['\\int_0^1 f']);
    assert.deepEqual(tex('\\[ y = mx \\]'), ['y = mx']);
  });

  test('code spans and fences are never math', () => {
    assert.deepEqual(tex('`$x$` and\n\n```\n$$y$$\n\\(z\\)\n```\n'), []);
  });
});

describe('the conversation tree', () => {
  const m = (id: string, parentId: string | null, role: 'user' | 'assistant'): AppMessage => ({
    id,
    parentId,
    role,
    content: id,
    images: [],
    model: null,
    status: 'done',
    promptTokens: null,
    completionTokens: null,
    ttftMs: null,
    genMs: null,
    error: null,
    createdAt: '',
  });
  const tree = buildTree([
    m('u1', null, 'user'),
    m('a1', 'u1', 'assistant'),
    m('a1b', 'u1', 'assistant'),
    m('u2', 'a1', 'user'),
    m('u2b', 'a1', 'user'),
  ]);

  test('the branch runs from the root to the leaf; siblings share parent and role, oldest first', () => {
    assert.deepEqual(
      branchTo(tree, 'u2b').map((x) => x.id),
      ['u1', 'a1', 'u2b'],
    );
    assert.deepEqual(
      siblingsOf(tree, tree.byId.get('a1')!).map((x) => x.id),
      ['a1', 'a1b'],
    );
    assert.deepEqual(branchTo(tree, 'missing'), []);
  });
});
