/**
 * HTTP/1.1 reassembly of the plaintext the TLS uprobes capture. Each SSL_write
 * or SSL_read is one event carrying at most the first 4096 bytes it moved
 * (`len` says how many it really moved); the events of one TLS session arrive
 * in order, because one `SSL *` is driven by one thread at a time. Writes carry
 * the client's requests, reads the server's responses (a client process: the
 * scanner observes workloads calling out). Framing follows RFC 9112:
 * Content-Length, chunked, or (responses only) until the connection closes,
 * which is how an SSE stream without chunking ends.
 *
 * A capture that missed bytes is never dropped: the message is completed as
 * far as its framing still allows and marked with the bytes it is missing.
 * `TlsStreams` groups the records per TCP connection (the socket tuple the
 * kernel attached to them), falling back to the `SSL *` when it had none.
 */
import type { SocketTuple } from '@higgs/bpf';

/** One request or response as it crossed the TLS session. */
export interface HttpMessage {
  /** `POST /v1/chat/completions HTTP/1.1` or `HTTP/1.1 200 OK` */
  startLine: string;
  /** lower-case names; repeated headers joined with `, ` */
  headers: Record<string, string>;
  /** the body after transfer decoding (chunks joined), content-encoding untouched */
  body: Buffer;
  /** bytes of this message the capture did not hold (truncated reads/writes) */
  missingBytes: number;
  /** false when the message ended without its framing completing (connection closed, capture gap) */
  complete: boolean;
  /** CLOCK_MONOTONIC ns of the first and last event that carried it */
  firstNs: bigint;
  lastNs: bigint;
}

/** A request and the response that answered it (null when none came before the connection ended). */
export interface HttpExchange {
  request: HttpMessage;
  response: HttpMessage | null;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const MAX_HEAD_BYTES = 64 * 1024;
// bodies beyond this are counted as missing rather than held: the parsers read the first 16 MiB at most
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * The body bytes held at once by every connection sharing it: being read, and requests waiting for their
 * answers. Past `max`, what would be kept is counted as missing instead (the call is recorded partial,
 * `uninspected`), so many connections, or many pipelined requests nobody answers, cannot grow the memory
 * past it. Bytes are given back when their exchange is handed on or dropped.
 */
export class BodyBudget {
  used = 0;
  constructor(readonly max: number) {}
}
/** all TLS connections of a scanner together */
export const DEFAULT_BODY_BUDGET_BYTES = 128 * 1024 * 1024;

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-trailer' | 'close' | 'lost';

interface Building {
  startLine: string;
  headers: Record<string, string>;
  chunks: Buffer[];
  size: number;
  missing: number;
  firstNs: bigint;
  lastNs: bigint;
}

/** Splits one direction of a connection into messages. */
export class MessageParser {
  private buf: Buffer = Buffer.alloc(0);
  private state: State = 'head';
  private cur: Building | null = null;
  private remaining = 0;

  constructor(
    private readonly kind: 'request' | 'response',
    private readonly emit: (m: HttpMessage) => void,
    /** responses: whether the response now being read has no body (it answers HEAD) */
    private readonly answersHead: () => boolean = () => false,
    /** shared with the other connections; the body bytes a message keeps are counted in it until their exchange is done */
    private readonly budget: BodyBudget = new BodyBudget(Number.POSITIVE_INFINITY),
  ) {}

  /** True while a message is partly read. */
  get inMessage(): boolean {
    return this.cur !== null;
  }

  /** Feeds one event: `data` as captured, `missing` bytes the call moved beyond it. */
  push(data: Buffer, missing: number, tsNs: bigint): void {
    if (this.cur) this.cur.lastNs = tsNs;
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    this.drain(tsNs);
    if (missing > 0) this.gap(missing, tsNs);
  }

