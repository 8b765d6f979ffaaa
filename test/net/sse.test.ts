// The SSE reader: what an OpenAI-compatible stream's events carry, in every line-ending style,
// with comments and other fields, and split across network reads at every byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseReader } from '../../src/net/index.ts';

/** The data of every event in `pieces`, fed one piece at a time. */
function read(pieces: (string | Buffer)[]): string[] {
  const r = new SseReader(),
    out: string[] = [];
  for (const p of pieces) {
    r.push(typeof p === 'string' ? Buffer.from(p) : p);
    for (let d = r.next(); d !== null; d = r.next()) out.push(d);
  }
  return out;
}

describe('SseReader', () => {
  it('reads events ended by a blank line in LF, CRLF and CR styles', () => {
    assert.deepEqual(read(['data: {"a":1}\n\ndata: [DONE]\n\n']), ['{"a":1}', '[DONE]']);
    assert.deepEqual(read(['data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n']), ['{"a":1}', '[DONE]']);
    assert.deepEqual(read(['data: {"a":1}\r\rdata: [DONE]\r\r']), ['{"a":1}', '[DONE]']);
    assert.deepEqual(read(['data: a\r\ndata: b\r\n\r\ndata: c\n\n']), ['a\nb', 'c'], 'styles mixed across events');
  });

  it('joins multi-line data with newlines and keeps a value without its optional space', () => {
    assert.deepEqual(read(['data: first\ndata: second\ndata:third\ndata\n\n']), ['first\nsecond\nthird\n']);
    assert.deepEqual(read(['data:  two spaces\n\n']), [' two spaces'], 'only one space after the colon is dropped');
  });

  it('skips comments, other fields and events without data', () => {
    const stream = ': keep-alive\n\nevent: ping\nid: 7\nretry: 100\n\n: comment\nevent: message\ndata: {"x":1}\nid: 8\n\ndatabase: no\n\n';
    assert.deepEqual(read([stream]), ['{"x":1}']);
  });

  it('waits for the blank line: an unfinished event is not returned', () => {
    const r = new SseReader();
    r.push(Buffer.from('data: {"a":1}\n'));
    assert.equal(r.next(), null);
    r.push(Buffer.from('\n'));
    assert.equal(r.next(), '{"a":1}');
    assert.equal(r.next(), null);
  });

  it('reads the same events however the bytes are split (every split point, UTF-8 and CRLF included)', () => {
    for (const stream of [
      'data: {"t":"héllo €"}\n\n: c\n\ndata: a\ndata: b\n\ndata: [DONE]\n\n',
      'data: {"t":"héllo €"}\r\n\r\n: c\r\n\r\ndata: a\r\ndata: b\r\n\r\ndata: [DONE]\r\n\r\n',
    ]) {
      const bytes = Buffer.from(stream);
      const want = ['{"t":"héllo €"}', 'a\nb', '[DONE]'];
      for (let i = 0; i <= bytes.length; i++) {
        for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 3)]) {
          assert.deepEqual(read([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]), want, `split at ${i} and ${j}`);
        }
      }
      assert.deepEqual(read([...bytes].map((b) => Buffer.from([b]))), want, 'one byte at a time');
    }
  });

  it('drops a byte-order mark at the start of the stream', () => {
    assert.deepEqual(read([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf, ...Buffer.from('data: x\n\n')])]), ['x']);
  });
});
