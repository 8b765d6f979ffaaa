// A small HTTP/1.1 client for the OpenAI transport's hot path: keep-alive sockets (net or tls),
// one write per request, and a byte-level response parser (Content-Length, chunked, or
// read-until-close bodies) that hands body bytes straight to the caller.
//
// Why not node:http: in the gateway's profile at 213 req/s, node:http's client side (request
// objects, the agent, the llhttp callbacks, IncomingMessage and the readable-stream async
// iterator, an AbortSignal listener and a timer per request) was about a quarter of the main
// thread's time per proxied request. The transport only ever needs POST/GET with a small body and
// a streamed or buffered answer, which this covers; everything else stays on node:http.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export class Http1Error extends Error {
  /** The socket error's code (ECONNREFUSED, ECONNRESET, ...), when a socket error caused it. */
  code?: string;
  /**
   * True when the request went out on a kept-alive socket and nothing came back: the server may have closed it
   * meanwhile, so one retry on a fresh socket is safe.
   */
  reusedSocket = false;
  /** Which deadline passed, when one did. */
  timeout?: 'connect' | 'first-byte' | 'idle';
}

export interface Http1Response {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  /** The next piece of the body, or null at its end; rejects when the connection fails mid-body. */
  read(): Promise<Buffer | null>;
  /** The rest of the body as UTF-8 text. */
  text(): Promise<string>;
  /** True once the whole body has arrived. */
  readonly complete: boolean;
  /** Stops reading: a body not yet complete closes the connection (the server sees the client go). */
  destroy(): void;
}

const MAX_HEAD = 64 << 10;
const CRLF2 = Buffer.from('\r\n\r\n');

type State = 'head' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'until-close' | 'done';

