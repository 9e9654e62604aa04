import { describe, expect, it } from 'vitest';
import type { SocketTuple } from '@higgs/bpf';
import { BodyBudget, HttpConnection, MessageParser, TlsStreams, type HttpExchange, type HttpMessage, type TlsRecordRoute } from './http-reassembly.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

function conn() {
  const exchanges: HttpExchange[] = [];
  const orphans: HttpMessage[] = [];
  const c = new HttpConnection((e) => exchanges.push(e), (r) => orphans.push(r));
  return { c, exchanges, orphans };
}

describe('MessageParser', () => {
  it('splits a Content-Length request fed one byte at a time', () => {
    const out: HttpMessage[] = [];
    const p = new MessageParser('request', (m) => out.push(m));
    const raw = 'POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: 11\r\n\r\n{"a":"xyz"}';
    for (const ch of raw) p.push(b(ch), 0, 1n);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ startLine: 'POST /v1/chat/completions HTTP/1.1', headers: { host: 'api.openai.com' }, missingBytes: 0, complete: true });
    expect(out[0]!.body.toString()).toBe('{"a":"xyz"}');
  });

  it('decodes a chunked SSE response, chunk extensions and trailers included', () => {
    const out: HttpMessage[] = [];
    const p = new MessageParser('response', (m) => out.push(m));
    p.push(b('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n'), 0, 1n);
    p.push(b('f;ext=1\r\ndata: {"a":1}\n\n\r\n'), 0, 2n);
    p.push(b('e\r\ndata: [DONE]\n\n\r\n0\r\nx-trailer: 1\r\n\r\n'), 0, 3n);
    expect(out).toHaveLength(1);
    expect(out[0]!.body.toString()).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
    expect(out[0]).toMatchObject({ complete: true, firstNs: 1n, lastNs: 3n });
  });

  it('keeps Content-Length framing across a truncated capture and reports the missing bytes', () => {
    const out: HttpMessage[] = [];
    const p = new MessageParser('response', (m) => out.push(m));
    p.push(b('HTTP/1.1 200 OK\r\ncontent-length: 10000\r\n\r\n'), 0, 1n);
    p.push(b('x'.repeat(4096)), 10000 - 4096, 2n); // one SSL_read of 10000 bytes, 4096 captured
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ complete: false, missingBytes: 5904 });
    expect(out[0]!.body.length).toBe(4096);
    // and the next message on the connection is read normally
    p.push(b('HTTP/1.1 204 No Content\r\n\r\n'), 0, 3n);
    expect(out[1]).toMatchObject({ startLine: 'HTTP/1.1 204 No Content', complete: true });
  });

  it('ends a close-delimited response at connection end, complete', () => {
    const out: HttpMessage[] = [];
    const p = new MessageParser('response', (m) => out.push(m));
    p.push(b('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: 1\n\n'), 0, 1n);
    p.push(b('data: 2\n\n'), 0, 2n);
    expect(out).toHaveLength(0);
    p.end();
    expect(out[0]).toMatchObject({ complete: true });
    expect(out[0]!.body.toString()).toBe('data: 1\n\ndata: 2\n\n');
  });

  it('skips 100 Continue and finds the end of a chunked body after a gap', () => {
    const out: HttpMessage[] = [];
    const p = new MessageParser('response', (m) => out.push(m));
    p.push(b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n'), 0, 1n);
    p.push(b('1000\r\n' + 'y'.repeat(100)), 4000, 2n); // the rest of a 4096-byte chunk was not captured
    p.push(b('\r\n0\r\n\r\n'), 0, 3n);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ startLine: 'HTTP/1.1 200 OK', complete: false, missingBytes: 4000 });
    expect(out[0]!.body.toString().startsWith('hello')).toBe(true);
  });
});

