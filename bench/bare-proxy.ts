// The floor under bench/gateway.ts: the least a Node proxy can do on this path. node:http in,
// the upstream engine's HTTP/1.1 client (src/net/http1.ts) out, the answer passed back; no
// auth, validation, limits, ledger or metrics, and the backend's plain JSON answer instead of a
// stream. Whatever latency this adds is the price of one more process and two more loopback
// hops on the machine, not of the gateway's work.
// Run by bench/gateway.ts as `bare-proxy.ts BACKEND_URL`; prints `listening on URL`.
import { createServer } from 'node:http';
import { Http1Client } from '../src/net/index.ts';

const upstream = new Http1Client(new URL(process.argv[2]));
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    try {
      const r = await upstream.request('POST', '/v1/chat/completions', { 'content-type': 'application/json' }, Buffer.concat(chunks));
      const text = await r.text();
      res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}`));
