import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { type ClientHttp2Session, type ClientHttp2Stream, connect as h2connect, constants as h2 } from 'node:http2';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as tlsConnect, type SecureContext } from 'node:tls';

/**
 * HTTP/2 to the providers. Every stream the proxy relays would otherwise hold
 * an HTTP/1.1 TLS connection of its own to the provider for as long as it
 * streams: ~83 KB of TLS and socket state each, so 1 000 open streams cost
 * ~80 MB for that leg alone. Over HTTP/2 they share a few connections at
 * ~18 KB a stream, and a request costs ~40 % less CPU (measured with
 * `node:https` vs `node:http2` clients against one server; scanner README, "Proxy performance").
 *
 * The first request to an origin probes it with ALPN (`h2`, `http/1.1`); an
 * origin that does not choose `h2` (a self-hosted server, an old gateway) is
 * remembered as HTTP/1.1 for `H1_RECHECK_MS` and served by the keep-alive
 * agent, so nothing changes for it. Cancelling a request (its client went
 * away, or its session was killed) resets that one stream, never the shared
 * connection: the other sessions on it keep streaming.
 */

/** The response of an upstream request, HTTP/1.1 (`IncomingMessage`) or HTTP/2 (the stream, decorated). */
export interface UpstreamResponse extends Readable {
  statusCode?: number | undefined;
  /** HTTP/2 has none: `writeHead` then uses the status code's standard text */
  statusMessage?: string | undefined;
  headers: IncomingHttpHeaders;
  /** true once the whole body arrived; a stream that closes without it was cut */
  complete: boolean;
}

/** A request on its way upstream: what the proxy uses of a `ClientRequest`. */
export interface UpstreamExchange {
  on(event: 'response', listener: (res: UpstreamResponse) => void): this;
  on(event: 'error', listener: (err: NodeJS.ErrnoException) => void): this;
  /** sends the whole body and ends the request */
  end(body: Buffer): void;
  /** abandons the request: an HTTP/2 stream is reset (RST_STREAM CANCEL), an HTTP/1.1 socket destroyed */
  destroy(): void;
}

export interface H2Target {
  /** where to connect (after any hosts override) */
  host: string;
  port: number;
  /** the name the client asked for: SNI, certificate check and `:authority` */
  servername: string;
  /** `host[:port]` as the client sent it in `Host` */
  authority: string;
}

/** streams opened on one connection before another is opened (a provider's own limit may be lower: it wins) */
const MAX_STREAMS_PER_SESSION = 256;
/** the connection's receive window: a few clients reading slowly must not stall the others sharing it */
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** nghttp2's memory cap per connection, MB (Node's default of 10 is reached by ~256 buffered streams) */
const MAX_SESSION_MEMORY_MB = 64;
/** a connection with no frames for this long is closed (the provider would close it anyway) */
const IDLE_MS = 60_000;
/** a provider that completed TLS has this long to send its SETTINGS, by default */
const SETTINGS_TIMEOUT_MS = 10_000;
/** an origin that answered ALPN with HTTP/1.1 is asked again after this */
const H1_RECHECK_MS = 10 * 60_000;
/** request headers HTTP/2 forbids (RFC 9113 §8.2.2), beyond the hop-by-hop ones forwardHeaders already drops; `host` becomes `:authority` */
const NOT_IN_H2 = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']);

interface Session {
  session: ClientHttp2Session;
  /** streams opened or reserved, not yet closed */
  active: number;
  usable: boolean;
}

interface Origin {
  sessions: Session[];
  /** a connection being opened, shared by the requests that wait for it */
  connecting: Promise<Session | 'http/1.1'> | null;
  /** set when the origin chose HTTP/1.1: until then it is sent over the keep-alive agent */
  h1Until: number;
}

export class H2Pool {
  private readonly origins = new Map<string, Origin>();
  private closed = false;

  private readonly settingsTimeoutMs: number;

  /** `settingsTimeoutMs`: how long a provider that completed TLS has to send its SETTINGS (default 10 s) */
  constructor(private readonly secureContext: SecureContext, opts: { settingsTimeoutMs?: number } = {}) {
    this.settingsTimeoutMs = opts.settingsTimeoutMs ?? SETTINGS_TIMEOUT_MS;
  }

