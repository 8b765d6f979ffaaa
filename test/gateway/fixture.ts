// Test fixtures for the gateway: a real (tiny, random-weight) tetra checkpoint served by the
// builtin engine over real HTTP, with a catalog holding an 8k-style and a 32k-style snapshot of
// the same engine plus moving aliases. No engine mocks: protocol tests only need a real model
// whose outputs are steered with logit_bias where content matters.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { type BuiltinEngine, openBuiltinEngine } from '../../src/engine/index.ts';
import { Catalog, createGateway, parseCatalog, type Gateway, type GatewayOptions } from '../../src/gateway/index.ts';
import type { SqliteLedger } from '../../src/gateway/governance/ledger.ts';
import { configFromDepth, GPT } from '../../src/model/index.ts';
import { saveCheckpoint } from '../../src/model/index.ts';
import { testGovernance } from './fixtures/governance.ts';

export const SNAPSHOT = 'tetra-2026-11-28';
export const SNAPSHOT_LONG = 'tetra-long-2026-11-28';

/** A random-weight byte-level checkpoint (vocab 264 = 256 bytes + 8 specials). */
export function tinyCheckpoint(contextLength = 256): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'tetra-gw-')), 'ckpt');
  const config = configFromDepth(1, { vocabSize: 264, nEmbd: 32, nHead: 2, contextLength });
  saveCheckpoint(dir, { config, params: GPT.init(config, 1).weights(), meta: { step: 0, tokensSeen: 0, tokenizer: { name: 'bytes' } } });
  return dir;
}

export function catalogFor(dir: string, shortWindow = 128) {
  return parseCatalog(
    {
      engines: { tiny: { kind: 'builtin', checkpoint: dir } },
      models: [
        {
          id: SNAPSHOT,
          engine: 'tiny',
          context_window: shortWindow,
          prices: { prompt: 0.03, completion: 0.06 },
          deprecation_date: '2027-06-14',
        },
        { id: SNAPSHOT_LONG, engine: 'tiny', prices: { prompt: 0.06, completion: 0.12 } },
        { id: 'tetra', alias: SNAPSHOT },
        { id: 'tetra-long', alias: SNAPSHOT_LONG },
      ],
    },
    'test catalog',
  );
}

export interface Served {
  url: string;
  gateway: Gateway;
  engine: BuiltinEngine;
  ledger: SqliteLedger;
  /** Key name -> secret, for the keys asked for. */
  secrets: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts a gateway on a free loopback port with production governance in memory (fixtures/governance.ts).
 * keys: name -> plan name (none = loopback mode); plans: a plans document (default: limits no test meets).
 */
export async function serve(
  opts: { dir?: string; keys?: Record<string, string>; plans?: unknown; extra?: Partial<GatewayOptions> } = {},
): Promise<Served> {
  const dir = opts.dir ?? tinyCheckpoint();
  const engine = await openBuiltinEngine(dir);
  const gov = testGovernance({ keys: opts.keys, plans: opts.plans });
  const gateway = createGateway({
    catalog: new Catalog(catalogFor(dir)),
    engines: new Map([['tiny', engine]]),
    auth: gov.auth,
    limits: gov.limits,
    ledger: gov.ledger,
    log: () => {},
    ...opts.extra,
  });
  const url = await gateway.listen(0, '127.0.0.1');
  return { url, gateway, engine, ledger: gov.ledger, secrets: gov.secrets, close: () => gateway.close() };
}

export async function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers; text: string }> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* SSE or plain text */
  }
  return { status: res.status, json, headers: res.headers, text };
}

/** The data: payloads of an SSE body, in order. */
export function sseEvents(text: string): string[] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      if (!block.startsWith('data: ')) throw new Error(`not an SSE data block: ${JSON.stringify(block.slice(0, 80))}`);
      return block.slice(6);
    });
}

/** A PNG whose header claims w x h RGBA (the pixel data is a tiny valid-looking zlib stream). */
export function png(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const b = Buffer.alloc(12 + data.length);
    b.writeUInt32BE(data.length, 0);
    b.write(type, 4, 'ascii');
    data.copy(b, 8);
    return b;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
