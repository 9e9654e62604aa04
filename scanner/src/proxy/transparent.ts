import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from '../logger.ts';
import type { NodeCa } from '../tls/ca.ts';
import type { Workload } from '../workloads/index.ts';
import { handleExchange, type InspectContext, type Origin } from './exchange.ts';
import { createMcpSessions, handleMcpExchange } from './mcp-exchange.ts';

/** Where a redirected connection was going, and who opened it (from the kernel's redirect map). */
export interface RedirectedFrom {
  destination: { address: string; port: number };
  cgroupId: bigint;
}

export interface TransparentOptions {
  host: string;
  /** 0 = ephemeral, for both */
  tlsPort: number;
  plainPort: number;
  ca: NodeCa;
  inspect: InspectContext;
  isMcpHost?(host: string): boolean;
  /** the original destination of the connection whose client end is `peer`, or null when it was not redirected */
  origin(peer: { address: string; port: number }): RedirectedFrom | null;
  /** the workload of a cgroup: a redirected client's address is the node's, its cgroup says who it is */
  workloadOf(cgroupId: bigint): Workload | null;
  logger: Logger;
}

export interface TransparentListener {
  tlsPort: number;
  plainPort: number;
  close(): Promise<void>;
}

/**
 * The listener the kernel redirect (bpf connect4/6) sends enforce-labelled
 * workloads' provider connections to: the workload never configured a proxy.
 * The TLS port terminates with a leaf for the SNI (or, without SNI, the
 * dialled address) from the node CA; the plain port reads HTTP. Each request
 * goes through the same inspected path as the explicit proxy, routed by SNI /
 * Host and connected to the address the workload originally dialled (unless
 * the host is overridden), attributed to the workload by its cgroup.
 */
export async function startTransparentListener(opts: TransparentOptions): Promise<TransparentListener> {
  const { ca, logger } = opts;
  const mcpSessions = createMcpSessions();
  const sockets = new Set<Socket>();
  const routes = new WeakMap<Socket, { from: RedirectedFrom; srcIp: string; sni: string | null; tls: boolean }>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const route = routes.get(req.socket);
    if (!route) {
      res.writeHead(500).end();
      return;
    }
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
    const host = route.sni ?? (hostHeader || route.from.destination.address);
    const origin: Origin = { host, port: route.from.destination.port, srcIp: route.srcIp, tls: route.tls };
    const dialled = route.from.destination;
    const base = opts.inspect;
    const workload = opts.workloadOf(route.from.cgroupId);
    const ctx: InspectContext = {
      ...base,
      // the redirected client's source address is the node's own: its cgroup names the workload
      workloads: { resolve: (ip) => workload ?? base.workloads.resolve(ip), close: () => {} },
      upstream: {
        ...base.upstream,
        target(h, p) {
          const t = base.upstream.target(h, p);
          return t.host === h && t.port === p ? { host: dialled.address, port: dialled.port } : t;
        },
      },
    };
    const path = req.url ?? '/';
    const handled = opts.isMcpHost?.(host) ? handleMcpExchange(ctx, mcpSessions, origin, req, res, path) : handleExchange(ctx, origin, req, res, path);
    void handled.catch((err: unknown) => {
      logger.error({ err }, 'transparent exchange failed');
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"Higgs proxy internal error","type":"higgs_proxy_error","code":"proxy_error"}}');
      else res.destroy();
    });
  };
  const inner = createHttpServer(handle);
  inner.on('clientError', (_err, socket) => socket.destroy());

  const lookup = (socket: Socket): RedirectedFrom | null => {
    const peer = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    let from: RedirectedFrom | null = null;
    try {
      from = opts.origin(peer);
    } catch (err) {
      logger.error({ err }, 'redirect origin lookup failed');
    }
    if (!from) {
      logger.warn({ peer }, 'connection on the transparent port that the kernel did not redirect; closed');
      socket.destroy();
    }
    return from;
  };

  const tlsServer = createNetServer((socket) => {
    track(socket);
    socket.on('error', () => socket.destroy());
    const from = lookup(socket);
    if (!from) return;
    const srcIp = socket.remoteAddress ?? '';
    void ca.contextFor(from.destination.address).then((secureContext) => {
      let sni: string | null = null;
      const tlsSocket = new TLSSocket(socket, {
        isServer: true,
        secureContext,
        ALPNProtocols: ['http/1.1'],
        SNICallback: (servername, cb) => {
          sni = servername.toLowerCase();
          ca.contextFor(servername).then((c) => cb(null, c), (err: Error) => cb(err));
        },
      });
      tlsSocket.on('error', (err) => {
        logger.info({ destination: from.destination, err }, 'redirected client TLS failed (does the workload trust the scanner CA?)');
        tlsSocket.destroy();
      });
      tlsSocket.once('secure', () => {
        routes.set(tlsSocket, { from, srcIp, sni, tls: true });
        inner.emit('connection', tlsSocket);
      });
    }, (err: unknown) => {
      logger.error({ err, destination: from.destination }, 'cannot issue a leaf certificate');
      socket.destroy();
    });
  });

  const plainServer = createHttpServer(handle);
  plainServer.on('clientError', (_err, socket) => socket.destroy());
  plainServer.on('connection', (socket: Socket) => {
    track(socket);
    const from = lookup(socket);
    if (from) routes.set(socket, { from, srcIp: socket.remoteAddress ?? '', sni: null, tls: false });
  });

  const listen = (server: Server, port: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, opts.host, () => resolve((server.address() as AddressInfo).port));
  });
  const tlsPort = await listen(tlsServer, opts.tlsPort);
  let plainPort: number;
  try {
    plainPort = await listen(plainServer, opts.plainPort);
  } catch (err) {
    tlsServer.close();
    throw err;
  }
  return {
    tlsPort,
    plainPort,
    async close() {
      const closed = Promise.all([tlsServer, plainServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
      for (const s of sockets) s.destroy();
      inner.close();
      await closed;
    },
  };
}
