import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayMetrics, METRICS_CONTENT_TYPE, Registry } from '../../src/gateway/prometheus.ts';
import { fixtureServerPath, get, post, startServer, stop } from './fixtures/processes.ts';

/** Parses exposition text into `name{labels}` -> value, checking each line's shape on the way. */
function parse(text: string): Map<string, number> {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const out = new Map<string, number>();
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (\S+)$/.exec(line);
    assert.ok(m, `malformed line: ${line}`);
    out.set(m[1], m[2] === '+Inf' ? Infinity : Number(m[2]));
  }
  return out;
}

describe('metrics', () => {
  it('render counters and gauges with labels in the text exposition format', () => {
    const r = new Registry();
    const c = r.counter('x_total', 'Things.\nCounted.', ['model']);
    const g = r.gauge('depth', 'Queue depth.', ['model']);
    c.inc({ model: 'a' });
    c.inc({ model: 'a' }, 2);
    c.inc({ model: 'say "hi"\\\n' });
    g.set({ model: 'a' }, 4);
    g.dec({ model: 'a' });
    assert.equal(r.render(), [
      '# HELP x_total Things.\\nCounted.',
      '# TYPE x_total counter',
      'x_total{model="a"} 3',
      'x_total{model="say \\"hi\\"\\\\\\n"} 1',
      '# HELP depth Queue depth.',
      '# TYPE depth gauge',
      'depth{model="a"} 3',
      '',
    ].join('\n'));
  });

  it('render histograms with cumulative buckets, +Inf, sum and count', () => {
    const r = new Registry();
    const h = r.histogram('lat_seconds', 'Latency.', [], [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 2]) h.observe({}, v);
    assert.equal(r.render(), [
      '# HELP lat_seconds Latency.',
      '# TYPE lat_seconds histogram',
      'lat_seconds_bucket{le="0.1"} 2',
      'lat_seconds_bucket{le="1"} 3',
      'lat_seconds_bucket{le="+Inf"} 4',
      'lat_seconds_sum 2.65',
      'lat_seconds_count 4',
      '',
    ].join('\n'));
  });

  it('refuse bad names, missing or extra labels, decreasing counters and unsorted buckets', () => {
    const r = new Registry();
    assert.throws(() => r.counter('bad-name', 'x'), /invalid metric name 'bad-name'/);
    assert.throws(() => r.counter('ok', 'x', ['le']), /invalid label name 'le'/);
    const c = r.counter('c_total', 'x', ['model']);
    assert.throws(() => r.counter('c_total', 'x'), /already registered/);
    assert.throws(() => c.inc({}), /needs label 'model'/);
    assert.throws(() => c.inc({ model: 'a', extra: 'b' }), /has no label 'extra'/);
    assert.throws(() => c.inc({ model: 'a' }, -1), /can only go up/);
    assert.throws(() => r.histogram('h', 'x', [], [1, 0.5]), /strictly increasing/);
  });

  it('count requests, tokens, latency and queue depth per model for the gateway', () => {
    const m = new GatewayMetrics();
    m.observeRequest({ model: 'gpt-4-0314', endpoint: '/v1/chat/completions', status: 200, promptTokens: 12, completionTokens: 30, latencyMs: 250, firstTokenMs: 40 });
    m.observeRequest({ model: 'gpt-4-0314', endpoint: '/v1/chat/completions', status: 429, promptTokens: 0, completionTokens: 0, latencyMs: 0.4 });
    m.enterQueue('gpt-4-0314'); m.enterQueue('gpt-4-0314'); m.leaveQueue('gpt-4-0314');
    m.observeRefusal('tokens');
    const v = parse(m.render());
    assert.equal(v.get('tetra_requests_total{model="gpt-4-0314",endpoint="/v1/chat/completions",status="200"}'), 1);
    assert.equal(v.get('tetra_requests_total{model="gpt-4-0314",endpoint="/v1/chat/completions",status="429"}'), 1);
    assert.equal(v.get('tetra_tokens_total{model="gpt-4-0314",kind="prompt"}'), 12);
    assert.equal(v.get('tetra_tokens_total{model="gpt-4-0314",kind="completion"}'), 30);
    assert.equal(v.get('tetra_request_duration_seconds_count{model="gpt-4-0314"}'), 2);
    assert.equal(v.get('tetra_request_duration_seconds_bucket{model="gpt-4-0314",le="0.001"}'), 1);
    assert.equal(v.get('tetra_request_duration_seconds_bucket{model="gpt-4-0314",le="0.25"}'), 2);
    assert.equal(v.get('tetra_time_to_first_token_seconds_sum{model="gpt-4-0314"}'), 0.04);
    assert.equal(v.get('tetra_queue_depth{model="gpt-4-0314"}'), 1);
    assert.equal(v.get('tetra_rate_limited_total{limit="tokens"}'), 1);
  });

  it('are served at GET /metrics with the Prometheus content type', async () => {
    const srv = await startServer(fixtureServerPath, { TETRA_DB: join(mkdtempSync(join(tmpdir(), 'tetra-metrics-')), 'tetra.db') });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await post(srv.port, '/v1/chat/completions', { model: 'm-1', prompt_tokens: 4 })).status, 200);
      const r = await get(srv.port, '/metrics');
      assert.equal(r.headers['content-type'], METRICS_CONTENT_TYPE);
      const v = parse(r.body);
      assert.equal(v.get('tetra_requests_total{model="m-1",endpoint="/v1/chat/completions",status="200"}'), 3);
      assert.equal(v.get('tetra_tokens_total{model="m-1",kind="prompt"}'), 12);
      assert.equal(v.get('tetra_queue_depth{model="m-1"}'), 0);
    } finally {
      await stop(srv);
    }
  });
});
