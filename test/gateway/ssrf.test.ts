// Server-side request forgery through image_url: every spelling of a loopback, private or other
// non-public address is refused with 400 invalid_image_url before any connection is made, through
// the API as a client sends it and through the fetcher directly; redirects and DNS answers are
// checked on the address the socket would use. Tests only ever connect to loopback: where a test
// needs a socket to pick a public address, the socket is destroyed at its lookup, before connect.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import { getDefaultAutoSelectFamily, isIP, setDefaultAutoSelectFamily, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, Catalog, createGateway, parseCatalog, type Gateway } from '../../src/gateway/index.ts';
import { DEFAULT_IMAGE_LIMITS, isNonPublicAddress, loadImage, type ImageLimits } from '../../src/gateway/http/images.ts';
import { png, post } from './fixture.ts';
import { testGovernance } from './fixtures/governance.ts';
import { StubEngine } from './fixtures/stub-engine.ts';

/** The stub engine, claiming image input, so the gateway fetches image URLs for it. */
class SeeingStub extends StubEngine {
  override readonly capabilities = { imageInput: true, logprobs: false, jsonSchema: false, completions: true };
}

type Answer = { status: number; headers?: Record<string, string>; body?: Buffer } | 'silent';

/** A loopback server that counts every connection and request it gets; 'silent' never answers. */
async function countingServer(handler: (url: string) => Answer) {
  const seen = { connections: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    seen.requests++;
    const a = handler(req.url ?? '/');
    if (a === 'silent') return;
    res.writeHead(a.status, a.headers ?? {});
    res.end(a.body ?? '');
  });
  server.on('connection', () => {
    seen.connections++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    seen,
    port: (server.address() as AddressInfo).port,
    reset: () => Object.assign(seen, { connections: 0, requests: 0 }),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

interface Watched {
  /** Addresses the socket's lookup gave it (what it would connect to). */
  looked: string[];
  connected: boolean;
}

/**
 * Every client socket this process creates until stop(), seen through node:net's diagnostics
 * channel, so a test can tell "refused before any socket" from "refused after connecting". With
 * block, each socket is destroyed at its lookup event, which node emits before connecting.
 */
function watchSockets(o: { block?: boolean } = {}) {
  const sockets: Watched[] = [];
  const onSocket = (message: unknown) => {
    const socket = (message as { socket: Socket }).socket;
    const w: Watched = { looked: [], connected: false };
    sockets.push(w);
    socket.on('lookup', (err: Error | null, address?: string) => {
      if (!err && address) w.looked.push(address);
      if (o.block) socket.destroy();
    });
    socket.on('connect', () => {
      w.connected = true;
    });
  };
  subscribe('net.client.socket', onSocket);
  return { sockets, stop: () => unsubscribe('net.client.socket', onSocket) };
}

/** Runs fn under each of node's two lookup call shapes: {all: true} (autoSelectFamily) and a single address. */
async function bothLookupShapes(fn: (shape: string) => Promise<void>) {
  const before = getDefaultAutoSelectFamily();
  try {
    for (const auto of [true, false]) {
      setDefaultAutoSelectFamily(auto);
      await fn(auto ? 'autoSelectFamily' : 'single lookup');
    }
  } finally {
    setDefaultAutoSelectFamily(before);
  }
}

const isRefusal = (e: unknown) => e instanceof ApiError && e.status === 400 && e.code === 'invalid_image_url';
const isPrivateRefusal = (e: unknown) => isRefusal(e) && /private or local address/.test((e as Error).message);
const PARAM = 'messages[0].content[1].image_url.url';
const v4 = (address: string) => ({ address, family: 4 });
const v6 = (address: string) => ({ address, family: 6 });
const hostOf = (url: string) => {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return null;
  }
};

/** A resolver that maps the names given and records every name it was asked for. */
function fakeDns(table: Record<string, { address: string; family: number }[]>, fallback?: { address: string; family: number }[]) {
  const asked: string[] = [];
  const lookup: NonNullable<ImageLimits['lookup']> = async (host) => {
    asked.push(host);
    const a = table[host] ?? fallback;
    if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return a;
  };
  return { asked, lookup };
}

describe('image URL address filter (SSRF)', () => {
  let target: Awaited<ReturnType<typeof countingServer>>;
  let api: Gateway, apiUrl: string;
  const logs: string[] = [];
  before(async () => {
    target = await countingServer(() => ({ status: 200, headers: { 'content-type': 'image/png' }, body: png(8, 8) }));
    const gov = testGovernance();
    const catalog = parseCatalog(
      { engines: { eyes: { kind: 'stub' } }, models: [{ id: 'seeing', engine: 'eyes', image_input: true }] },
      'ssrf test',
    );
    api = createGateway({
      catalog: new Catalog(catalog),
      engines: new Map([['eyes', new SeeingStub()]]),
      auth: gov.auth,
      limits: gov.limits,
      ledger: gov.ledger,
      images: { fetchTimeoutMs: 2000 },
      log: (line) => logs.push(line),
    });
    apiUrl = await api.listen(0, '127.0.0.1');
  });
  after(async () => {
    target.close();
    await api.close();
  });

  // The port is the local target server's, so a spelling that got through would show up in its counts.
  const spellings = (p: number) => [
    // IPv4 loopback in the many forms the WHATWG URL parser folds into 127.0.0.1
    `http://127.0.0.1:${p}/x`,
    `http://127.1:${p}/x`,
    `http://127.0.1:${p}/x`,
    `http://2130706433:${p}/x`,
    `http://0x7f000001:${p}/x`,
    `http://0x7f.0.0.1:${p}/x`,
    `http://0x7F.1:${p}/x`,
    `http://0177.0.0.1:${p}/x`,
    `http://017700000001:${p}/x`,
    `http://127.000.000.001:${p}/x`,
    `http://127.0.0.1.:${p}/x`,
    `http://%31%32%37.0.0.1:${p}/x`,
    `http://\u2460\u2461\u2466.0.0.1:${p}/x`,
    `http://user:pw@127.0.0.1:${p}/x`,
    // names
    `http://localhost:${p}/x`,
    `http://localhost.:${p}/x`,
    `http://LOCALHOST:${p}/x`,
    // IPv6 loopback and IPv6 forms that embed an IPv4 address
    `http://[::1]:${p}/x`,
    `http://[0:0:0:0:0:0:0:1]:${p}/x`,
    `http://[::ffff:127.0.0.1]:${p}/x`,
    `http://[::ffff:7f00:1]:${p}/x`,
    `http://[::FFFF:7F00:1]:${p}/x`,
    `http://[0:0:0:0:0:ffff:7f00:1]:${p}/x`,
    `http://[::127.0.0.1]:${p}/x`,
    `http://[::7f00:1]:${p}/x`,
    `http://[64:ff9b::127.0.0.1]:${p}/x`,
    `http://[64:ff9b::7f00:1]:${p}/x`,
    `http://[64:ff9b:1::7f00:1]:${p}/x`,
    `http://[2002:7f00:1::]:${p}/x`,
    `http://[::ffff:10.0.0.1]:${p}/x`,
    `http://[::ffff:a00:1]:${p}/x`,
    `http://[::ffff:192.168.1.1]:${p}/x`,
    `http://[::ffff:169.254.169.254]/x`,
    `http://[::ffff:127.1]:${p}/x`, // the URL parser rejects this one: still invalid_image_url
    // other private and special IPv4 blocks (no server there: the check is that no socket is made)
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/x',
    'http://172.16.0.1/x',
    'http://192.168.0.1/x',
    'http://100.64.0.1/x',
    `http://0.0.0.0:${p}/x`,
    `http://0:${p}/x`,
    'http://198.18.0.1/x',
    'http://192.0.0.1/x',
    'http://240.0.0.1/x',
    'http://255.255.255.255/x',
    'http://224.0.0.1/x',
    // other special IPv6 blocks
    'http://[fe80::1]/x',
    'http://[fc00::1]/x',
    'http://[fd00::1]/x',
    `http://[::]:${p}/x`,
    'http://[2001::1]/x', // Teredo
    'http://[2001:db8::1]/x',
    'http://[ff02::1]/x',
    // https takes the same path to its socket
    `https://127.1:${p}/x`,
    `https://[::ffff:7f00:1]:${p}/x`,
    `https://localhost:${p}/x`,
  ];

  it('refuses every spelling of a loopback, private or special address, and nothing reaches any socket', async () => {
    const urls = spellings(target.port);
    assert.ok(urls.length >= 30);
    const dns = fakeDns({}, [v4('127.0.0.1'), v6('::1')]);
    const resolvers: [string, ImageLimits][] = [
      ['the system resolver', DEFAULT_IMAGE_LIMITS],
      ['a resolver answering loopback for every name', { ...DEFAULT_IMAGE_LIMITS, lookup: dns.lookup }],
    ];
    for (const [name, limits] of resolvers) {
      for (const url of urls) {
        const watch = watchSockets();
        try {
          await assert.rejects(loadImage(url, PARAM, limits), isRefusal, `${url} (${name})`);
        } finally {
          watch.stop();
        }
        const host = hostOf(url);
        assert.deepEqual(
          watch.sockets.filter((s) => s.connected || s.looked.length),
          [],
          `${url}: a socket got an address`,
        );
        // Literals are refused before a socket exists at all; a name may get a socket whose lookup fails.
        if (host === null || isIP(host)) assert.equal(watch.sockets.length, 0, `${url}: a socket was created`);
      }
    }
    // With a resolver answering, the refusal is for the address, not for a name that did not resolve.
    for (const url of urls) {
      if (hostOf(url) !== null) await assert.rejects(loadImage(url, PARAM, resolvers[1][1]), isPrivateRefusal, url);
    }
    assert.deepEqual([...new Set(dns.asked)].sort(), ['localhost', 'localhost.']);
    assert.deepEqual(target.seen, { connections: 0, requests: 0 });
  });

  it('refuses them through the API too: the client reads 400 invalid_image_url naming the part', async () => {
    const ask = (url: string) =>
      post(apiUrl, '/v1/chat/completions', {
        model: 'seeing',
        max_tokens: 1,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url } },
            ],
          },
        ],
      });
    for (const url of spellings(target.port)) {
      const r = await ask(url);
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.equal(r.json.error.code, 'invalid_image_url', url);
      assert.equal(r.json.error.param, PARAM);
    }
    assert.deepEqual(target.seen, { connections: 0, requests: 0 });
    // What a name resolved to goes to the server's log, not to the client (who would learn the internal DNS).
    const r = await ask(`http://localhost:${target.port}/x`);
    assert.match(r.json.error.message, /localhost resolves to a private or local address/);
    assert.doesNotMatch(r.json.error.message, /127\.0\.0\.1|::1/);
    assert.ok(
      logs.some((l) => /localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/.test(l)),
      logs.join('\n'),
    );
  });

  it('follows a redirect from an allowed host to loopback no further, whatever its spelling', async () => {
    const inner = await countingServer(() => ({ status: 200, headers: { 'content-type': 'image/png' }, body: png(8, 8) }));
    const to: Record<string, string> = {
      '/a': `http://127.0.0.1:${inner.port}/x`,
      '/b': `http://[::ffff:7f00:1]:${inner.port}/x`,
      '/c': `http://rebind.test:${inner.port}/x`,
      '/d': `http://0x7f.1:${inner.port}/x`,
    };
    const outer = await countingServer((url) => ({ status: 302, headers: { location: to[url] } }));
    const dns = fakeDns({ 'images.public.test': [v4('127.0.0.1')], 'rebind.test': [v4('127.0.0.1')] });
    const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, lookup: dns.lookup, allowedHosts: ['images.public.test'] };
    try {
      for (const path of Object.keys(to)) {
        await assert.rejects(loadImage(`http://images.public.test:${outer.port}${path}`, 'p', limits), isPrivateRefusal, path);
      }
      assert.equal(outer.seen.requests, 4, 'the allowed host was reached');
      assert.deepEqual(inner.seen, { connections: 0, requests: 0 });
      assert.ok(dns.asked.includes('rebind.test'), 'the redirect target was resolved and checked');
    } finally {
      inner.close();
      outer.close();
    }
  });

  it('refuses a name when any of its addresses is private, whichever comes first', async () => {
    for (const answers of [
      [v4('93.184.216.34'), v4('127.0.0.1')],
      [v6('2606:4700:4700::1111'), v6('::ffff:7f00:1')],
      [v4('10.0.0.1'), v4('93.184.216.34')],
      [v6('2001:4860:4860::8888'), v6('fd00::1')],
    ]) {
      const watch = watchSockets({ block: true });
      try {
        await assert.rejects(
          loadImage(`http://mixed.test:${target.port}/x`, 'p', { ...DEFAULT_IMAGE_LIMITS, lookup: async () => answers }),
          isPrivateRefusal,
        );
      } finally {
        watch.stop();
      }
      assert.deepEqual(
        watch.sockets.flatMap((s) => s.looked),
        [],
        JSON.stringify(answers),
      );
    }
    assert.deepEqual(target.seen, { connections: 0, requests: 0 });
  });

  it('connects only to the address it checked: a resolver that changes its answer cannot rebind the connection', async () => {
    await bothLookupShapes(async (shape) => {
      let calls = 0;
      // Public on the first question, loopback on any later one: a check-then-connect with two lookups would end on loopback.
      const flipping: ImageLimits['lookup'] = async () => (calls++ === 0 ? [v4('93.184.216.34')] : [v4('127.0.0.1')]);
      const watch = watchSockets({ block: true });
      try {
        await assert.rejects(
          loadImage(`http://flip.test:${target.port}/x`, 'p', { ...DEFAULT_IMAGE_LIMITS, lookup: flipping }),
          isRefusal,
          shape,
        );
      } finally {
        watch.stop();
      }
      assert.equal(calls, 1, `${shape}: one resolution per hop`);
      assert.deepEqual(
        watch.sockets.map((s) => s.looked),
        [['93.184.216.34']],
        `${shape}: the socket was given the checked address`,
      );
    });
    assert.deepEqual(target.seen, { connections: 0, requests: 0 });
  });

  it('still fetches what is allowed: an allowed internal host (either lookup shape), and anything with allowPrivateAddresses', async () => {
    const dns = fakeDns({ 'cdn.internal': [v4('127.0.0.1')] });
    await bothLookupShapes(async (shape) => {
      const viaHost = await loadImage(`http://cdn.internal:${target.port}/cat.png`, 'p', {
        ...DEFAULT_IMAGE_LIMITS,
        lookup: dns.lookup,
        allowedHosts: ['CDN.internal'],
      });
      assert.equal(viaHost.mime, 'image/png', shape);
      assert.deepEqual(viaHost.data, new Uint8Array(png(8, 8)));
    });
    const direct = await loadImage(`http://127.0.0.1:${target.port}/cat.png`, 'p', {
      ...DEFAULT_IMAGE_LIMITS,
      allowPrivateAddresses: true,
    });
    assert.equal(direct.mime, 'image/png');
    // The exemption is for the host named, not for the address it resolves to.
    await assert.rejects(
      loadImage(`http://other.internal:${target.port}/cat.png`, 'p', {
        ...DEFAULT_IMAGE_LIMITS,
        lookup: fakeDns({}, [v4('127.0.0.1')]).lookup,
        allowedHosts: ['cdn.internal'],
      }),
      isPrivateRefusal,
    );
    assert.equal(target.seen.requests, 3);
    target.reset();
  });

  it('follows redirects within an allowed host, and keeps the size limits and the timeout', async () => {
    const img = png(16, 16);
    let port = 0;
    const server = await countingServer((url): Answer => {
      if (url === '/cat.png') return { status: 200, headers: { 'content-type': 'image/png' }, body: img };
      if (url === '/moved') return { status: 302, headers: { location: '/cat.png' } };
      if (url === '/moved-absolute') return { status: 301, headers: { location: `http://CDN.internal:${port}/cat.png` } };
      if (url === '/declared') return { status: 200, headers: { 'content-length': '200000' }, body: Buffer.alloc(200_000) };
      if (url === '/streamed') return { status: 200, body: Buffer.alloc(200_000) }; // chunked: no length declared
      return 'silent';
    });
    port = server.port;
    const dns = fakeDns({ 'cdn.internal': [v4('127.0.0.1')] });
    const limits: ImageLimits = {
      ...DEFAULT_IMAGE_LIMITS,
      lookup: dns.lookup,
      allowedHosts: ['cdn.internal'],
      maxBytes: 100_000,
      fetchTimeoutMs: 300,
    };
    const base = `http://cdn.internal:${server.port}`;
    try {
      for (const path of ['/moved', '/moved-absolute']) {
        const r = await loadImage(`${base}${path}`, 'p', limits);
        assert.equal(r.mime, 'image/png', path);
        assert.equal(r.data.length, img.length, path);
      }
      const tooBig = (e: unknown) => e instanceof ApiError && e.status === 413 && e.param === PARAM;
      await assert.rejects(
        loadImage(`${base}/declared`, PARAM, limits),
        (e: unknown) => tooBig(e) && /200000 bytes/.test((e as Error).message),
      );
      await assert.rejects(
        loadImage(`${base}/streamed`, PARAM, limits),
        (e: unknown) => tooBig(e) && /more than 100000/.test((e as Error).message),
      );
      const timedOut = (e: unknown) => isRefusal(e) && (e as ApiError).param === PARAM && /300 ms/.test((e as Error).message);
      await assert.rejects(loadImage(`${base}/never`, PARAM, limits), timedOut, 'a server that never answers');
      const stuckDns: ImageLimits['lookup'] = () => new Promise(() => {});
      await assert.rejects(
        loadImage(`http://slow-dns.test:${server.port}/x`, PARAM, { ...limits, lookup: stuckDns }),
        timedOut,
        'a resolver that never answers',
      );
      // The caller's signal (the client went away) ends the fetch too.
      const gone = new AbortController();
      setTimeout(() => gone.abort(), 50);
      await assert.rejects(loadImage(`${base}/never`, PARAM, { ...limits, fetchTimeoutMs: 10_000 }, gone.signal), isRefusal);
      assert.equal(server.seen.requests, 8, 'two redirects (two requests each), two too large, two never answered');
    } finally {
      server.close();
    }
  });

  it('classifies addresses by their bytes', () => {
    const nonPublic = [
      // IPv4 special-purpose blocks, at their edges
      '0.0.0.0',
      '0.1.2.3',
      '10.0.0.0',
      '10.255.255.255',
      '100.64.0.0',
      '100.127.255.255',
      '127.0.0.1',
      '127.255.255.254',
      '169.254.0.1',
      '169.254.169.254',
      '172.16.0.0',
      '172.31.255.255',
      '192.0.0.8',
      '192.0.0.255',
      '192.0.2.1',
      '192.88.99.1',
      '192.168.0.0',
      '192.168.255.255',
      '198.18.0.0',
      '198.19.255.255',
      '198.51.100.7',
      '203.0.113.9',
      '224.0.0.1',
      '239.255.255.255',
      '240.0.0.1',
      '255.255.255.255',
      // IPv6, and IPv6 forms of private IPv4
      '::',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::FFFF:7F00:1',
      '::ffff:a00:1',
      '::ffff:169.254.169.254',
      '::127.0.0.1',
      '::a00:1',
      '64:ff9b::a00:1',
      '64:ff9b::127.0.0.1',
      '64:ff9b:1::c0a8:1',
      '2002:7f00:1::',
      '2002:a9fe:a9fe::',
      '2001::1',
      '2001:0:4136:e378::1',
      '2001:10::1',
      '2001:1ff:ffff::1',
      '2001:db8::1',
      '2001:db8:ffff::1',
      '100::1',
      '100::ffff:ffff:ffff:ffff',
      'fc00::1',
      'fd00::1',
      'fdff::1',
      'fe80::1',
      'fe80::1%eth0',
      'febf::1',
      'fec0::1',
      'feff::1',
      'ff02::1',
      'ff0e::1',
      // not an address at all: refused rather than guessed at
      'localhost',
      '',
      '127.1',
      '0x7f000001',
      '::ffff:127.1',
    ];
    for (const ip of nonPublic) assert.equal(isNonPublicAddress(ip), true, ip);
    const publicOnes = [
      '8.8.8.8',
      '1.1.1.1',
      '93.184.216.34',
      '172.32.0.1',
      '172.15.255.255',
      '100.128.0.1',
      '100.63.255.255',
      '192.0.1.1',
      '192.169.0.1',
      '198.20.0.1',
      '223.255.255.255',
      '2606:4700:4700::1111',
      '2001:4860:4860::8888',
      '2001:200::1',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2002:808:808::',
      '2a00:1450:4001::200e',
    ];
    for (const ip of publicOnes) assert.equal(isNonPublicAddress(ip), false, ip);
  });
});
