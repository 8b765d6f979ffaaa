// The transport's HTTP/1.1 client (src/net/http1.ts) against raw TCP servers that send exact
// bytes: every framing (Content-Length, chunked with extensions and trailers, read-until-close,
// no body), split at every byte and at random points; keep-alive reuse; a server that closes an
// idle socket; abort, timeout and malformed answers.
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Http1Client, Http1Error } from '../../src/net/index.ts';
import { Rng } from '../../src/tensor/random.ts';

/** A server that answers each request (one per socket read of a whole head + body) with `answer(n)`, written in `pieces`. */
async function rawServer(
  answer: (n: number) => { bytes: Buffer; pieces?: number[]; close?: boolean },
): Promise<{ url: URL; server: Server; connections: () => number; requests: string[] }> {
  let n = 0,
    conns = 0;
  const requests: string[] = [];
  const server = createServer((sock: Socket) => {
    conns++;
    sock.setNoDelay(true); // each piece goes out as its own segment
    let buf = '';
    sock.on('data', async (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        requests.push(buf.slice(0, end + 4 + len));
        buf = buf.slice(end + 4 + len);
        const a = answer(n++);
        let at = 0;
        for (const p of [...(a.pieces ?? []), a.bytes.length]) {
          if (p > at) {
            sock.write(a.bytes.subarray(at, p));
            at = p;
            await new Promise((r) => setImmediate(r));
          }
        }
        if (a.close) sock.end();
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/`), server, connections: () => conns, requests };
}

function chunked(parts: string[], trailers = ''): Buffer {
  return Buffer.from(
    `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n${parts.map((p, i) => `${Buffer.byteLength(p).toString(16)}${i % 2 ? ';ext=1' : ''}\r\n${p}\r\n`).join('')}0\r\n${trailers}\r\n`,
  );
}

async function body(c: Http1Client, signal?: AbortSignal): Promise<{ status: number; text: string; headers: Record<string, string> }> {
  const r = await c.request('POST', '/v1/x', { 'content-type': 'application/json' }, Buffer.from('{"a":1}'), signal);
  return { status: r.status, text: await r.text(), headers: r.headers };
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

describe('Http1Client', () => {
  it('reads Content-Length, chunked (with extensions and trailers) and no-body answers split at every byte, over one kept-alive socket', async () => {
    const text = 'data: {"x":"héllo"}\n\ndata: [DONE]\n\n';
    const answers = [
      Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`),
      chunked(['data: {"x":"hé', 'llo"}\n\n', 'data: [DONE]\n\n'], 'x-trailer: 1\r\n'),
      chunked(['data: {"x":"héllo"}\n\n', 'data: [DONE]\n\n']),
      Buffer.from('HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n'),
      Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'),
    ];
    for (const [i, bytes] of answers.entries()) {
      const expected = i < 3 ? text : '';
      const expectedStatus = i === 3 ? 204 : 200;
      // Every split point, one at a time, on the same client: also proves the socket is reused cleanly after each framing.
      const srv = await rawServer((n) => ({ bytes, pieces: [n % bytes.length] }));
      servers.push(srv.server);
      const c = new Http1Client(srv.url);
      for (let k = 0; k < bytes.length; k++) {
        const r = await body(c);
        assert.equal(r.status, expectedStatus, `answer ${i}, split at ${k}`);
        assert.equal(r.text, expected, `answer ${i}, split at ${k}`);
      }
      assert.equal(srv.connections(), 1, `answer ${i}: one connection for ${bytes.length} requests`);
      c.close();
    }
  });

  it('reads random multi-way splits of chunked streams exactly (property)', async () => {
    const rng = new Rng(7);
    for (let t = 0; t < 30; t++) {
      const parts = Array.from(
        { length: 1 + Math.floor(rng.next() * 6) },
        (_, i) => `data: {"i":${i},"s":"${'é€x'.repeat(Math.floor(rng.next() * 40))}"}\n\n`,
      );
      const bytes = chunked(parts);
      const pieces = Array.from({ length: 5 }, () => Math.floor(rng.next() * bytes.length)).sort((a, b) => a - b);
      const srv = await rawServer(() => ({ bytes, pieces }));
      servers.push(srv.server);
      const c = new Http1Client(srv.url);
      assert.equal((await body(c)).text, parts.join(''));
      c.close();
    }
  });

  it('sends one request with host, content-length and the given headers', async () => {
    const srv = await rawServer(() => ({ bytes: Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok') }));
    servers.push(srv.server);
    const c = new Http1Client(new URL(`${srv.url.href}v1/`));
    await body(c);
    assert.match(srv.requests[0], /^POST \/v1\/x HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\n/);
    assert.match(srv.requests[0], /content-type: application\/json\r\ncontent-length: 7\r\n\r\n\{"a":1\}$/);
    c.close();
  });

  it('reads a body delimited by the connection closing, and does not reuse that socket', async () => {
    const srv = await rawServer(() => ({
      bytes: Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close'),
      close: true,
    }));
    servers.push(srv.server);
    const c = new Http1Client(srv.url);
    assert.equal((await body(c)).text, 'until close');
    assert.equal((await body(c)).text, 'until close');
    assert.equal(srv.connections(), 2);
    c.close();
  });

  it('honours Connection: close, and repeated headers are joined', async () => {
    const srv = await rawServer(() => ({
      bytes: Buffer.from('HTTP/1.1 200 OK\r\nconnection: close\r\nx-a: 1\r\nX-A: 2\r\ncontent-length: 1\r\n\r\nk'),
    }));
    servers.push(srv.server);
    const c = new Http1Client(srv.url);
    const r = await body(c);
    assert.equal(r.headers['x-a'], '1, 2');
    await body(c);
    assert.equal(srv.connections(), 2);
    c.close();
  });

  it('flags a kept-alive socket the server closed before answering as safe to retry (and a fresh one as not)', async () => {
    // node:http with a 50 ms keep-alive timeout: the server closes the idle socket; our idle timer is longer.
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    server.keepAliveTimeout = 50;
    servers.push(server as unknown as Server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    const c = new Http1Client(url, { idleMs: 10_000 });
    assert.equal((await body(c)).text, 'ok');
    await new Promise((r) => setTimeout(r, 200)); // the server has closed it; our pool dropped it on 'close'
    assert.equal((await body(c)).text, 'ok', 'a closed idle socket is not reused');
    c.close();

    // A server that accepts the request and closes without a byte: on a reused socket that is retryable.
    const srv = await rawServer((n) =>
      n === 0 ? { bytes: Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na') } : { bytes: Buffer.alloc(0), close: true },
    );
    servers.push(srv.server);
    const c2 = new Http1Client(srv.url);
    await body(c2);
    const e = await body(c2).then(
      () => null,
      (x: unknown) => x,
    );
    assert.ok(e instanceof Http1Error);
    assert.equal(e.reusedSocket, true);
    const e2 = await body(c2).then(
      () => null,
      (x: unknown) => x,
    );
    assert.ok(e2 instanceof Http1Error);
    assert.equal(e2.reusedSocket, false, 'a fresh socket that fails is a real failure');
    c2.close();
  });

  it('refused connections fail with the socket code', async () => {
    const srv = await rawServer(() => ({ bytes: Buffer.alloc(0) }));
    const url = srv.url;
    await new Promise((r) => srv.server.close(r));
    const e = await body(new Http1Client(url)).then(
      () => null,
      (x: unknown) => x,
    );
    assert.ok(e instanceof Http1Error);
    assert.equal(e.code, 'ECONNREFUSED');
  });

  it('abort mid-body fails the read and closes the connection; the server sees it', async () => {
    let closed = false;
    const server = createServer((sock) => {
      sock.once('data', () => sock.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n'));
      sock.on('close', () => {
        closed = true;
      });
      sock.on('error', () => {});
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = new Http1Client(new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/`));
    const ac = new AbortController();
    const r = await c.request('POST', '/', {}, Buffer.from('x'), ac.signal);
    assert.equal((await r.read())!.toString(), 'hello');
    const pending = r.read();
    ac.abort();
    await assert.rejects(pending, /aborted/);
    for (let i = 0; i < 100 && !closed; i++) await new Promise((res) => setTimeout(res, 5));
    assert.ok(closed, 'the server saw the connection close');
  });

  it('times out a silent server, and rejects malformed answers with a clear error', async () => {
    const silent = createServer((sock) => {
      sock.on('error', () => {});
    });
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const c = new Http1Client(new URL(`http://127.0.0.1:${(silent.address() as { port: number }).port}/`), { firstByteTimeoutMs: 100 });
    await assert.rejects(body(c), (e: Http1Error) => /no response within 100 ms/.test(e.message) && e.timeout === 'first-byte');
    c.close();

    // A server that answers the head, then goes quiet mid-body: the idle deadline, not the first-byte one.
    const stalls = createServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => sock.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n'));
    });
    servers.push(stalls);
    await new Promise<void>((r) => stalls.listen(0, '127.0.0.1', r));
    const c2 = new Http1Client(new URL(`http://127.0.0.1:${(stalls.address() as { port: number }).port}/`), {
      firstByteTimeoutMs: 5000,
      idleTimeoutMs: 100,
    });
    const started = Date.now();
    await assert.rejects(body(c2), (e: Http1Error) => /went quiet for 100 ms/.test(e.message) && e.timeout === 'idle');
    assert.ok(Date.now() - started < 4000, 'the idle deadline ended it, not the first-byte one');
    c2.close();

    for (const [bytes, why] of [
      ['SSH-2.0-OpenSSH\r\n\r\n', /did not answer HTTP/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /malformed chunk size/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n', /longer than its chunk size/],
      ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', /bad Content-Length/],
      ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort', /closed the connection in the middle/],
    ] as const) {
      const srv = await rawServer(() => ({ bytes: Buffer.from(bytes), close: true }));
      servers.push(srv.server);
      await assert.rejects(body(new Http1Client(srv.url)), why);
    }
  });
});