  /** The connection ended (or the other side moved on): completes what is being read. */
  end(): void {
    if (!this.cur) {
      this.buf = Buffer.alloc(0);
      return;
    }
    if (this.state === 'close') {
      this.addBody(this.buf);
      this.buf = Buffer.alloc(0);
      this.finish(true);
      return;
    }
    this.cur.missing += this.state === 'length' ? Math.max(0, this.remaining - this.buf.length) : 0;
    this.addBody(this.state === 'length' || this.state === 'lost' ? this.buf : Buffer.alloc(0));
    this.buf = Buffer.alloc(0);
    this.finish(false);
  }

  private gap(missing: number, tsNs: bigint): void {
    if (this.state === 'length') {
      // the framing still holds: the skipped bytes were body bytes
      const skipped = Math.min(missing, this.remaining);
      this.remaining -= skipped;
      this.cur!.missing += missing;
      if (this.remaining === 0) this.finish(missing === skipped);
      return;
    }
    if (this.state === 'close') {
      this.cur!.missing += missing;
      return;
    }
    if (!this.cur) {
      // the bytes of a head we never saw: a message with what we have
      this.cur = { startLine: '', headers: {}, chunks: [], size: 0, missing: 0, firstNs: tsNs, lastNs: tsNs };
    }
    this.cur.missing += missing;
    this.state = 'lost';
  }

  private drain(tsNs: bigint): void {
    for (;;) {
      switch (this.state) {
        case 'head': {
          const end = this.buf.indexOf(CRLF2);
          if (end < 0) {
            if (this.buf.length > MAX_HEAD_BYTES) this.loseHead(tsNs);
            return;
          }
          const head = this.buf.subarray(0, end).toString('latin1');
          this.buf = this.buf.subarray(end + 4);
          if (!this.startMessage(head, tsNs)) continue;
          break;
        }
        case 'length': {
          const n = Math.min(this.remaining, this.buf.length);
          this.addBody(this.buf.subarray(0, n));
          this.buf = this.buf.subarray(n);
          this.remaining -= n;
          if (this.remaining > 0) return;
          this.finish(true);
          break;
        }
        case 'chunk-size': {
          const eol = this.buf.indexOf('\r\n');
          if (eol < 0) return;
          const size = parseInt(this.buf.subarray(0, eol).toString('latin1').split(';')[0]!.trim(), 16);
          this.buf = this.buf.subarray(eol + 2);
          if (!Number.isFinite(size) || size < 0) {
            this.state = 'lost';
            return;
          }
          if (size === 0) this.state = 'chunk-trailer';
          else [this.state, this.remaining] = ['chunk-data', size];
          break;
        }
        case 'chunk-data': {
          if (this.buf.length < this.remaining + 2) {
            const n = Math.min(this.remaining, this.buf.length);
            this.addBody(this.buf.subarray(0, n));
            this.buf = this.buf.subarray(n);
            this.remaining -= n;
            return;
          }
          this.addBody(this.buf.subarray(0, this.remaining));
          this.buf = this.buf.subarray(this.remaining + 2);
          this.remaining = 0;
          this.state = 'chunk-size';
          break;
        }
        case 'chunk-trailer': {
          const eol = this.buf.indexOf('\r\n');
          if (eol < 0) return;
          this.buf = this.buf.subarray(eol + 2);
          if (eol === 0) this.finish(true); // the empty line after the trailers
          break;
        }
        case 'close':
          this.addBody(this.buf);
          this.buf = Buffer.alloc(0);
          return;
        case 'lost': {
          // out of step after a capture gap: a chunked body still ends with its last-chunk
          const last = this.buf.lastIndexOf('\r\n0\r\n\r\n');
          if (last < 0 || this.cur?.headers['transfer-encoding'] === undefined) {
            this.addBody(this.buf);
            this.buf = Buffer.alloc(0);
            return;
          }
          this.addBody(this.buf.subarray(0, last));
          this.buf = this.buf.subarray(last + 7);
          this.finish(false);
          break;
        }
      }
    }
  }

