/**
 * The proxy bench's floor: the scanner's data path with nothing of the
 * scanner in it. The same two legs as the proxy — CONNECT, the client's TLS
 * terminated (a P-256 leaf, as the node CA issues), Node's HTTP/1.1 server;
 * one `node:http2` session to the provider with the scanner's pool settings —
 * and between them only a relay: the request body collected and sent on, the
 * answer collected and sent back. No parsing, policy, detectors, records or
 * uploads. Its CPU time per request is what Node's HTTP and TLS machinery
 * costs the proxy on this machine, so the scanner's own share is the rest.
 *
 * argv: the upstream's port, a file with the upstream's CA certificate.
 * Prints `{ port, caCertPem }` once listening (the certificate its clients
 * must trust); stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { selfSigned } from './self-signed.ts';

const [upstreamPort, upstreamCaFile] = process.argv.slice(2);
const upstreamCa = readFileSync(upstreamCaFile!, 'utf8');
const leaf = selfSigned();
const secureContext = createSecureContext({ key: leaf.keyPem, cert: leaf.certPem });

let session: ClientHttp2Session | null = null;
function upstream(): ClientHttp2Session {
  if (session && !session.closed && !session.destroyed) return session;
  // as scanner/src/proxy/h2-pool.ts opens its sessions
  const s = connect(`https://127.0.0.1:${upstreamPort}`, { ca: upstreamCa, servername: 'api.openai.com', maxSessionMemory: 64, settings: { enablePush: false } });
  s.once('connect', () => s.setLocalWindowSize(16 * 1024 * 1024));
  s.on('error', () => { if (session === s) session = null; });
  return (session = s);
}

const inner = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const up = upstream().request({
      [constants.HTTP2_HEADER_METHOD]: req.method, [constants.HTTP2_HEADER_PATH]: req.url, [constants.HTTP2_HEADER_AUTHORITY]: 'api.openai.com',
      'content-type': req.headers['content-type'] ?? 'application/json', authorization: req.headers.authorization ?? '',
    });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502).end(); });
    up.on('response', (headers) => {
      const body: Buffer[] = [];
      up.on('data', (c: Buffer) => body.push(c));
      up.on('end', () => {
        res.writeHead(Number(headers[constants.HTTP2_HEADER_STATUS]), { 'content-type': String(headers['content-type'] ?? 'application/json') });
        res.end(Buffer.concat(body));
      });
    });
    up.end(Buffer.concat(chunks));
  });
});
const outer = createServer();
outer.on('connect', (_req: IncomingMessage, socket: Socket, head: Buffer) => {
  socket.on('error', () => socket.destroy());
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) socket.unshift(head);
  const tls = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
  tls.on('error', () => tls.destroy());
  inner.emit('connection', tls);
});
outer.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (outer.address() as AddressInfo).port, caCertPem: leaf.certPem })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
