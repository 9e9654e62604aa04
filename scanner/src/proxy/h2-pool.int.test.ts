import { mkdtempSync, rmSync } from 'node:fs';
import { constants as h2constants, createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, type NodeCa } from '../tls/ca.ts';
import { H2Pool } from './h2-pool.ts';
import { createUpstream, type Upstream, type UpstreamResponse } from './upstream.ts';

/** A TLS server for api.openai.com with its own CA; counts its TLS connections and the protocol of each request. */
interface Provider {
  port: number;
  connections: number;
  /** TCP connections, TLS handshake completed or not */
  tcpConnections: number;
  protocols: string[];
  /** HTTP/2 only: sees each stream first; true = it dealt with it (the handler does not run) */
  onStream?: (stream: ServerHttp2Stream) => boolean;
  /** HTTP/2 only: closes every connection gracefully (GOAWAY), as a provider restarting does */
  goaway: () => void;
  /** requests whose answer is held until released */
  held: Map<string, (more: string) => void>;
  close(): Promise<void>;
}

let dir: string;
let ca: NodeCa;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-h2-'));
  ca = await loadOrCreateCa(join(dir, 'provider-ca'), 'Test provider CA');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A leaf certificate for whatever name the client asks for, from the test provider CA. */
function SNICallback(name: string, cb: (err: Error | null, ctx?: import('node:tls').SecureContext) => void): void {
  ca.contextFor(name).then((c) => cb(null, c), (err: Error) => cb(err));
}

/**
 * `h2`: HTTP/2 with HTTP/1.1 fallback, like the providers' front ends; `h1`: HTTP/1.1 only (no ALPN h2).
 * POST /hold/<id> answers its first SSE frame, then the rest when the test releases it.
 */
async function startProvider(kind: 'h2' | 'h1', maxConcurrentStreams?: number): Promise<Provider> {
  const p: Provider = { port: 0, connections: 0, tcpConnections: 0, protocols: [], held: new Map(), goaway: () => undefined, close: async () => undefined };
  const refused = new WeakSet<ServerHttp2Stream>();
  const handler = (req: Http2ServerRequest | import('node:http').IncomingMessage, res: Http2ServerResponse | import('node:http').ServerResponse): void => {
    if ('stream' in req && refused.has(req.stream)) return;
    p.protocols.push(req.httpVersion);
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      const hold = /^\/hold\/(.+)$/.exec(req.url ?? '');
      const reply = res as import('node:http').ServerResponse;
      if (!hold) {
        reply.writeHead(200, { 'content-type': 'application/json', 'x-echo-authority': String(req.headers[':authority'] ?? req.headers.host) });
        reply.end(JSON.stringify({ echo: body }));
        return;
      }
      reply.writeHead(200, { 'content-type': 'text/event-stream' });
      reply.write('data: first\n\n');
      p.held.set(hold[1]!, (more) => reply.end(`data: ${more}\n\n`));
    });
  };
  const server: Http2SecureServer | Server = kind === 'h2'
    ? createSecureServer({ SNICallback, allowHTTP1: true, ...(maxConcurrentStreams ? { settings: { maxConcurrentStreams } } : {}) }, handler)
    : createHttpsServer({ SNICallback }, handler);
  server.on('connection', () => { p.tcpConnections += 1; });
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  p.goaway = () => { for (const session of sessions) session.close(); };
  // registered before the compatibility layer's own listener, so a stream can be refused before it is handled
  if (kind === 'h2') server.prependListener('stream', (stream: ServerHttp2Stream) => { if (p.onStream?.(stream)) refused.add(stream); });
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (s: TLSSocket) => {
    p.connections += 1;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.port = (server.address() as AddressInfo).port;
  p.close = () => new Promise((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  });
  return p;
}

function upstreamFor(port: number): Upstream {
  return createUpstream({ 'api.openai.com': `127.0.0.1:${port}` }, [ca.certPem]);
}

/** Runs `test` against a fresh provider and an upstream pointed at it; both closed after. */
async function withProvider(kind: 'h2' | 'h1', test: (provider: Provider, u: Upstream) => Promise<void>, maxConcurrentStreams?: number): Promise<void> {
  const provider = await startProvider(kind, maxConcurrentStreams);
  const u = upstreamFor(provider.port);
  try {
    await test(provider, u);
  } finally {
    u.close();
    await provider.close();
  }
}

interface Answer { status: number; headers: UpstreamResponse['headers']; body: string; complete: boolean }