  private loseHead(tsNs: bigint): void {
    this.cur = { startLine: '', headers: {}, chunks: [], size: 0, missing: this.buf.length, firstNs: tsNs, lastNs: tsNs };
    this.buf = Buffer.alloc(0);
    this.state = 'lost';
  }

  /** Parses a head; false when it was an interim (1xx) response with no message to emit. */
  private startMessage(head: string, tsNs: bigint): boolean {
    const lines = head.split('\r\n');
    const startLine = lines.shift() ?? '';
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const status = this.kind === 'response' ? Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(startLine)?.[1] ?? NaN) : NaN;
    if (status >= 100 && status < 200) return false; // 100 Continue: the real response follows
    this.cur = { startLine, headers, chunks: [], size: 0, missing: 0, firstNs: tsNs, lastNs: tsNs };
    const chunked = /(?:^|,)\s*chunked\s*$/i.test(headers['transfer-encoding'] ?? '');
    const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
    const bodyless = this.kind === 'response' && (status === 204 || status === 304 || this.answersHead());
    if (bodyless) this.finish(true);
    else if (chunked) this.state = 'chunk-size';
    else if (length !== null && Number.isInteger(length) && length >= 0) {
      if (length === 0) this.finish(true);
      else [this.state, this.remaining] = ['length', length];
    } else if (this.kind === 'response') this.state = 'close';
    else this.finish(true); // a request without a length has no body (RFC 9112 §6.3)
    return true;
  }

  private addBody(b: Buffer): void {
    if (!this.cur || b.length === 0) return;
    const room = Math.min(MAX_BODY_BYTES - this.cur.size, this.budget.max - this.budget.used);
    if (room <= 0) {
      this.cur.missing += b.length;
      return;
    }
    const kept = b.length > room ? b.subarray(0, room) : b;
    this.cur.chunks.push(Buffer.from(kept));
    this.cur.size += kept.length;
    this.budget.used += kept.length;
    this.cur.missing += b.length - kept.length;
  }

  private finish(framed: boolean): void {
    const c = this.cur;
    this.cur = null;
    this.state = 'head';
    this.remaining = 0;
    if (!c) return;
    this.emit({
      startLine: c.startLine, headers: c.headers, body: Buffer.concat(c.chunks), missingBytes: c.missing,
      complete: framed && c.missing === 0, firstNs: c.firstNs, lastNs: c.lastNs,
    });
  }
}

/**
 * One TLS session of a client: requests from its writes, responses from its
 * reads, paired in order (HTTP/1.1 answers requests in the order they came).
 */
export class HttpConnection {
  private readonly pending: HttpMessage[] = [];
  private readonly requests: MessageParser;
  private readonly responses: MessageParser;
  lastNs = 0n;

  constructor(
    private readonly onExchange: (e: HttpExchange) => void,
    /** a response arrived with no request seen before it (the capture began mid-connection) */
    private readonly onOrphan: (response: HttpMessage) => void = () => {},
    /** shared by every TLS connection of a scanner (kernel/index.ts makes one); unbounded by default */
    private readonly budget: BodyBudget = new BodyBudget(Number.POSITIVE_INFINITY),
  ) {
    this.requests = new MessageParser('request', (m) => this.pending.push(m), undefined, budget);
    this.responses = new MessageParser('response', (m) => this.answer(m), () => /^HEAD /.test(this.pending[0]?.startLine ?? ''), budget);
  }

  write(data: Buffer, missing: number, tsNs: bigint): void {
    this.lastNs = tsNs;
    this.requests.push(data, missing, tsNs);
  }

  read(data: Buffer, missing: number, tsNs: bigint): void {
    this.lastNs = tsNs;
    // the server answering means the request is over, even if a capture gap hid its end
    if (this.requests.inMessage && !this.responses.inMessage) this.requests.end();
    this.responses.push(data, missing, tsNs);
  }

  /** The session ended or went idle: completes what is being read and reports unanswered requests. */
  end(): void {
    this.requests.end();
    this.responses.end();
    for (const request of this.pending.splice(0)) this.handOn({ request, response: null });
  }

