import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayMetrics } from '../../src/gateway/governance/metrics.ts';
import { chatBody, fixtureServerPath, get, post, startServer, stop } from './fixtures/processes.ts';

/** Parses exposition text into `name{labels}` -> value, checking each line's shape on the way. */
function parse(text: string): Map<string, number> {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const out = new Map<string, number>();
  for (const line of text.trimEnd().split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (\S+)$/.exec(line);
    assert.ok(m, `malformed line: ${line}`);
    out.set(m[1], m[2] === '+Inf' ? Infinity : Number(m[2]));
  }
  return out;
}

describe('metrics', () => {
  it('count requests, tokens, latency, time to first token and refusals per model', async () => {
    const m = new GatewayMetrics();
    m.observe({
      model: 'gpt-4-0314',
      route: '/v1/chat/completions',
      status: 200,
      promptTokens: 12,
      completionTokens: 30,
      latencyMs: 250,
      firstTokenMs: 40,
    });
    m.observe({
      model: 'gpt-4-0314',
      route: '/v1/chat/completions',
      status: 429,
      promptTokens: 9,
      completionTokens: 0,
      latencyMs: 0.4,
      limit: 'tokens',
    });
    const v = parse(await m.render({ 'gpt-4-0314': 1 }));
    assert.equal(v.get('tetra_requests_total{model="gpt-4-0314",endpoint="/v1/chat/completions",status="200"}'), 1);
    assert.equal(v.get('tetra_requests_total{model="gpt-4-0314",endpoint="/v1/chat/completions",status="429"}'), 1);
    assert.equal(v.get('tetra_tokens_total{model="gpt-4-0314",kind="prompt"}'), 12, 'a refused request served no tokens');
    assert.equal(v.get('tetra_tokens_total{model="gpt-4-0314",kind="completion"}'), 30);
    assert.equal(v.get('tetra_request_duration_seconds_count{model="gpt-4-0314"}'), 2);
    assert.equal(v.get('tetra_request_duration_seconds_bucket{le="0.001",model="gpt-4-0314"}'), 1);
    assert.equal(v.get('tetra_request_duration_seconds_bucket{le="0.25",model="gpt-4-0314"}'), 2);
    assert.equal(v.get('tetra_time_to_first_token_seconds_sum{model="gpt-4-0314"}'), 0.04);
    assert.equal(v.get('tetra_queue_depth{model="gpt-4-0314"}'), 1);
    assert.equal(v.get('tetra_rate_limited_total{limit="tokens"}'), 1);
  });

  it('are served at GET /metrics by the real gateway, fed from the production path (time to first token, 429s, process series)', async () => {
    const srv = await startServer(fixtureServerPath, {
      TETRA_DB: join(mkdtempSync(join(tmpdir(), 'tetra-metrics-')), 'tetra.db'),
      TETRA_PLANS: JSON.stringify({ plans: { default: { rpm: 4 } } }),
      TETRA_FROZEN_CLOCK: '1',
    });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await post(srv.port, '/v1/chat/completions', chatBody(4, 'm-1'))).status, 200);
      assert.equal((await post(srv.port, '/v1/chat/completions', { ...chatBody(4, 'm-1'), stream: true })).status, 200);
      assert.equal((await post(srv.port, '/v1/chat/completions', chatBody(4, 'm-1'))).status, 429);
      const r = await get(srv.port, '/metrics');
      assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const v = parse(r.body);
      assert.equal(v.get('tetra_requests_total{model="m-1",endpoint="/v1/chat/completions",status="200"}'), 4);
      assert.equal(v.get('tetra_requests_total{model="m-1",endpoint="/v1/chat/completions",status="429"}'), 1);
      assert.equal(v.get('tetra_tokens_total{model="m-1",kind="prompt"}'), 16);
      assert.equal(v.get('tetra_tokens_total{model="m-1",kind="completion"}'), 8);
      assert.equal(v.get('tetra_time_to_first_token_seconds_count{model="m-1"}'), 1, 'one streamed request');
      assert.equal(v.get('tetra_rate_limited_total{limit="requests"}'), 1);
      assert.equal(v.get('tetra_queue_depth{model="m-1"}'), 0);
      assert.ok(
        v.has('process_cpu_seconds_total') && v.has('nodejs_heap_size_used_bytes'),
        'the process and Node.js series operators expect',
      );
    } finally {
      await stop(srv);
    }
  });
});