  /**
   * Sends a request over HTTP/2 when the origin speaks it; `h1` sends it over
   * HTTP/1.1 otherwise (the caller's keep-alive agent).
   */
  request(target: H2Target, method: string, path: string, headers: OutgoingHttpHeaders, h1: () => ClientRequest): UpstreamExchange {
    const origin = this.originOf(target);
    if (origin.h1Until > Date.now()) return h1();
    const ready = origin.sessions.find((s) => s.usable && s.active < limitOf(s));
    if (ready) ready.active += 1;
    return new H2Exchange(ready ?? this.acquire(origin, target), method, path, target.authority, headers, h1, () => this.acquire(origin, target));
  }

  /** HTTP/2 connections open now (for stats and tests) */
  sessionCount(): number {
    let n = 0;
    for (const o of this.origins.values()) n += o.sessions.filter((s) => s.usable).length;
    return n;
  }

  close(): void {
    this.closed = true;
    for (const o of this.origins.values()) for (const s of o.sessions) s.session.destroy();
    this.origins.clear();
  }

  private originOf(t: H2Target): Origin {
    const key = `${t.host}|${t.port}|${t.servername}`;
    let o = this.origins.get(key);
    if (!o) this.origins.set(key, (o = { sessions: [], connecting: null, h1Until: 0 }));
    return o;
  }

  /**
   * A session with room for one more stream, the slot reserved (`active`): an open one, the one being
   * opened, or a new one. The stream's close gives the slot back.
   */
  private async acquire(origin: Origin, target: H2Target): Promise<Session | 'http/1.1'> {
    for (;;) {
      const ready = origin.sessions.find((s) => s.usable && s.active < limitOf(s));
      if (ready) {
        ready.active += 1;
        return ready;
      }
      if (origin.h1Until > Date.now()) return 'http/1.1';
      if (!origin.connecting) {
        origin.connecting = this.open(origin, target).finally(() => { origin.connecting = null; });
      }
      const got = await origin.connecting;
      if (got === 'http/1.1') return got;
      // otherwise loop: the requests that waited with this one may have filled it, then another is opened
    }
  }

  private open(origin: Origin, target: H2Target): Promise<Session | 'http/1.1'> {
    if (this.closed) return Promise.reject(new Error('upstream closed'));
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({
        host: target.host, port: target.port, secureContext: this.secureContext, ALPNProtocols: ['h2', 'http/1.1'],
        ...(isIP(target.servername) || target.servername === '' ? {} : { servername: target.servername }),
      });
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        if (socket.alpnProtocol !== 'h2') {
          socket.destroy();
          origin.h1Until = Date.now() + H1_RECHECK_MS;
          resolve('http/1.1');
          return;
        }
        const session = h2connect(`https://${target.authority}`, {
          createConnection: () => socket, maxSessionMemory: MAX_SESSION_MEMORY_MB, settings: { enablePush: false },
        });
        const s: Session = { session, active: 0, usable: true };
        // a server that completes TLS and then says nothing must not hold the waiting requests forever
        const silent = setTimeout(
          () => session.destroy(new Error(`no HTTP/2 SETTINGS from ${target.authority} within ${this.settingsTimeoutMs} ms`)), this.settingsTimeoutMs,
        );
        const retire = (): void => {
          s.usable = false;
          const i = origin.sessions.indexOf(s);
          if (i >= 0) origin.sessions.splice(i, 1);
        };
        const failed = (err?: Error): void => {
          retire();
          reject(err ?? new Error('the provider closed the HTTP/2 connection before its settings'));
        };
        // a connection error reaches each of its streams as their own error; here it only retires the connection
        session.on('error', failed);
        session.on('goaway', retire);
        session.on('close', () => {
          clearTimeout(silent);
          failed();
        });
        session.setTimeout(IDLE_MS, () => { if (s.active === 0) session.close(); });
        session.once('connect', () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
        // usable once the provider's SETTINGS arrived: its stream limit is known before the first stream
        session.once('remoteSettings', () => {
          clearTimeout(silent);
          if (this.closed) {
            session.destroy();
            reject(new Error('upstream closed'));
            return;
          }
          if (!s.usable) return;
          origin.sessions.push(s);
          resolve(s);
        });
      });
    });
  }
}