/** One request/response on a connection: the parser state and the body queue. */
class Exchange implements Http1Response {
  status = 0;
  headers: Record<string, string> = {};
  complete = false;
  private state: State = 'head';
  private head: Buffer | null = null;
  private line = '';
  private remaining = 0;
  private keepAlive = true;
  private readonly queue: Buffer[] = [];
  private waiter: { resolve: (b: Buffer | null) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private gotBytes = false;
  private ended = false;
  /** The head went to the caller: failures from here on reach it through read(). */
  private delivered = false;
  onHead!: (r: Http1Response) => void;
  onFail!: (e: Error) => void;
  /** Called once when the exchange ends: reusable = the socket can carry the next request. */
  onEnd!: (reusable: boolean) => void;

  constructor(
    private readonly method: string,
    private readonly reused: boolean,
  ) {}

  /** Feeds bytes from the socket (a protocol error fails the exchange, which closes the socket). */
  feed(buf: Buffer): void {
    this.gotBytes = true;
    let at = 0;
    while (at < buf.length && this.state !== 'done') {
      switch (this.state) {
        case 'head': {
          const joined: Buffer = this.head ? Buffer.concat([this.head, buf.subarray(at)]) : buf.subarray(at);
          const end = joined.indexOf(CRLF2);
          if (end < 0) {
            if (joined.length > MAX_HEAD) return this.fail(new Http1Error(`upstream response head is over ${MAX_HEAD} bytes`));
            this.head = Buffer.from(joined);
            return;
          }
          const consumed = end + 4 - (this.head?.length ?? 0);
          this.head = null;
          at += consumed;
          if (!this.parseHead(joined.toString('latin1', 0, end))) return;
          if ((this.state as State) === 'done') this.finish(at === buf.length); // no body (HEAD, 204, 304, Content-Length: 0)
          break;
        }
        case 'fixed':
        case 'chunk-data': {
          const n = Math.min(this.remaining, buf.length - at);
          this.push(buf.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === 'fixed') this.finish(at === buf.length);
            else this.state = 'chunk-end';
          }
          break;
        }
        case 'until-close':
          this.push(buf.subarray(at));
          at = buf.length;
          break;
        case 'chunk-size':
        case 'chunk-end':
        case 'trailers': {
          const nl = buf.indexOf(10, at);
          const stop = nl < 0 ? buf.length : nl;
          this.line += buf.toString('latin1', at, stop);
          if (this.line.length > 4096) return this.fail(new Http1Error('upstream sent a malformed chunked body (a line over 4096 bytes)'));
          at = stop;
          if (nl < 0) return;
          at++;
          const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
          this.line = '';
          if (this.state === 'chunk-end') {
            if (line !== '') return this.fail(new Http1Error('upstream sent a malformed chunked body (data longer than its chunk size)'));
            this.state = 'chunk-size';
          } else if (this.state === 'chunk-size') {
            const size = parseInt(line.split(';')[0].trim(), 16);
            if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-fA-F]+$/.test(line.split(';')[0].trim())) {
              return this.fail(new Http1Error(`upstream sent a malformed chunk size "${line.slice(0, 40)}"`));
            }
            if (size === 0) this.state = 'trailers';
            else {
              this.remaining = size;
              this.state = 'chunk-data';
            }
          } else if (line === '') this.finish(at === buf.length); // the empty line after the trailers
          break;
        }
      }
    }
  }

  private parseHead(text: string): boolean {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]);
    if (!m) {
      this.fail(new Http1Error(`upstream did not answer HTTP/1.x (${JSON.stringify(lines[0].slice(0, 40))})`));
      return false;
    }
    const status = Number(m[2]);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i].indexOf(':');
      if (c <= 0) continue;
      const k = lines[i].slice(0, c).trim().toLowerCase(),
        v = lines[i].slice(c + 1).trim();
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    }
    if (status >= 100 && status < 200 && status !== 101) return true; // 100 Continue and friends: the real head follows
    this.status = status;
    this.headers = headers;
    const conn = (headers.connection ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? !conn.includes('close') : conn.includes('keep-alive');
    const te = (headers['transfer-encoding'] ?? '').toLowerCase();
    if (this.method === 'HEAD' || status === 204 || status === 304) this.state = 'done';
    else if (te.endsWith('chunked')) this.state = 'chunk-size';
    else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (!Number.isSafeInteger(n) || n < 0) {
        this.fail(new Http1Error(`upstream sent a bad Content-Length "${headers['content-length']}"`));
        return false;
      }
      this.remaining = n;
      this.state = n === 0 ? 'done' : 'fixed';
    } else {
      this.state = 'until-close';
      this.keepAlive = false;
    }
    this.delivered = true;
    this.onHead(this);
    return true;
  }

  private push(b: Buffer): void {
    if (b.length === 0) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(b);
    } else this.queue.push(b);
  }

  /** clean: nothing arrived after the response's last byte (bytes nobody asked for make the socket untrustworthy). */
  private finish(clean: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.state = 'done';
    this.complete = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(null);
    }
    this.onEnd(this.keepAlive && clean);
  }

  /** The socket failed (before or while answering). */
  socketError(err: NodeJS.ErrnoException): void {
    const e = new Http1Error(err.message);
    e.code = err.code;
    e.reusedSocket = this.reused && !this.gotBytes && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
    this.fail(e);
  }

  /** The socket closed: the end of a read-until-close body, otherwise a failure. */
  closed(): void {
    if (this.state === 'until-close') {
      this.keepAlive = false;
      this.finish(false);
      return;
    }
    if (this.state !== 'done') {
      const e = new Http1Error(
        this.delivered
          ? 'upstream closed the connection in the middle of the response body'
          : 'upstream closed the connection before answering',
      );
      e.reusedSocket = this.reused && !this.gotBytes;
      this.fail(e);
    }
  }

  fail(e: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.state = 'done';
    this.failure = e;
    if (!this.delivered) this.onFail(e);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(e);
    }
    this.onEnd(false);
  }

  read(): Promise<Buffer | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    if (this.failure) return Promise.reject(this.failure);
    if (this.complete) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  async text(): Promise<string> {
    const parts: Buffer[] = [];
    for (let b = await this.read(); b; b = await this.read()) parts.push(b);
    return Buffer.concat(parts).toString('utf8');
  }

  destroy(): void {
    if (!this.complete) this.fail(new Http1Error('response destroyed by the client'));
  }
}

export interface Http1ClientOptions {
  /** A new connection must be established (TCP, and TLS for https) within this time (default 10000 ms). */
  connectTimeoutMs?: number;
  /** The response head must arrive this long after the request was sent (default 60000 ms). */
  firstByteTimeoutMs?: number;
  /** No body byte for this long while a response streams: the request fails (default 30000 ms). */
  idleTimeoutMs?: number;
  /** Idle kept-alive sockets close after this long (default 4000 ms, under node:http servers' 5 s keepAliveTimeout). */
  idleMs?: number;
}

export const DEFAULT_HTTP1_TIMEOUTS = { connectTimeoutMs: 10_000, firstByteTimeoutMs: 60_000, idleTimeoutMs: 30_000 } as const;

/** Keep-alive HTTP/1.1 to one origin (http: or https:). */
export class Http1Client {
  private readonly idle: Socket[] = [];
  private readonly all = new Set<Socket>();
  private readonly https: boolean;
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly timeouts: Required<Omit<Http1ClientOptions, 'idleMs'>>;
  private readonly idleMs: number;

