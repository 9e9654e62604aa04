import { createServer, type IncomingMessage, request as httpRequest,type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from '../logger.ts';
import { isOpenAiCompatibleRequest } from '../providers/index.ts';
import type { NodeCa } from '../tls/ca.ts';
import { attributorOf, handleExchange, type InspectContext, type Origin } from './exchange.ts';
import { createMcpSessions, handleMcpExchange, type McpSessions } from './mcp-exchange.ts';
import { forwardHeaders } from './upstream.ts';

export interface ProxyOptions {
  host: string;
  port: number;
  ca: NodeCa;
  /** true when traffic to this host is inspected (MITM) */
  isAiHost(host: string): boolean;
  /** true when the host is an MCP server to inspect (MITM for https, inspected for plain http); its requests become ToolCalls */
  isMcpHost?(host: string): boolean;
  inspect: InspectContext;
  logger: Logger;
}

export interface Proxy {
  url: string;
  close(): Promise<void>;
}

/**
 * The explicit HTTP(S) proxy. `CONNECT` to an AI host is terminated with a
 * leaf certificate from the node CA and its requests go through the inspected
 * path; every other `CONNECT` is a raw TCP tunnel, bytes untouched. Plain-HTTP
 * absolute-URI requests are forwarded, inspected when the host is an AI host.
 */
export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  const { ca, logger, inspect } = opts;
  const mcpSessions = createMcpSessions();
  const sockets = new Set<Socket>();
  const origins = new WeakMap<Socket, Origin>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  // decrypted MITM connections are handed to this server; it never listens
  const inner = createServer((req, res) => {
    const origin = origins.get(req.socket);
    if (!origin) {
      res.writeHead(500).end();
      return;
    }
    const handled = opts.isMcpHost?.(origin.host)
      ? handleMcpExchange(inspect, mcpSessions, origin, req, res, req.url ?? '/')
      : handleExchange(inspect, origin, req, res, req.url ?? '/');
    void handled.catch((err: unknown) => failed(logger, res, err));
  });
  inner.on('clientError', (_err, socket) => socket.destroy());

  const outer = createServer((req, res) => plainRequest(opts, req, res, mcpSessions));
  outer.on('connection', track);
  outer.on('clientError', (_err, socket) => socket.destroy());
  outer.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const target = parseAuthority(req.url ?? '');
    if (!target) {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\r\nCONNECT needs host:port\n');
      return;
    }
    const srcIp = socket.remoteAddress ?? '';
    if (!opts.isAiHost(target.host) && !opts.isMcpHost?.(target.host)) {
      tunnel(opts, socket, head, target, track);
      return;
    }
    void ca.contextFor(target.host).then((secureContext) => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) socket.unshift(head);
      const tlsSocket = new TLSSocket(socket, {
        isServer: true,
        secureContext,
        ALPNProtocols: ['http/1.1'],
        SNICallback: (servername, cb) => {
          ca.contextFor(servername).then((c) => cb(null, c), (err: Error) => cb(err));
        },
      });
      tlsSocket.on('error', (err) => {
        logger.info({ host: target.host, err }, 'client TLS failed (does the client trust the scanner CA?)');
        tlsSocket.destroy();
      });
      origins.set(tlsSocket, { host: target.host, port: target.port, srcIp, tls: true });
      inner.emit('connection', tlsSocket);
    }, (err: unknown) => {
      logger.error({ err, host: target.host }, 'cannot issue a leaf certificate');
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
  });

  await new Promise<void>((resolve, reject) => {
    outer.once('error', reject);
    outer.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = outer.address() as AddressInfo;
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => outer.close(() => resolve()));
      for (const s of sockets) s.destroy();
      inner.close();
      await closed;
    },
  };
}

function plainRequest(opts: ProxyOptions, req: IncomingMessage, res: ServerResponse, mcpSessions: McpSessions): void {
  let url: URL;
  try {
    url = new URL(req.url ?? '');
    if (url.protocol !== 'http:') throw new Error('not http');
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('This is the Higgs proxy: send absolute http:// URIs or CONNECT.\n');
    return;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 80);
  const path = `${url.pathname}${url.search}`;
  if (opts.isMcpHost?.(host)) {
    const origin: Origin = { host, port, srcIp: req.socket.remoteAddress ?? '', tls: false };
    void handleMcpExchange(opts.inspect, mcpSessions, origin, req, res, path).catch((err: unknown) => failed(opts.logger, res, err));
    return;
  }
  // a self-hosted OpenAI-compatible server (vLLM, Ollama, TGI) is recognised by its path on any host
  if (opts.isAiHost(host) || isOpenAiCompatibleRequest(req.method ?? 'GET', path)) {
    const origin: Origin = { host, port, srcIp: req.socket.remoteAddress ?? '', tls: false };
    void handleExchange(opts.inspect, origin, req, res, path).catch((err: unknown) => failed(opts.logger, res, err));
    return;
  }
  // a service-to-service hop: the user it carries names its trace for the hops after it
  attributorOf(opts.inspect).observeHop(req.headers);
  const upReq = httpRequest({ host, port, method: req.method, path, headers: forwardHeaders(req.headers), agent: opts.inspect.upstream.http });
  upReq.on('response', (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, forwardHeaders(upRes.headers));
    upRes.pipe(res);
  });
  upReq.on('error', (err: NodeJS.ErrnoException) => {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'content-type': 'text/plain' }).end(`Higgs proxy could not reach ${host}:${port} (${err.code ?? err.message})\n`);
  });
  res.on('close', () => {
    if (!res.writableFinished) upReq.destroy();
  });
  req.pipe(upReq);
}

function tunnel(opts: ProxyOptions, client: Socket, head: Buffer, target: { host: string; port: number }, track: (s: Socket) => void): void {
  opts.inspect.stats.tunnels += 1;
  const upstream = connect(target.port, target.host);
  track(upstream);
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n\r\nHiggs proxy could not reach ${target.host}:${target.port} (${err.code ?? err.message})\n`);
    else client.destroy();
  });
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}

function parseAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/\s]+):(\d{1,5})$/.exec(authority);
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port };
}

function failed(logger: Logger, res: ServerResponse, err: unknown): void {
  logger.error({ err }, 'inspected exchange failed');
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"Higgs proxy internal error","type":"higgs_proxy_error","code":"proxy_error"}}');
  else res.destroy();
}