describe('HttpConnection', () => {
  it('pairs pipelined requests with their responses in order', () => {
    const { c, exchanges } = conn();
    c.write(b('GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n'), 0, 1n);
    c.read(b('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nA'), 0, 2n);
    c.read(b('HTTP/1.1 404 Not Found\r\ncontent-length: 1\r\n\r\nB'), 0, 3n);
    expect(exchanges.map((e) => [e.request.startLine, e.response?.startLine, e.response?.body.toString()])).toEqual([
      ['GET /a HTTP/1.1', 'HTTP/1.1 200 OK', 'A'],
      ['GET /b HTTP/1.1', 'HTTP/1.1 404 Not Found', 'B'],
    ]);
  });

  it('ends a request whose capture was cut when the response starts, and reports it partial', () => {
    const { c, exchanges } = conn();
    c.write(b('POST /v1/messages HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2000\r\n' + 'p'.repeat(4000)), 4200, 1n);
    c.read(b('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), 0, 2n);
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.request).toMatchObject({ complete: false, missingBytes: 4200 });
    expect(exchanges[0]!.response).toMatchObject({ complete: true });
  });

  it('reports an unanswered request at end, and a response with no request as an orphan', () => {
    const { c, exchanges, orphans } = conn();
    c.read(b('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'), 0, 1n);
    c.write(b('POST /x HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}'), 0, 2n);
    c.end();
    expect(orphans).toHaveLength(1);
    expect(exchanges).toEqual([{ request: expect.objectContaining({ startLine: 'POST /x HTTP/1.1', complete: true }), response: null }]);
  });

  it('knows a response to HEAD has no body', () => {
    const { c, exchanges } = conn();
    c.write(b('HEAD / HTTP/1.1\r\n\r\n'), 0, 1n);
    c.read(b('HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n'), 0, 2n);
    expect(exchanges[0]!.response).toMatchObject({ complete: true, body: Buffer.alloc(0) });
  });
});

describe('TlsStreams', () => {
  const tuple = (port: number): SocketTuple => ({ local: { address: '10.0.0.5', port }, remote: { address: '10.0.0.1', port: 443 } });
  const req = (id: string) => b(`POST /${id} HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}`);
  const res = (id: string) => b(`HTTP/1.1 200 OK\r\ncontent-length: ${id.length}\r\n\r\n${id}`);

  function table() {
    const seen: { first: TlsRecordRoute; exchange: HttpExchange; socket: SocketTuple | null }[] = [];
    const orphans: HttpMessage[] = [];
    const t = new TlsStreams((first, socket) => new HttpConnection((exchange) => seen.push({ first, exchange, socket: socket() }), (r) => orphans.push(r)));
    return { t, seen, orphans };
  }

  it('keeps two connections of one SSL * apart: a freed and reused SSL * on a new socket ends the old connection first', () => {
    const { t, seen, orphans } = table();
    // connection A: request sent, the response's head only, then the SSL * is freed
    t.route({ pid: 1, ssl: 0xaan, socket: tuple(40001), cookie: 11n }).write(req('a'), 0, 1n);
    t.route({ pid: 1, ssl: 0xaan, socket: tuple(40001), cookie: 11n }).read(b('HTTP/1.1 200 OK\r\n'), 0, 2n);
    // connection B reuses the address: its response must not be read as the rest of A's
    t.route({ pid: 1, ssl: 0xaan, socket: tuple(40002), cookie: 12n }).write(req('b'), 0, 3n);
    t.route({ pid: 1, ssl: 0xaan, socket: tuple(40002), cookie: 12n }).read(res('b'), 0, 4n);
    expect(seen.map((s) => [s.exchange.request.startLine, s.exchange.response?.startLine ?? null, s.socket?.local.port])).toEqual([
      ['POST /a HTTP/1.1', null, 40001],
      ['POST /b HTTP/1.1', 'HTTP/1.1 200 OK', 40002],
    ]);
    expect(seen[1]!.exchange.response!.body.toString()).toBe('b');
    expect(orphans).toEqual([]);
    expect(t.size).toBe(1);
  });

  it('sends a record without a tuple to the connection its SSL * last carried', () => {
    const { t, seen } = table();
    t.route({ pid: 1, ssl: 5n, socket: tuple(40003), cookie: 13n }).write(req('c'), 0, 1n);
    // a read served from OpenSSL's buffer, whose tuple the kernel could not find
    t.route({ pid: 1, ssl: 5n, socket: null, cookie: null }).read(res('c'), 0, 2n);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.socket).toEqual(tuple(40003));
    expect(seen[0]!.exchange.response?.body.toString()).toBe('c');
  });

  it('gives a connection whose first records had no tuple the tuple a later record brings', () => {
    const { t, seen } = table();
    t.route({ pid: 2, ssl: 6n, socket: null, cookie: null }).write(req('d'), 0, 1n);
    t.route({ pid: 2, ssl: 6n, socket: tuple(40004), cookie: 14n }).read(res('d'), 0, 2n);
    expect(seen.map((s) => [s.exchange.request.startLine, s.exchange.response?.startLine, s.socket])).toEqual([['POST /d HTTP/1.1', 'HTTP/1.1 200 OK', tuple(40004)]]);
    expect(t.size).toBe(1);
  });

  it('never mixes processes: the same SSL * value in two pids is two connections', () => {
    const { t, seen } = table();
    t.route({ pid: 3, ssl: 7n, socket: null, cookie: null }).write(req('e'), 0, 1n);
    t.route({ pid: 4, ssl: 7n, socket: null, cookie: null }).write(req('f'), 0, 1n);
    t.route({ pid: 4, ssl: 7n, socket: null, cookie: null }).read(res('f'), 0, 2n);
    t.route({ pid: 3, ssl: 7n, socket: null, cookie: null }).read(res('e'), 0, 2n);
    expect(seen.map((s) => [s.first.pid, s.exchange.response?.body.toString()])).toEqual([[4, 'f'], [3, 'e']]);
  });

  it('ends idle connections on sweep, completing a close-delimited response, and everything on end()', () => {
    const { t, seen } = table();
    t.route({ pid: 5, ssl: 8n, socket: tuple(40005), cookie: 15n }).write(req('g'), 0, 1n);
    t.route({ pid: 5, ssl: 8n, socket: tuple(40005), cookie: 15n }).read(b('HTTP/1.1 200 OK\r\n\r\nstreamed'), 0, 2n);
    t.route({ pid: 5, ssl: 9n, socket: tuple(40006), cookie: 16n }).write(req('h'), 0, 100n);
    t.sweep(50n, 40n);
    expect(seen.map((s) => [s.exchange.request.startLine, s.exchange.response?.body.toString()])).toEqual([['POST /g HTTP/1.1', 'streamed']]);
    expect(t.size).toBe(1);
    t.end();
    expect(seen).toHaveLength(2);
    expect(t.size).toBe(0);
  });
});