  constructor(origin: URL, opts: Http1ClientOptions = {}) {
    this.https = origin.protocol === 'https:';
    if (!this.https && origin.protocol !== 'http:') throw new Error(`http1: only http: and https: URLs, got ${origin.protocol}`);
    this.host = origin.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(origin.port || (this.https ? 443 : 80));
    this.hostHeader = origin.host;
    this.timeouts = {
      connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_HTTP1_TIMEOUTS.connectTimeoutMs,
      firstByteTimeoutMs: opts.firstByteTimeoutMs ?? DEFAULT_HTTP1_TIMEOUTS.firstByteTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_HTTP1_TIMEOUTS.idleTimeoutMs,
    };
    this.idleMs = opts.idleMs ?? 4000;
  }

  private socket(): { s: Socket; reused: boolean } {
    for (let s = this.idle.pop(); s; s = this.idle.pop()) {
      if (!s.destroyed && s.writable) return { s, reused: true };
    }
    const s: Socket = this.https
      ? tlsConnect({ host: this.host, port: this.port, servername: this.host, ALPNProtocols: ['http/1.1'] })
      : netConnect({ host: this.host, port: this.port });
    s.setNoDelay(true);
    this.all.add(s);
    s.on('close', () => {
      this.all.delete(s);
      const i = this.idle.indexOf(s);
      if (i >= 0) this.idle.splice(i, 1);
    });
    s.on('error', () => {}); // an idle socket's error: its 'close' takes it out of the pool
    s.on('timeout', () => {
      if (this.idle.includes(s)) s.destroy();
    }); // idle too long (a request's own timeout fails it)
    return { s, reused: false };
  }

  /** Sends one request; resolves when the response head arrives. */
  request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | null,
    signal?: AbortSignal,
  ): Promise<Http1Response> {
    const { s, reused } = this.socket();
    const ex = new Exchange(method, reused);
    const t = this.timeouts;
    // One socket timer, re-armed for each phase: connecting, waiting for the head, then between
    // body chunks (a streamed answer may take minutes in all, but never goes quiet for long).
    let phase: 'connect' | 'first-byte' | 'idle' = s.connecting ? 'connect' : 'first-byte';
    return new Promise<Http1Response>((resolve, reject) => {
      const onData = (b: Buffer) => ex.feed(b);
      const onClose = () => ex.closed();
      const onError = (e: NodeJS.ErrnoException) => ex.socketError(e);
      const onConnect = () => {
        phase = 'first-byte';
        s.setTimeout(t.firstByteTimeoutMs);
      };
      const onTimeout = () => {
        const ms = phase === 'connect' ? t.connectTimeoutMs : phase === 'first-byte' ? t.firstByteTimeoutMs : t.idleTimeoutMs;
        const e = new Http1Error(
          phase === 'connect'
            ? `could not connect within ${ms} ms`
            : phase === 'first-byte'
              ? `no response within ${ms} ms of the request`
              : `the response went quiet for ${ms} ms`,
        );
        e.timeout = phase;
        e.code = 'ETIMEDOUT';
        ex.fail(e);
      };
      const onAbort = () => ex.fail(new Http1Error('aborted'));
      ex.onHead = (r) => {
        phase = 'idle';
        s.setTimeout(t.idleTimeoutMs);
        resolve(r);
      };
      ex.onFail = reject;
      ex.onEnd = (reusable) => {
        s.off('data', onData)
          .off('close', onClose)
          .off('error', onError)
          .off('timeout', onTimeout)
          .off(this.https ? 'secureConnect' : 'connect', onConnect);
        signal?.removeEventListener('abort', onAbort);
        if (reusable && !s.destroyed) {
          s.setTimeout(this.idleMs);
          s.unref();
          this.idle.push(s);
        } else s.destroy();
      };
      s.ref();
      s.setTimeout(phase === 'connect' ? t.connectTimeoutMs : t.firstByteTimeoutMs);
      if (phase === 'connect') s.once(this.https ? 'secureConnect' : 'connect', onConnect);
      s.on('data', onData).on('close', onClose).on('error', onError).on('timeout', onTimeout);
      if (signal) {
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
      }
      let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\nconnection: keep-alive\r\n`;
      for (const k in headers) head += `${k}: ${headers[k]}\r\n`;
      if (body) head += `content-length: ${body.length}\r\n`;
      head += '\r\n';
      s.write(body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1'));
    });
  }

  /** Closes every socket (requests in flight fail). */
  close(): void {
    for (const s of this.all) s.destroy();
    this.idle.length = 0;
  }
}