  private answer(response: HttpMessage): void {
    const request = this.pending.shift();
    if (request) {
      this.handOn({ request, response });
      return;
    }
    this.budget.used -= response.body.length;
    this.onOrphan(response);
  }

  /** The exchange leaves the connection: its body bytes go back to the budget, whatever the handler does. */
  private handOn(e: HttpExchange): void {
    this.budget.used -= e.request.body.length + (e.response?.body.length ?? 0);
    this.onExchange(e);
  }
}

/** What routing a TLS record needs: its process and `SSL *`, and its TCP connection when the kernel found it. */
export interface TlsRecordRoute {
  pid: number;
  ssl: bigint;
  /** null when the kernel could not tell (the record is still routed, by its SSL *) */
  socket: SocketTuple | null;
  /** the socket cookie: unique per socket until reboot; null with no tuple */
  cookie: bigint | null;
}

class Stream {
  socket: SocketTuple | null = null;
  readonly conn: HttpConnection;

  constructor(public key: string, public sslKey: string, open: (socket: () => SocketTuple | null) => HttpConnection) {
    this.conn = open(() => this.socket);
  }
}

/**
 * The TLS records of a host, reassembled per TCP connection. A record with a
 * tuple goes to its socket (keyed by cookie); one without goes to the
 * connection its process's `SSL *` last carried, or, never having had one, to
 * a stream of that `SSL *` alone, which takes the tuple when a later record
 * brings it. When an `SSL *` shows up on another socket (freed and reused for
 * a new connection), the old connection is ended first, so two connections
 * are never parsed as one.
 */
export class TlsStreams<R extends TlsRecordRoute = TlsRecordRoute> {
  private readonly streams = new Map<string, Stream>();
  /** `pid:ssl` -> the key of the stream that SSL * last carried */
  private readonly bySsl = new Map<string, string>();

  constructor(
    /** a new connection's reassembly, given its first record; `socket()` is what is known of its tuple when an exchange completes */
    private readonly open: (first: R, socket: () => SocketTuple | null) => HttpConnection,
  ) {}

  /** Connections being reassembled. */
  get size(): number {
    return this.streams.size;
  }

  /** The reassembly a record belongs to, opened on its first record. */
  route(r: R): HttpConnection {
    const sslKey = `${r.pid}:${r.ssl}`;
    const known = this.bySsl.get(sslKey);
    const key = r.socket ? `sock:${r.cookie ? r.cookie : tupleKey(r.socket)}` : known ?? `ssl:${sslKey}`;
    let s = this.streams.get(key);
    if (known !== undefined && known !== key) {
      const old = this.streams.get(known);
      if (old && old.socket === null && !s) {
        // the SSL *'s first records had no tuple: this is the same connection, now identified
        this.streams.delete(known);
        old.key = key;
        this.streams.set(key, old);
        s = old;
      } else if (old) {
        this.close(old);
      }
    }
    if (!s) {
      s = new Stream(key, sslKey, (socket) => this.open(r, socket));
      this.streams.set(key, s);
    }
    if (r.socket && !s.socket) s.socket = r.socket;
    s.sslKey = sslKey;
    this.bySsl.set(sslKey, key);
    return s.conn;
  }

  /** Ends connections with no record for `idleNs` (close-delimited responses complete then). */
  sweep(nowNs: bigint, idleNs: bigint): void {
    for (const s of [...this.streams.values()]) if (nowNs - s.conn.lastNs >= idleNs) this.close(s);
  }

  /** Ends every connection (shutdown). */
  end(): void {
    for (const s of [...this.streams.values()]) this.close(s);
  }

  private close(s: Stream): void {
    this.streams.delete(s.key);
    if (this.bySsl.get(s.sslKey) === s.key) this.bySsl.delete(s.sslKey);
    s.conn.end();
  }
}

const tupleKey = (t: SocketTuple): string => `${t.local.address}:${t.local.port}-${t.remote.address}:${t.remote.port}`;
