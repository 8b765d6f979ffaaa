// The page's files, built by web/build.mjs into web/dist (at install, or `npm run build:web`):
// index.html at `/`, everything else at /app/assets/NAME. Names carry a content hash, so assets are
// cached for good; index.html is revalidated. Each text file has a gzip twin made at build time.
// Files are read once into memory (the whole app is a few hundred kB) and served with a strict CSP:
// scripts only from this origin, nothing from anywhere else.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative, resolve } from 'node:path';
import { ApiError } from '../gateway/index.ts';

export const DEFAULT_WEB_DIR = resolve(import.meta.dirname, '../../web/dist');

// KaTeX sets inline style attributes on its output, hence 'unsafe-inline' for styles only.
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Headers every app response carries (server.ts sets them before any route runs). */
export const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  woff: 'font/woff',
  ttf: 'font/ttf',
  map: 'application/json',
};

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

export interface WebManifest {
  index: string;
  critical: string[];
  files: Record<string, { bytes: number; gzipBytes: number | null; type?: string }>;
}

export class Assets {
  private readonly files = new Map<string, Asset>();
  readonly manifest: WebManifest | null;

  constructor(readonly dir: string = DEFAULT_WEB_DIR) {
    const mf = join(dir, 'manifest.json');
    this.manifest = existsSync(mf) ? (JSON.parse(readFileSync(mf, 'utf8')) as WebManifest) : null;
    if (!this.manifest) return;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const path = join(d, e.name);
        if (e.isDirectory()) walk(path);
        else if (!e.name.endsWith('.gz')) {
          const ext = e.name.slice(e.name.lastIndexOf('.') + 1);
          this.files.set(relative(dir, path), {
            body: readFileSync(path),
            gzip: existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`) : null,
            type: TYPES[ext] ?? 'application/octet-stream',
          });
        }
      }
    };
    walk(dir);
  }

  get built(): boolean {
    return this.manifest !== null;
  }

  /** Serves `/` (index.html) or /app/assets/NAME; 404 for anything else under /app/assets. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (!this.manifest) {
      throw new ApiError(
        503,
        `The chat app is not built (no ${join(this.dir, 'manifest.json')}); run \`npm run build:web\` and restart.`,
        'server_error',
        null,
        'app_not_built',
      );
    }
    const index = path === '/' || path === '/index.html';
    const name = index ? this.manifest.index : path.slice('/app/assets/'.length);
    const a = name.includes('..') ? undefined : this.files.get(index ? name : `assets/${name}`);
    if (!a) throw new ApiError(404, `No such file: ${path}`, 'invalid_request_error', null, 'not_found');
    const gzip = a.gzip !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? a.gzip! : a.body;
    res.writeHead(200, {
      'content-type': a.type,
      'content-length': body.length,
      'cache-control': index ? 'no-cache' : 'public, max-age=31536000, immutable',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      ...(index ? { 'content-security-policy': CONTENT_SECURITY_POLICY } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
