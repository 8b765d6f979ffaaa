// The gateway in front of upstream servers that misbehave the way real ones do: one that accepts
// and never answers, one that stalls mid-stream, one that dies mid-stream, one that answers 503,
// and one that is not there at all. Each case checks what the client reads (status, envelope, no
// internal addresses) and what the ledger records (the status sent, the tokens delivered).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { UpstreamEngine } from '../../src/engine/index.ts';
import { Catalog, createGateway, parseCatalog, type Gateway } from '../../src/gateway/index.ts';
import { post, sseEvents } from './fixture.ts';
import { requestIdIn, testGovernance } from './fixtures/governance.ts';

const PIECE = 'abcd'; // 4 bytes: one token by the upstream engine's estimate for unknown models
const DELIVERED = 7;

function chunk(content: string): string {
  return `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
}

/** One server, a behaviour per base path: /hang, /stall, /die, /busy. */
function hostileUpstream(): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const mode = (req.url ?? '').split('/')[1];
      if (mode === 'hang') return; // accepted, never answered
      if (mode === 'busy') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'overloaded at 10.0.0.5:8000', type: 'server_error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < DELIVERED; i++) res.write(chunk(PIECE));
      if (mode === 'die') setTimeout(() => res.socket?.destroy(), 50);
      // stall: the stream stays open, silent
    });
  });
}

describe('gateway in front of a failing upstream', () => {
  let upstream: Server, gateway: Gateway, url: string, base: string;
  const gov = testGovernance();
  const ledger = gov.ledger;
  const logs: string[] = [];
  const engines: UpstreamEngine[] = [];

  before(async () => {
    upstream = hostileUpstream();
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const modes = ['hang', 'stall', 'die', 'busy'];
    const engineMap = new Map<string, UpstreamEngine>();
    for (const m of modes) {
      const e = new UpstreamEngine({ baseURL: `${base}/${m}/v1`, model: 'm', firstByteTimeoutMs: 300, idleTimeoutMs: 300 });
      engines.push(e);
      engineMap.set(m, e);
    }
    const gone = new UpstreamEngine({ baseURL: 'http://127.0.0.1:9/v1', model: 'm' }); // the discard port: nothing listens
    engines.push(gone);
    engineMap.set('gone', gone);
    const catalog = parseCatalog(
      {
        engines: Object.fromEntries([...engineMap.keys()].map((k) => [k, { kind: 'upstream', url: 'http://unused/v1' }])),
        models: [...engineMap.keys()].map((k) => ({ id: k, engine: k, prices: { prompt: 1, completion: 2 } })),
      },
      'test',
    );
    gateway = createGateway({
      catalog: new Catalog(catalog),
      engines: engineMap,
      auth: gov.auth,
      limits: gov.limits,
      ledger,
      log: (l) => logs.push(l),
    });
    url = await gateway.listen(0, '127.0.0.1');
  });

  after(async () => {
    await gateway.close();
    for (const e of engines) await e.close();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  const ask = (model: string, stream: boolean) =>
    post(url, '/v1/chat/completions', { model, stream, messages: [{ role: 'user', content: 'hi' }] });
  /** The ledger row of the request an error message names. */
  const rowOf = (error: { message: string }) => {
    const rows = ledger.find(requestIdIn(error.message));
    assert.equal(rows.length, 1);
    return rows[0];
  };
  const noInternals = (text: string) => {
    for (const leak of ['127.0.0.1', '10.0.0.5', base, 'ECONNREFUSED', '/hang/', '/stall/', '/die/', '/busy/'])
      assert.ok(!text.includes(leak), `client saw "${leak}" in ${text}`);
  };

  it('an upstream that never answers is a 504 envelope within the first-byte deadline, streaming or not', async () => {
    for (const stream of [false, true]) {
      const started = Date.now();
      const r = await ask('hang', stream);
      assert.equal(r.status, 504, r.text);
      assert.equal(r.json.error.code, 'upstream_timeout');
      assert.ok(Date.now() - started < 5000, 'answered by the deadline, not the old 600 s');
      noInternals(r.text);
      const err = r.json.error; // before the first byte, a stream's failure is a plain JSON answer too
      assert.equal(rowOf(err).status, 504);
    }
  });

  it('a stream that goes quiet ends with an SSE error event (504), and the delivered tokens are billed', async () => {
    const r = await ask('stall', true);
    assert.equal(r.status, 200);
    const events = sseEvents(r.text);
    const content = events
      .slice(0, -1)
      .map((e) => JSON.parse(e).choices[0]?.delta?.content ?? '')
      .join('');
    assert.equal(content, PIECE.repeat(DELIVERED));
    const err = JSON.parse(events[events.length - 1]).error;
    assert.equal(err.code, 'upstream_timeout');
    noInternals(r.text);
    const row = rowOf(err);
    assert.equal(row.status, 504);
    assert.equal(row.completionTokens, DELIVERED);
    assert.ok(row.cost > 0 && Math.abs(row.cost - (row.promptTokens * 1 + DELIVERED * 2) / 1000) < 1e-12, "priced at the snapshot's rates");
  });

  it('an upstream that dies mid-stream: the client reads an error event, the ledger bills what was delivered with the status sent', async () => {
    const r = await ask('die', true);
    assert.equal(r.status, 200);
    const events = sseEvents(r.text);
    const err = JSON.parse(events[events.length - 1]).error;
    assert.equal(err.type, 'server_error');
    assert.match(err.message, /request chatcmpl-/, 'names the request for support');
    noInternals(r.text);
    const row = rowOf(err);
    assert.equal(row.status, 502);
    assert.equal(row.completionTokens, DELIVERED);
    assert.ok(
      logs.some((l) => l.includes(row.requestId) && l.includes(base)),
      'the server log has the detail under the request id',
    );
  });

  it('without streaming, a death mid-answer is a 502 and bills no completion the client never got', async () => {
    const r = await ask('die', false);
    assert.equal(r.status, 502, r.text);
    noInternals(r.text);
    assert.equal(rowOf(r.json.error).status, 502);
    assert.equal(rowOf(r.json.error).completionTokens, 0);
  });

  it('the ledger records the status the client received for upstream errors (503, unreachable)', async () => {
    for (const model of ['busy', 'gone']) {
      const r = await ask(model, false);
      assert.ok(r.status === 502 || r.status === 503, `${model}: ${r.status}`);
      assert.equal(rowOf(r.json.error).status, r.status, `${model}: ledger and client disagree`);
      noInternals(r.text);
    }
  });
});
