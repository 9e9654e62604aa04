import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { SocketTuple } from '@higgs/bpf';
import { normalizeIp } from '../workloads/index.ts';

/** One client connection of the proxy while it carries a request of a session. */
export interface SessionConnection {
  sessionId: string;
  /** the proxy's own TCP socket (under the TLS layer of a MITM connection) */
  socket: Socket;
  /** the same connection as the workload's socket sees it: local = the workload's end */
  workloadTuple: SocketTuple | null;
  /** the upstream host the proxy connects to for this request (after any override) */
  upstreamHost: string;
}

/**
 * Remembers which client connections carry which session while their requests
 * are in flight, so a kill can reset exactly those: the proxy's side from user
 * space (the client gets ECONNRESET at once) and the workload's side in the
 * kernel by its tuple. Also collects the upstream hosts the proxy connects to,
 * which feed the kernel's AI-provider map.
 */
export class SessionConnections {
  private readonly bySession = new Map<string, Set<SessionConnection>>();
  private readonly upstreamHosts = new Set<string>();
  private readonly onHost: ((host: string) => void) | null;

  constructor(opts: { onUpstreamHost?: (host: string) => void } = {}) {
    this.onHost = opts.onUpstreamHost ?? null;
  }

  /** Registers the connection of `req` as carrying `sessionId` until `res` closes. */
  track(p: { sessionId: string; upstreamHost: string; req: IncomingMessage; res: ServerResponse }): void {
    const socket = rawSocket(p.req.socket);
    if (!socket) return;
    const conn: SessionConnection = { sessionId: p.sessionId, socket, workloadTuple: workloadTuple(socket), upstreamHost: p.upstreamHost };
    let set = this.bySession.get(p.sessionId);
    if (!set) this.bySession.set(p.sessionId, (set = new Set()));
    set.add(conn);
    p.res.once('close', () => this.forget(conn));
    if (!this.upstreamHosts.has(p.upstreamHost)) {
      this.upstreamHosts.add(p.upstreamHost);
      this.onHost?.(p.upstreamHost);
    }
  }

  /** The connections now carrying `sessionId`, forgotten here (the caller is about to reset them). */
  take(sessionId: string): SessionConnection[] {
    const set = this.bySession.get(sessionId);
    this.bySession.delete(sessionId);
    return set ? [...set] : [];
  }

  /** Sessions with a request in flight now. */
  sessions(): string[] {
    return [...this.bySession.keys()];
  }

  hosts(): string[] {
    return [...this.upstreamHosts];
  }

  private forget(conn: SessionConnection): void {
    const set = this.bySession.get(conn.sessionId);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.bySession.delete(conn.sessionId);
  }
}

/**
 * The TCP socket under a MITM TLS socket (Node keeps the wrapped socket as
 * `_parent`), or the socket itself on a plain-HTTP connection.
 */
function rawSocket(s: Socket): Socket | null {
  const parent = (s as Socket & { _parent?: unknown })._parent;
  if (parent instanceof Socket) return parent;
  return s instanceof Socket ? s : null;
}

function workloadTuple(s: Socket): SocketTuple | null {
  if (!s.remoteAddress || !s.remotePort || !s.localAddress || !s.localPort) return null;
  return {
    local: { address: normalizeIp(s.remoteAddress), port: s.remotePort },
    remote: { address: normalizeIp(s.localAddress), port: s.localPort },
  };
}