const limitOf = (s: Session): number => Math.min(MAX_STREAMS_PER_SESSION, s.session.remoteSettings.maxConcurrentStreams ?? MAX_STREAMS_PER_SESSION);

/** One request over HTTP/2 (or, when the origin turned out to speak HTTP/1.1, over the agent), shaped like a `ClientRequest`. */
class H2Exchange extends EventEmitter implements UpstreamExchange {
  private stream: ClientHttp2Stream | null = null;
  private h1req: ClientRequest | null = null;
  private body: Buffer | null = null;
  private cancelled = false;

  private retried = false;

  constructor(
    route: Session | Promise<Session | 'http/1.1'>, private readonly method: string, private readonly path: string,
    private readonly authority: string, private readonly headers: OutgoingHttpHeaders, private readonly h1: () => ClientRequest,
    private readonly reacquire: () => Promise<Session | 'http/1.1'>,
  ) {
    super();
    this.route(route);
  }

  private route(route: Session | Promise<Session | 'http/1.1'>): void {
    if (route instanceof Promise) route.then((r) => this.begin(r), (err: Error) => { if (!this.cancelled) this.emit('error', err); });
    else this.begin(route);
  }

  end(body: Buffer): void {
    this.body = body;
    if (this.stream) this.stream.end(body);
    else if (this.h1req) this.h1req.end(body);
  }

  destroy(): void {
    this.cancelled = true;
    if (this.stream && !this.stream.closed) this.stream.close(h2.NGHTTP2_CANCEL);
    this.h1req?.destroy();
  }

  private begin(route: Session | 'http/1.1'): void {
    if (this.cancelled) {
      if (route !== 'http/1.1') route.active -= 1;
      return;
    }
    if (route === 'http/1.1') {
      const req = (this.h1req = this.h1());
      req.on('response', (res) => this.emit('response', res));
      req.on('error', (err) => this.emit('error', err));
      if (this.body) req.end(this.body);
      return;
    }
    const headers: OutgoingHttpHeaders = { ':method': this.method, ':path': this.path, ':authority': this.authority };
    for (const k in this.headers) if (!NOT_IN_H2.has(k)) headers[k] = this.headers[k];
    let stream: ClientHttp2Stream;
    try {
      stream = route.session.request(headers, { endStream: false });
    } catch (err) {
      // the connection closed under us (GOAWAY, destroyed): reported like a refused connection
      route.usable = false;
      route.active -= 1;
      queueMicrotask(() => this.emit('error', err as Error));
      return;
    }
    this.stream = stream;
    let responded = false;
    stream.once('close', () => { route.active -= 1; });
    // before the answer an error is the request's; after it, the response's: it closes incomplete and the proxy sees that.
    // A refused stream was not processed (RFC 9113 §8.7): sent again once, on a connection with room (a provider can
    // lower its stream limit at any time).
    stream.on('error', (err) => {
      if (responded || this.cancelled) return;
      if (stream.rstCode === h2.NGHTTP2_REFUSED_STREAM && !this.retried) {
        this.retried = true;
        this.stream = null;
        this.route(this.reacquire());
        return;
      }
      this.emit('error', err);
    });
    stream.once('response', (raw) => {
      responded = true;
      const headers: IncomingHttpHeaders = {};
      for (const k in raw) if (k[0] !== ':') headers[k] = raw[k] as string | string[];
      const res = Object.assign(stream, { statusCode: Number(raw[':status']), statusMessage: undefined, headers, complete: false }) as unknown as UpstreamResponse;
      stream.once('end', () => { res.complete = true; });
      // a stream reset (by either side) ends its readable side too: it is complete only if it closed without error
      stream.once('close', () => { if (stream.rstCode !== h2.NGHTTP2_NO_ERROR) res.complete = false; });
      this.emit('response', res);
    });
    if (this.body) stream.end(this.body);
  }
}
