// Server-side request forgery through image_url: every spelling of a loopback, private or other
// non-public address is refused with 400 invalid_image_url before any connection is made, through
// the API as a client sends it and through the fetcher directly; redirects and DNS answers are
// checked on the address the socket would use. Tests only ever connect to loopback.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, Catalog, createGateway, parseCatalog, type Gateway } from '../../src/gateway/index.ts';
import { DEFAULT_IMAGE_LIMITS, fetchImage, isNonPublicAddress, type ImageLimits } from '../../src/gateway/http/images.ts';
import { png, post } from './fixture.ts';
import { testGovernance } from './fixtures/governance.ts';
import { StubEngine } from './fixtures/stub-engine.ts';

/** The stub engine, claiming image input, so the gateway fetches image URLs for it. */
class SeeingStub extends StubEngine {
  override readonly capabilities = { imageInput: true, logprobs: false, jsonSchema: false, completions: true };
}

/** A loopback server that counts every connection and request it gets. */
async function countingServer(handler: (url: string) => { status: number; headers?: Record<string, string>; body?: Buffer }) {
  const seen = { connections: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    seen.requests++;
    const a = handler(req.url ?? '/');
    res.writeHead(a.status, a.headers ?? {});
    res.end(a.body ?? '');
  });
  server.on('connection', () => {
    seen.connections++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    seen,
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const isRefusal = (e: unknown) => e instanceof ApiError && e.status === 400 && e.code === 'invalid_image_url';

describe('image URL address filter (SSRF)', () => {
  let target: Awaited<ReturnType<typeof countingServer>>;
  let api: Gateway, apiUrl: string;
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
      log: () => {},
    });
    apiUrl = await api.listen(0, '127.0.0.1');
  });
  after(async () => {
    target.close();
    await api.close();
  });

  const spellings = (p: number) => [
    `http://127.0.0.1:${p}/x`,
    `http://127.1:${p}/x`,
    `http://127.0.1:${p}/x`,
    `http://2130706433:${p}/x`,
    `http://0x7f000001:${p}/x`,
    `http://0x7f.0.0.1:${p}/x`,
    `http://0177.0.0.1:${p}/x`,
    `http://017700000001:${p}/x`,
    `http://127.000.000.001:${p}/x`,
    `http://localhost:${p}/x`,
    `http://localhost.:${p}/x`,
    `http://LOCALHOST:${p}/x`,
    `http://[::1]:${p}/x`,
    `http://[0:0:0:0:0:0:0:1]:${p}/x`,
    `http://[::ffff:127.0.0.1]:${p}/x`,
    `http://[::ffff:7f00:1]:${p}/x`,
    `http://[0:0:0:0:0:ffff:7f00:1]:${p}/x`,
    `http://[::127.0.0.1]:${p}/x`,
    `http://[::7f00:1]:${p}/x`,
    `http://[64:ff9b::127.0.0.1]:${p}/x`,
    `http://[64:ff9b::7f00:1]:${p}/x`,
    `http://[2002:7f00:1::]:${p}/x`,
    `http://[::ffff:10.0.0.1]:${p}/x`,
    `http://[::ffff:a00:1]:${p}/x`,
    `http://[::ffff:192.168.1.1]:${p}/x`,
    `http://[::ffff:169.254.169.254]/x`,
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
    'http://[fe80::1]/x',
    'http://[fc00::1]/x',
    'http://[fd00::1]/x',
    `http://[::]:${p}/x`,
    `http://user:pw@127.0.0.1:${p}/x`,
  ];

  it(`refuses every spelling of a loopback or private address with 400 invalid_image_url, and nothing reaches the local server`, async () => {
    const urls = spellings(target.port);
    assert.ok(urls.length >= 30);
    for (const url of urls) {
      await assert.rejects(fetchImage(url, 'messages[0].content[1].image_url', DEFAULT_IMAGE_LIMITS), isRefusal, url);
    }
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
      assert.equal(r.json.error.param, 'messages[0].content[1].image_url.url');
    }
    assert.deepEqual(target.seen, { connections: 0, requests: 0 });
  });

  it('follows a redirect from a public-looking host to loopback no further', async () => {
    const inner = await countingServer(() => ({ status: 200, body: png(8, 8) }));
    const outer = await countingServer((url) => ({
      status: 302,
      headers: {
        location:
          url === '/a'
            ? `http://127.0.0.1:${inner.port}/x`
            : url === '/b'
              ? `http://[::ffff:7f00:1]:${inner.port}/x`
              : `http://rebind.test:${inner.port}/x`,
      },
    }));
    const fake: ImageLimits['lookup'] = async (host) =>
      [{ address: '127.0.0.1', family: 4 }].filter(() => ['images.public.test', 'rebind.test'].includes(host));
    const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, lookup: fake, allowedHosts: ['images.public.test'] };
    try {
      for (const path of ['/a', '/b', '/c']) {
        await assert.rejects(fetchImage(`http://images.public.test:${outer.port}${path}`, 'p', limits), isRefusal, path);
      }
      assert.equal(outer.seen.requests, 3, 'the allowed host was reached');
      assert.deepEqual(inner.seen, { connections: 0, requests: 0 });
    } finally {
      inner.close();
      outer.close();
    }
  });

  it('checks every DNS answer and connects only to what it checked (no rebinding between check and connect)', async () => {
    let calls = 0;
    const mixed: ImageLimits['lookup'] = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    await assert.rejects(fetchImage(`http://mixed.test:${target.port}/x`, 'p', { ...DEFAULT_IMAGE_LIMITS, lookup: mixed }), isRefusal);
    // A resolver that answers public first and loopback afterwards: the socket only ever uses the checked answer.
    const flipping: ImageLimits['lookup'] = async () =>
      calls++ === 0 ? [{ address: '192.0.2.200', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    await assert.rejects(
      fetchImage(`http://flip.test:${target.port}/x`, 'p', { ...DEFAULT_IMAGE_LIMITS, lookup: flipping, fetchTimeoutMs: 300 }),
      isRefusal,
    );
    assert.deepEqual(target.seen, { connections: 0, requests: 0 });
  });

  it('still fetches what is allowed: an allowed internal host, and anything with allowPrivateAddresses', async () => {
    const fake: ImageLimits['lookup'] = async () => [{ address: '127.0.0.1', family: 4 }];
    const viaHost = await fetchImage(`http://cdn.internal:${target.port}/cat.png`, 'p', {
      ...DEFAULT_IMAGE_LIMITS,
      lookup: fake,
      allowedHosts: ['CDN.internal'],
    });
    assert.equal(viaHost.mime, 'image/png');
    const direct = await fetchImage(`http://127.0.0.1:${target.port}/cat.png`, 'p', {
      ...DEFAULT_IMAGE_LIMITS,
      allowPrivateAddresses: true,
    });
    assert.equal(direct.mime, 'image/png');
    assert.equal(target.seen.requests, 2);
    target.seen.connections = 0;
    target.seen.requests = 0;
  });

  it('classifies addresses by their bytes', () => {
    const nonPublic = [
      '0.1.2.3',
      '10.255.255.255',
      '100.64.0.0',
      '100.127.255.255',
      '127.0.0.1',
      '169.254.0.1',
      '172.16.0.0',
      '172.31.255.255',
      '192.0.0.8',
      '192.0.2.1',
      '192.88.99.1',
      '192.168.255.255',
      '198.18.0.0',
      '198.19.255.255',
      '198.51.100.7',
      '203.0.113.9',
      '224.0.0.1',
      '239.255.255.255',
      '240.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::127.0.0.1',
      '::a00:1',
      '64:ff9b::a00:1',
      '64:ff9b:1::c0a8:1',
      '2002:a9fe:a9fe::',
      '2001::1',
      '2001:db8::1',
      '100::1',
      'fc00::1',
      'fdff::1',
      'fe80::1%eth0',
      'fec0::1',
      'ff02::1',
    ];
    for (const ip of nonPublic) assert.equal(isNonPublicAddress(ip), true, ip);
    for (const ip of [
      '8.8.8.8',
      '1.1.1.1',
      '93.184.216.34',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700:4700::1111',
      '2001:4860:4860::8888',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2002:808:808::',
    ]) {
      assert.equal(isNonPublicAddress(ip), false, ip);
    }
  });
});
