// src/net's one retry policy as a table: which failures are retried, how a server's retry-after is
// read, what the backoff is, and the bounded loop around it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  RETRY_POLICY,
  RetriesExhaustedError,
  Http1Error,
  backoffMs,
  isRetryable,
  retryAfterMs,
  retryDelayMs,
  withRetries,
} from '../../src/net/index.ts';

const answer = (status: number, headers: Record<string, string> = {}) => new APIError(status, new Headers(headers), undefined, undefined);
const socketError = (code: string) => Object.assign(new Http1Error(`connect ${code}`), { code });

describe('retry policy', () => {
  it('retries 408, 409, 429 and 5xx answers, and x-should-retry overrides the status either way', () => {
    const table: [number, Record<string, string>, boolean][] = [
      [400, {}, false],
      [401, {}, false],
      [403, {}, false],
      [404, {}, false],
      [422, {}, false],
      [408, {}, true],
      [409, {}, true],
      [429, {}, true],
      [500, {}, true],
      [502, {}, true],
      [503, {}, true],
      [599, {}, true],
      [429, { 'x-should-retry': 'false' }, false],
      [503, { 'x-should-retry': 'false' }, false],
      [400, { 'x-should-retry': 'true' }, true],
      [404, { 'x-should-retry': 'true' }, true],
    ];
    for (const [status, headers, want] of table) {
      assert.equal(isRetryable(answer(status, headers)), want, `${status} ${JSON.stringify(headers)}`);
    }
    // plain objects with a status and a header record are read the same way (errors from elsewhere)
    assert.equal(isRetryable({ status: 429, headers: { 'x-should-retry': 'false' } }), false);
    assert.equal(isRetryable({ status: 503 }), true);
  });

  it('retries connection failures and connect deadlines, never a request that went out and hung, nor an abort', () => {
    const table: [string, unknown, boolean][] = [
      ['refused, as the client reports it', new APIConnectionError('Connection error: ECONNREFUSED', { code: 'ECONNREFUSED' }), true],
      ['a body cut off mid-way', new APIConnectionError('closed mid-body', { interrupted: true }), true],
      ['a bare socket error', socketError('ECONNRESET'), true],
      ['an error whose message names the socket failure', new Error('socket hang up'), true],
      ['the connect deadline', new APIConnectionTimeoutError('could not connect', 'connect'), true],
      ['no answer head in time', new APIConnectionTimeoutError('no response', 'first-byte'), false],
      ['silence mid-body', new APIConnectionTimeoutError('went quiet', 'idle'), false],
      ['a timeout of unknown phase (the official client)', new APIConnectionTimeoutError(), false],
      ["the HTTP/1.1 client's own first-byte deadline", Object.assign(new Http1Error('no response'), { timeout: 'first-byte' }), false],
      ['an abort by the caller', new APIUserAbortError(), false],
      ['a DOM-style AbortError', Object.assign(new Error('aborted'), { name: 'AbortError' }), false],
      ['an error event inside a 200 stream', new APIError(undefined, undefined, { message: 'boom' }, undefined), false],
      ['a plain error', new Error('bad input'), false],
      ['not an object', 'ECONNRESET', false],
    ];
    for (const [what, err, want] of table) assert.equal(isRetryable(err), want, what);
  });

  it('reads retry-after-ms, then retry-after in seconds or as an HTTP date', () => {
    const now = Date.UTC(2025, 0, 1, 12, 0, 0);
    const table: [Record<string, string>, number | undefined][] = [
      [{ 'retry-after': '2' }, 2000],
      [{ 'retry-after': '0.3' }, 300],
      [{ 'retry-after-ms': '150' }, 150],
      [{ 'retry-after-ms': '150', 'retry-after': '9' }, 150],
      [{ 'retry-after-ms': 'soon', 'retry-after': '9' }, 9000],
      [{ 'retry-after': new Date(now + 6000).toUTCString() }, 6000],
      [{ 'retry-after': new Date(now - 6000).toUTCString() }, 0],
      [{ 'retry-after': 'whenever' }, undefined],
      [{}, undefined],
    ];
    for (const [headers, want] of table) {
      assert.equal(retryAfterMs(answer(429, headers), now), want, JSON.stringify(headers));
      assert.equal(retryAfterMs({ headers }, now), want, `${JSON.stringify(headers)} as a record`);
    }
  });

  it('waits what the server asks up to 60 s, refuses longer asks, and otherwise backs off exponentially with jitter', () => {
    assert.deepEqual(RETRY_POLICY, { baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 60_000, maxRetries: 5 });
    assert.equal(retryDelayMs(answer(429, { 'retry-after': '60' }), 0), 60_000);
    assert.equal(retryDelayMs(answer(429, { 'retry-after': '61' }), 0), null, 'more than the longest honoured retry-after');
    assert.equal(retryDelayMs(answer(429, { 'retry-after': '61' }), 0, { maxRetryAfterMs: 120_000 }), 61_000);
    const low = () => 0,
      high = () => 1 - Number.EPSILON;
    for (let attempt = 0; attempt < 10; attempt++) {
      const full = Math.min(30_000, 500 * 2 ** attempt);
      assert.equal(backoffMs(attempt, { random: low }), full / 2, `attempt ${attempt}: half the delay at the least`);
      assert.ok(backoffMs(attempt, { random: high }) <= full, `attempt ${attempt}: the full delay at most`);
    }
    assert.equal(retryDelayMs(answer(503), 3, { random: low }), 2000, 'no retry-after: backoff');
  });
});

describe('withRetries', () => {
  it('retries what the policy allows, with the planned delays, then gives up naming the attempts', async () => {
    const waits: number[] = [];
    let calls = 0;
    const fail = () => {
      calls++;
      throw answer(503);
    };
    const o = { maxRetries: 3, baseDelayMs: 1, random: () => 0, onRetry: (i: { delayMs: number }) => waits.push(i.delayMs) };
    await assert.rejects(withRetries(fail, o), (e: unknown) => {
      assert.ok(e instanceof RetriesExhaustedError);
      assert.equal(e.attempts, 4);
      assert.equal((e.last as APIError).status, 503);
      assert.match(e.message, /gave up after 4 attempts: 503/);
      return true;
    });
    assert.equal(calls, 4);
    assert.deepEqual(waits, [0.5, 1, 2]);
  });

  it('throws what is not retryable as it is, at once, and succeeds after a passing failure', async () => {
    let calls = 0;
    const bad = answer(400);
    await assert.rejects(
      withRetries(async () => {
        calls++;
        throw bad;
      }),
      (e) => e === bad,
    );
    assert.equal(calls, 1);
    let n = 0;
    assert.equal(
      await withRetries(
        async () => {
          if (n++ < 2) throw socketError('ECONNRESET');
          return 'ok';
        },
        { baseDelayMs: 1 },
      ),
      'ok',
    );
  });

  it('fails at once when the server asks to wait longer than allowed', async () => {
    let calls = 0;
    const tooLong = async () => {
      calls++;
      throw answer(429, { 'retry-after': '3600' });
    };
    await assert.rejects(withRetries(tooLong), /asked to retry after 3600 s, more than the 60 s allowed/);
    assert.equal(calls, 1);
  });

  it('stops waiting when its signal aborts', async () => {
    const ac = new AbortController();
    const p = withRetries(
      async () => {
        throw answer(503, { 'retry-after': '30' });
      },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(new Error('stopped')), 10);
    await assert.rejects(p, /stopped/);
  });
});