describe('BodyBudget', () => {
  const request = (size: number): Buffer => b(`POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: ${size}\r\n\r\n${'x'.repeat(size)}`);
  const response = b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');

  it('bounds the body bytes held across connections and pipelined requests, and gives them back as exchanges leave', () => {
    const budget = new BodyBudget(25_000);
    const out: HttpExchange[] = [];
    const open = () => new HttpConnection((e) => out.push(e), () => {}, budget);
    const [a, c] = [open(), open()];
    // two requests waiting for answers on one connection, a third on another: 30 000 bytes against 25 000
    a.write(request(10_000), 0, 1n);
    a.write(request(10_000), 0, 2n);
    c.write(request(10_000), 0, 3n);
    expect(budget.used).toBe(25_000);
    c.read(response, 0, 4n);
    expect(out.map((e) => [e.request.body.length, e.request.missingBytes, e.request.complete])).toEqual([[5_000, 5_000, false]]);
    expect(budget.used).toBe(20_000);
    a.end();
    expect(out.slice(1).map((e) => [e.request.body.length, e.request.missingBytes])).toEqual([[10_000, 0], [10_000, 0]]);
    expect(budget.used).toBe(0);
    // all of it back: a new body is kept whole again
    const d = open();
    d.write(request(20_000), 0, 5n);
    d.read(response, 0, 6n);
    expect(out.at(-1)!.request).toMatchObject({ missingBytes: 0, complete: true });
    expect(budget.used).toBe(0);
  });

  it('gives back the bytes of a response no request claims', () => {
    const budget = new BodyBudget(1_000);
    const orphans: HttpMessage[] = [];
    const c = new HttpConnection(() => {}, (r) => orphans.push(r), budget);
    c.read(b('HTTP/1.1 200 OK\r\nContent-Length: 600\r\n\r\n' + 'y'.repeat(600)), 0, 1n);
    expect(orphans).toHaveLength(1);
    expect(budget.used).toBe(0);
  });
});

