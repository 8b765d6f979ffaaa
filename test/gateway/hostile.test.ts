// What a hostile or careless client meets: models outside its plan stay invisible, headers that
// trickle in get a 408, a wrong method gets 405 with Allow, and a 429 says when to retry.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { post, serve, SNAPSHOT, SNAPSHOT_LONG, tinyCheckpoint, type Served } from './fixture.ts';

const plans = { plans: { default: { rpm: 1000 }, narrow: { models: ['tetra'], rpm: 1 } } };

describe('HTTP API against hostile clients', () => {
  let s: Served;
  before(async () => {
    s = await serve({ dir: tinyCheckpoint(), keys: { wide: 'default', narrow: 'narrow' }, plans, extra: { headersTimeoutMs: 300 } });
  });
  after(async () => {
    await s.close();
    await s.engine.close();
  });

  const get = (path: string, key: string) => fetch(s.url + path, { headers: { authorization: `Bearer ${key}` } });

  it("lists and describes only the models the caller's plan may use", async () => {
    const wide = (await (await get('/v1/models', s.secrets.wide)).json()) as { data: { id: string }[] };
    assert.deepEqual(wide.data.map((m) => m.id).sort(), [SNAPSHOT, SNAPSHOT_LONG, 'tetra', 'tetra-long'].sort());
    const narrowList = (await (await get('/v1/models', s.secrets.narrow)).json()) as { data: { id: string }[] };
    assert.deepEqual(
      narrowList.data.map((m) => m.id),
      ['tetra'],
    );
    assert.equal((await get('/v1/models/tetra', s.secrets.narrow)).status, 200);
    for (const other of ['tetra-long', SNAPSHOT_LONG, SNAPSHOT]) {
      const r = await get(`/v1/models/${other}`, s.secrets.narrow);
      assert.equal(r.status, 404, other);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'model_not_found');
    }
    assert.equal((await get(`/v1/models/${SNAPSHOT_LONG}`, s.secrets.wide)).status, 200);
  });

  it('serves /metrics only to a caller with a key once keys are configured', async () => {
    const bare = await fetch(s.url + '/metrics');
    assert.equal(bare.status, 401);
    assert.equal(((await bare.json()) as { error: { code: string } }).error.code, 'invalid_api_key');
    const keyed = await get('/metrics', s.secrets.narrow);
    assert.equal(keyed.status, 200);
    assert.match(await keyed.text(), /tetra_requests_total/);
  });

  it('answers headers that never finish arriving with 408 in the envelope', async () => {
    const port = Number(new URL(s.url).port);
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: '));
      let text = '';
      sock.on('data', (b) => {
        text += b.toString('latin1');
      });
      sock.on('close', () => resolve(text));
      sock.on('error', reject);
      setTimeout(() => {
        sock.destroy();
        reject(new Error('no answer within 5 s'));
      }, 5000);
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; type: string } };
    assert.equal(body.error.code, 'request_timeout');
  });

  it('refuses other methods on the generation routes with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'HEAD']) {
      for (const path of ['/v1/chat/completions', '/v1/completions?x=1']) {
        const r = await fetch(s.url + path, { method, headers: { authorization: `Bearer ${s.secrets.wide}` } });
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers.get('allow'), 'POST');
        if (method !== 'HEAD') assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
      }
    }
  });

  it('a 429 carries Retry-After in whole seconds besides the x-ratelimit headers', async () => {
    const body = { model: 'tetra', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] };
    const first = await post(s.url, '/v1/chat/completions', body, { authorization: `Bearer ${s.secrets.narrow}` });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('retry-after'), null);
    const second = await post(s.url, '/v1/chat/completions', body, { authorization: `Bearer ${s.secrets.narrow}` });
    assert.equal(second.status, 429);
    const after = Number(second.headers.get('retry-after'));
    assert.ok(Number.isInteger(after) && after >= 1 && after <= 60, `retry-after ${second.headers.get('retry-after')}`);
    assert.equal(second.headers.get('x-ratelimit-limit-requests'), '1');
  });
});

describe('oversize bodies', () => {
  let s: Served;
  before(async () => {
    s = await serve({ extra: { maxBodyBytes: 64 << 10 } });
  });
  after(async () => {
    await s.close();
    await s.engine.close();
  });

  it('every client still sending reads the 413, 200 of 200 (lingering close, not a reset)', async () => {
    const big = JSON.stringify({ model: 'tetra', messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] });
    let read = 0;
    const failures: string[] = [];
    // Four clients at a time, with and without a declared length (a stream has none: chunked).
    for (let round = 0; round < 50; round++) {
      await Promise.all(
        [0, 1, 2, 3].map(async (k) => {
          try {
            const body = k % 2 ? big : new Blob([big]).stream();
            const r = await fetch(s.url + '/v1/chat/completions', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
              duplex: 'half',
            } as RequestInit);
            const j = (await r.json()) as { error: { code: string } };
            if (r.status === 413 && j.error.code === 'request_too_large') read++;
            else failures.push(`${r.status} ${JSON.stringify(j)}`);
          } catch (e) {
            failures.push(String((e as Error).cause ?? e));
          }
        }),
      );
    }
    assert.deepEqual(failures, []);
    assert.equal(read, 200);
  });
});
