// An open-loop HTTP/1.1 load generator (the wrk2 method): requests are due at a fixed rate,
// evenly spaced, dealt round-robin over C keep-alive connections, and each latency is measured
// from the moment the request was *due*, not from when it could be sent. A server that falls
// behind therefore shows its queueing in the figures instead of slowing the load down (the
// "coordinated omission" a closed-loop tool such as autocannon has by design). The clock starts
// when the generator hands a due request to its connection (at most a timer tick after it was
// due): the generator's own timer lateness is not the server's, but a request that waits behind
// a slow answer on its connection has that wait counted.
//
// It speaks just enough HTTP for a benchmark: one prebuilt request, responses framed by
// Content-Length or chunked encoding, a status check. Each connection has at most one request in
// flight (no pipelining), so a connection whose answer is late delays its next request, and
// that delay is counted.
import { connect, type Socket } from 'node:net';

export interface OpenLoopOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  /** Requests per second over all connections. */
  rate: number;
  durationMs: number;
  /** Responses received in this first part are not counted (connections warm up, JIT settles). */
  warmupMs?: number;
}

export interface OpenLoopResult {
  /** Completed requests per second, over the measured window. */
  rps: number;
  /** Latencies in ms (from when the request was due, or handed out if later, to its last byte), sorted ascending. */
  latencies: Float64Array;
  /** Answers with a status other than 2xx, and failed connections. */
  errors: number;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Bytes needed to finish one HTTP response in `buf`, or -1 when more must arrive. Returns [end, status]. */
export function responseEnd(buf: Buffer): [number, number] {
  const head = buf.indexOf('\r\n\r\n');
  if (head < 0) return [-1, 0];
  const headers = buf.toString('latin1', 0, head);
  const status = Number(headers.slice(9, 12));
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
  if (cl) {
    const end = head + 4 + Number(cl[1]);
    return [buf.length >= end ? end : -1, status];
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(headers))
    throw new Error(`loadgen: response without Content-Length or chunked encoding:\n${headers}`);
  let at = head + 4;
  for (;;) {
    const line = buf.indexOf('\r\n', at);
    if (line < 0) return [-1, status];
    const size = parseInt(buf.toString('latin1', at, line), 16);
    if (!Number.isFinite(size)) throw new Error('loadgen: bad chunk size');
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', line);
      return end < 0 ? [-1, status] : [end + 4, status]; // no trailers expected; this finds the final CRLF
    }
    at = line + 2 + size + 2;
    if (buf.length < at) return [-1, status];
  }
}

class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private due: number[] = [];
  private inFlight = false;
  readonly ready: Promise<void>;

  constructor(
    host: string,
    port: number,
    private readonly request: Buffer,
    private readonly done: (dueAt: number, ok: boolean) => void,
  ) {
    const s: Socket = connect({ host, port, noDelay: true });
    this.socket = s;
    this.ready = new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('error', () => {});
  }
  private readonly socket: Socket;

  send(dueAt: number): void {
    this.due.push(dueAt);
    if (!this.inFlight) this.next();
  }

  private next(): void {
    if (this.due.length === 0) return;
    this.inFlight = true;
    this.socket.write(this.request);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const [end, status] = responseEnd(this.buf);
      if (end < 0) return;
      this.buf = this.buf.subarray(end);
      this.inFlight = false;
      this.done(this.due.shift()!, status >= 200 && status < 300);
      this.next();
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const u = new URL(o.url);
  const body = o.body ?? '';
  const head = [
    `${o.method ?? 'GET'} ${u.pathname}${u.search} HTTP/1.1`,
    `host: ${u.host}`,
    'connection: keep-alive',
    ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    `content-length: ${Buffer.byteLength(body)}`,
  ];
  const request = Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
  const warmup = o.warmupMs ?? 1000;
  const lat: number[] = [];
  let errors = 0,
    completed = 0,
    start = 0;
  const onDone = (dueAt: number, ok: boolean) => {
    const now = performance.now();
    if (dueAt - start < warmup) return;
    completed++;
    if (!ok) errors++;
    else lat.push(now - dueAt);
  };
  const conns = Array.from({ length: o.connections }, () => new Conn(u.hostname, Number(u.port || 80), request, onDone));
  await Promise.all(conns.map((c) => c.ready));

  const interval = 1000 / o.rate;
  const total = Math.floor(((warmup + o.durationMs) / 1000) * o.rate);
  start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        conns[sent % conns.length].send(now);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      else resolve();
    };
    tick();
  });
  // Let the last answers arrive (a server that is far behind gets a bounded grace period).
  const deadline = performance.now() + 5000;
  const expected = total - Math.ceil((warmup / 1000) * o.rate);
  while (completed < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  errors += Math.max(0, expected - completed);
  for (const c of conns) c.close();
  const latencies = Float64Array.from(lat).sort();
  return { rps: completed / (o.durationMs / 1000), latencies, errors };
}
