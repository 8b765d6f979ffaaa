// Shared fixtures for the evals tests: a scripted local OpenAI-compatible server (real HTTP, so
// the client, retries and parsing run for real), temporary registries and TETRA_HOME.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Scripted {
  url: string;
  requests: { path: string; body: Record<string, unknown>; at: number }[];
  close(): Promise<void>;
}

/** A server whose reply to each request is decided by `reply` (status, headers, JSON body). */
export async function scriptedServer(
  reply: (body: Record<string, unknown>, n: number, path: string) => { status?: number; headers?: Record<string, string>; json: unknown },
): Promise<Scripted> {
  const requests: Scripted['requests'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
      requests.push({ path: req.url ?? '', body, at: Date.now() });
      let r: ReturnType<typeof reply>;
      try {
        r = reply(body, requests.length, req.url ?? '');
      } catch (e) {
        r = { status: 500, json: { error: { message: `test server: ${(e as Error).message}` } } };
      }
      const text = JSON.stringify(r.json);
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...r.headers });
      res.end(text);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

export function chatReply(content: string, model = 'scripted') {
  return {
    json: {
      id: 'c',
      object: 'chat.completion',
      created: 0,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    },
  };
}

/** The text of the last user/system message of a chat request. */
export const lastContent = (body: Record<string, unknown>): string => {
  const msgs = body.messages as { content: string }[];
  return msgs[msgs.length - 1].content;
};

/** Writes files (path -> content) under a new temp dir and returns it. */
export function tempTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tetra-evals-test-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

export const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** A fresh TETRA_HOME so tests never touch ~/.tetra. */
export function isolateHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'tetra-home-'));
  process.env.TETRA_HOME = home;
  return home;
}