/** One request through `upstream.send`; `onFirst` runs once the first body chunk arrived. */
function send(u: Upstream, path: string, body = '{"model":"gpt-4o-mini"}', onFirst?: (res: UpstreamResponse) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = u.send({ tls: true, host: 'api.openai.com', port: 443, to: u.target('api.openai.com', 443), method: 'POST', path, headers: { host: 'api.openai.com', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      let first = true;
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (first) onFirst?.(res);
        first = false;
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, complete: res.complete }));
    });
    req.end(Buffer.from(body));
  });
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('HTTP/2 to the providers', () => {
  it('multiplexes concurrent requests over one connection when the provider negotiates h2, headers and bodies intact', async () => {
    await withProvider('h2', async (provider, u) => {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => send(u, '/v1/chat/completions', `{"n":${i}}`)));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(answers.map((a) => JSON.parse(a.body) as unknown)).toEqual(Array.from({ length: 20 }, (_, i) => ({ echo: `{"n":${i}}` })));
      // the client's Host is the HTTP/2 :authority; no pseudo-header leaks into the headers relayed to the client
      expect(answers[0]!.headers['x-echo-authority']).toBe('api.openai.com');
      expect(Object.keys(answers[0]!.headers).some((k) => k.startsWith(':'))).toBe(false);
      expect(answers.every((a) => a.complete)).toBe(true);
      expect(provider.protocols).toEqual(Array(20).fill('2.0'));
      expect(provider.connections).toBe(1);
      expect(u.h2.sessionCount()).toBe(1);
    });
  });

  it('opens another connection when one is at the provider\'s stream limit', async () => {
    await withProvider('h2', async (provider, u) => {
      const opened: string[] = [];
      const streams = Array.from({ length: 10 }, (_, i) => send(u, `/hold/${i}`, '{}', () => opened.push(String(i))));
      await until(() => opened.length === 10);
      expect(provider.connections).toBe(3);
      for (const release of provider.held.values()) release('done');
      const answers = await Promise.all(streams);
      expect(answers.map((a) => a.body)).toEqual(Array(10).fill('data: first\n\ndata: done\n\n'));
    }, 4);
  });

  it('cancelling one request resets its stream only: another on the same connection keeps streaming', async () => {
    await withProvider('h2', async (provider, u) => {
      const cancelled = new Promise<Answer>((resolve, reject) => {
        const req = u.send({ tls: true, host: 'api.openai.com', port: 443, to: u.target('api.openai.com', 443), method: 'POST', path: '/hold/a', headers: { 'content-length': '2' } });
        req.on('error', reject);
        req.on('response', (res) => {
          res.once('data', () => req.destroy());
          res.on('error', () => undefined);
          res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', complete: res.complete }));
        });
        req.end(Buffer.from('{}'));
    });
    let kept!: Promise<Answer>;
    const keptStarted = new Promise<void>((r) => { kept = send(u, '/hold/b', '{}', () => r()); });
    await keptStarted;
    expect((await cancelled).complete).toBe(false);
    provider.held.get('b')!('still here');
    expect((await kept).body).toBe('data: first\n\ndata: still here\n\n');
    expect(provider.connections).toBe(1);
    });
  });

  it('after the provider\'s GOAWAY, lets the streams in flight finish and sends new requests on a new connection', async () => {
    await withProvider('h2', async (provider, u) => {
      let inFlight!: Promise<Answer>;
      await new Promise<void>((r) => { inFlight = send(u, '/hold/x', '{}', () => r()); });
      provider.goaway();
      await until(() => u.h2.sessionCount() === 0);
      const next = await send(u, '/v1/chat/completions', '{"after":1}');
      expect(next.status).toBe(200);
      provider.held.get('x')!('finished');
      expect(await inFlight).toMatchObject({ body: 'data: first\n\ndata: finished\n\n', complete: true });
      expect(provider.connections).toBe(2);
    });
  });

  it('sends a refused stream again once (it was not processed, RFC 9113 §8.7); a second refusal is the request\'s error', async () => {
    await withProvider('h2', async (provider, u) => {
      let refuse = 1;
      provider.onStream = (stream) => {
        if (refuse <= 0) return false;
        refuse -= 1;
        stream.close(h2constants.NGHTTP2_REFUSED_STREAM);
        return true;
      };
      expect(await send(u, '/v1/chat/completions', '{"again":1}')).toMatchObject({ status: 200, body: '{"echo":"{\\"again\\":1}"}' });
      expect(provider.protocols).toEqual(['2.0']);
      refuse = 2;
      await expect(send(u, '/v1/chat/completions')).rejects.toMatchObject({ code: 'ERR_HTTP2_STREAM_ERROR' });
      expect(refuse).toBe(0);
    });
  });

  it('falls back to HTTP/1.1 keep-alive for a provider that does not offer h2, probing it once', async () => {
    await withProvider('h1', async (provider, u) => {
      const first = await send(u, '/v1/chat/completions', '{"a":1}');
      expect(first).toMatchObject({ status: 200, complete: true });
      expect(JSON.parse(first.body)).toEqual({ echo: '{"a":1}' });
      for (let i = 0; i < 5; i++) await send(u, '/v1/chat/completions');
      expect(provider.protocols).toEqual(Array(6).fill('1.1'));
      // the ALPN probe, then the agent's one kept-alive connection
      expect(provider.tcpConnections).toBe(2);
      expect(u.h2.sessionCount()).toBe(0);
    });
  });

  it('gives up on a provider that completes TLS with h2 and never sends its SETTINGS: the waiting request fails', async () => {
    const accepted: TLSSocket[] = [];
    const mute = createTlsServer({ ALPNProtocols: ['h2'], SNICallback }, (s) => accepted.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const { port } = mute.address() as AddressInfo;
    const pool = new H2Pool(createSecureContext({ ca: ca.certPem }), { settingsTimeoutMs: 300 });
    try {
      const req = pool.request({ host: '127.0.0.1', port, servername: 'api.openai.com', authority: 'api.openai.com' }, 'POST', '/v1/chat/completions', {}, () => {
        throw new Error('not an HTTP/1.1 origin');
      });
      const failed = new Promise<Error>((resolve) => req.on('error', resolve));
      req.end(Buffer.from('{}'));
      expect((await failed).message).toMatch(/no HTTP\/2 SETTINGS from api\.openai\.com within 300 ms/);
      expect(pool.sessionCount()).toBe(0);
    } finally {
      pool.close();
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((r) => mute.close(() => r()));
    }
  });

  it('reports an unreachable provider as the request\'s error', async () => {
    const closed = createTcpServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const u = upstreamFor(port);
    try {
      await expect(send(u, '/v1/chat/completions')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      u.close();
    }
  });
});
