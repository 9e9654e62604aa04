import { isIPv4, isIPv6 } from 'node:net';
import { BpfError, BpfErrorCode } from './errors.ts';

/**
 * Byte layouts of the structs in src/higgs.h, as the decoders below read them.
 * layout.int.test.ts checks every size and offset against the compiled
 * object's BTF, so C and TypeScript cannot drift apart silently.
 */
export const LAYOUTS = {
  higgs_event: {
    size: 88,
    offsets: { ts_ns: 0, cgroup_id: 8, kind: 16, pid: 20, tid: 24, family: 28, sport: 30, dport: 32, oldstate: 34, newstate: 35, saddr: 36, daddr: 52, comm: 68 },
  },
  higgs_quarantine: { size: 16, offsets: { since_ns: 0, denied: 8 } },
  higgs_lpm_v4: { size: 8, offsets: { prefixlen: 0, addr: 4 } },
  higgs_lpm_v6: { size: 20, offsets: { prefixlen: 0, addr: 4 } },
  higgs_redirect_target: { size: 32, offsets: { addr4: 0, addr6: 4, tls_port: 20, plain_port: 22, proxy_cgroup: 24 } },
  higgs_redirect_client: { size: 24, offsets: { family: 0, port: 2, pad: 4, addr: 8 } },
  higgs_redirect_origin: { size: 32, offsets: { family: 0, port: 2, pid: 4, addr: 8, cgroup_id: 24 } },
  higgs_tls_event: {
    size: 4208,
    offsets: { ts_ns: 0, cgroup_id: 8, ssl: 16, pid: 24, tid: 28, len: 32, captured: 36, direction: 40, tuple: 41, pad: 42, comm: 48, sock: 64, cookie: 104, data: 112 },
  },
  higgs_sock_key: { size: 40, offsets: { family: 0, lport: 2, rport: 4, pad: 6, laddr: 8, raddr: 24 } },
  higgs_kill_record: { size: 56, offsets: { key: 0, err: 40, state: 44, cookie: 48 } },
} as const;

/** Indexes of the per-CPU `counters` map (enum higgs_counter). */
export const COUNTERS = ['ringbuf_full', 'connect_denied', 'egress_dropped', 'flow_events', 'helper_failed', 'sockets_destroyed', 'connect_redirected'] as const;
export type CounterName = (typeof COUNTERS)[number];

const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'] as const;
export type TcpState = Exclude<(typeof TCP_STATES)[number], ''>;

const AF_INET = 2;
const AF_INET6 = 10;

/** One ring-buffer record: a TCP state change, or a connect refused by quarantine. */
export interface HiggsEvent {
  kind: 'flow' | 'connect_denied';
  /** CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). */
  tsNs: bigint;
  cgroupId: bigint;
  pid: number;
  tid: number;
  comm: string;
  family: 4 | 6;
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  /** TCP states, for `flow` events only. */
  oldState: TcpState | null;
  newState: TcpState | null;
}

function formatAddress(bytes: Buffer, family: 4 | 6): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes.readUInt16BE(i));
  // RFC 5952: the longest run of two or more zero words becomes "::"
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  return best < 0 ? hex(words) : `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

export function tcpState(n: number): TcpState | null {
  const s = TCP_STATES[n];
  return s ? s : null;
}

/** Decodes one `struct higgs_event` record from the ring buffer. */
export function decodeEvent(buf: Buffer): HiggsEvent {
  const o = LAYOUTS.higgs_event.offsets;
  if (buf.length < LAYOUTS.higgs_event.size) {
    throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `event record of ${buf.length} bytes, expected ${LAYOUTS.higgs_event.size}`);
  }
  const family = buf.readUInt16LE(o.family) === AF_INET6 ? 6 : 4;
  const kind = buf.readUInt32LE(o.kind) === 2 ? 'connect_denied' : 'flow';
  const comm = buf.subarray(o.comm, o.comm + 16);
  const nul = comm.indexOf(0);
  return {
    kind,
    tsNs: buf.readBigUInt64LE(o.ts_ns),
    cgroupId: buf.readBigUInt64LE(o.cgroup_id),
    pid: buf.readUInt32LE(o.pid),
    tid: buf.readUInt32LE(o.tid),
    comm: comm.subarray(0, nul < 0 ? 16 : nul).toString('utf8'),
    family,
    saddr: formatAddress(buf.subarray(o.saddr, o.saddr + 16), family),
    daddr: formatAddress(buf.subarray(o.daddr, o.daddr + 16), family),
    sport: buf.readUInt16LE(o.sport),
    dport: buf.readUInt16LE(o.dport),
    oldState: kind === 'flow' ? tcpState(buf.readUInt8(o.oldstate)) : null,
    newState: kind === 'flow' ? tcpState(buf.readUInt8(o.newstate)) : null,
  };
}

function parseIPv6(text: string): Buffer {
  let head = text;
  const out = Buffer.alloc(16);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(head);
  if (v4) {
    parseIPv4(v4[1]!).copy(out, 12);
    head = head.slice(0, -v4[1]!.length) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, null];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const words = right === null ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  words.forEach((w, i) => {
    if (!(v4 && i >= 6)) out.writeUInt16BE(parseInt(w, 16), i * 2);
  });
  return out;
}

function parseIPv4(text: string): Buffer {
  return Buffer.from(text.split('.').map((p) => Number(p)));
}

/** A parsed CIDR: family, prefix length and the address bytes (network order). */
export interface Cidr {
  family: 4 | 6;
  prefixLength: number;
  address: Buffer;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a host prefix). */
export function parseCidr(text: string): Cidr {
  const [addr = '', len] = text.trim().split('/');
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : null;
  if (family === null) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `not an IP address or CIDR: ${text}`);
  const max = family === 4 ? 32 : 128;
  const prefixLength = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max || (len !== undefined && !/^\d+$/.test(len))) {
    throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `bad prefix length in ${text}`);
  }
  const address = family === 4 ? parseIPv4(addr) : parseIPv6(addr);
  // zero the host bits, as the kernel's trie compares only the prefix
  for (let bit = prefixLength; bit < max; bit++) address[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { family, prefixLength, address };
}

/** Formats a CIDR back to text (`127.0.9.0/24`). */
export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.family === 4 ? Buffer.concat([c.address, Buffer.alloc(12)]) : c.address, c.family)}/${c.prefixLength}`;
}

/** Encodes a CIDR as the key of `providers_v4` / `providers_v6`. */
export function encodeLpmKey(c: Cidr): Buffer {
  const key = Buffer.alloc(c.family === 4 ? LAYOUTS.higgs_lpm_v4.size : LAYOUTS.higgs_lpm_v6.size);
  key.writeUInt32LE(c.prefixLength, LAYOUTS.higgs_lpm_v4.offsets.prefixlen);
  c.address.copy(key, LAYOUTS.higgs_lpm_v4.offsets.addr);
  return key;
}

/** Decodes a `providers_v4` / `providers_v6` key. */
export function decodeLpmKey(key: Buffer): Cidr {
  const family = key.length === LAYOUTS.higgs_lpm_v4.size ? 4 : 6;
  return { family, prefixLength: key.readUInt32LE(0), address: Buffer.from(key.subarray(4)) };
}

/** A cgroup id as the 8-byte key of the quarantine map. */
export function encodeCgroupId(id: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(id);
  return b;
}

export interface QuarantineEntry {
  cgroupId: bigint;
  /** When the quarantine was ordered, CLOCK_MONOTONIC ns. */
  sinceNs: bigint;
  /** Connects the kernel has refused since. */
  denied: bigint;
}

export function encodeQuarantine(sinceNs: bigint): Buffer {
  const b = Buffer.alloc(LAYOUTS.higgs_quarantine.size);
  b.writeBigUInt64LE(sinceNs, LAYOUTS.higgs_quarantine.offsets.since_ns);
  return b;
}

export function decodeQuarantine(key: Buffer, value: Buffer): QuarantineEntry {
  return {
    cgroupId: key.readBigUInt64LE(0),
    sinceNs: value.readBigUInt64LE(LAYOUTS.higgs_quarantine.offsets.since_ns),
    denied: value.readBigUInt64LE(LAYOUTS.higgs_quarantine.offsets.denied),
  };
}

/** One end of a TCP connection. */
export interface Endpoint {
  address: string;
  port: number;
}

/** A TCP socket as its own side sees it: `local` is the socket's address, `remote` its peer. */
export interface SocketTuple {
  local: Endpoint;
  remote: Endpoint;
}

/** Encodes a socket tuple as the key of `kill_targets`; both ends must share a family. */
export function encodeSockKey(t: SocketTuple): Buffer {
  const l = parseCidr(t.local.address);
  const r = parseCidr(t.remote.address);
  if (l.family !== r.family || l.prefixLength !== (l.family === 4 ? 32 : 128) || r.prefixLength !== l.prefixLength) {
    throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `not a socket tuple: ${t.local.address} -> ${t.remote.address}`);
  }
  const o = LAYOUTS.higgs_sock_key.offsets;
  const key = Buffer.alloc(LAYOUTS.higgs_sock_key.size);
  key.writeUInt16LE(l.family === 4 ? AF_INET : AF_INET6, o.family);
  key.writeUInt16LE(t.local.port, o.lport);
  key.writeUInt16LE(t.remote.port, o.rport);
  l.address.copy(key, o.laddr);
  r.address.copy(key, o.raddr);
  return key;
}

export function decodeSockKey(key: Buffer): SocketTuple {
  const o = LAYOUTS.higgs_sock_key.offsets;
  const family = key.readUInt16LE(o.family) === AF_INET6 ? 6 : 4;
  return {
    local: { address: formatAddress(key.subarray(o.laddr, o.laddr + 16), family), port: key.readUInt16LE(o.lport) },
    remote: { address: formatAddress(key.subarray(o.raddr, o.raddr + 16), family), port: key.readUInt16LE(o.rport) },
  };
}

/** Where the kernel sends redirected connections: the node proxy. */
export interface RedirectTarget {
  /** Proxy IPv4 address. */
  address4: string;
  /** Proxy IPv6 address; without it IPv6 connections are not redirected. */
  address6?: string;
  /** Port for connections to provider port 443 (TLS, routed by SNI). */
  tlsPort: number;
  /** Port for connections to any other provider port (plain HTTP, routed by Host). */
  plainPort: number;
  /** The proxy's own cgroup: its upstream connections are never redirected. */
  proxyCgroupId: bigint;
}

export function encodeRedirectTarget(t: RedirectTarget | null): Buffer {
  const L = LAYOUTS.higgs_redirect_target;
  const b = Buffer.alloc(L.size);
  if (!t) return b; // tls_port 0: redirect disabled
  const v4 = parseCidr(t.address4);
  if (v4.family !== 4 || v4.prefixLength !== 32) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `not an IPv4 address: ${t.address4}`);
  v4.address.copy(b, L.offsets.addr4);
  if (t.address6) {
    const v6 = parseCidr(t.address6);
    if (v6.family !== 6 || v6.prefixLength !== 128) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `not an IPv6 address: ${t.address6}`);
    v6.address.copy(b, L.offsets.addr6);
  }
  for (const port of [t.tlsPort, t.plainPort]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `bad proxy port ${port}`);
  }
  b.writeUInt16LE(t.tlsPort, L.offsets.tls_port);
  b.writeUInt16LE(t.plainPort, L.offsets.plain_port);
  b.writeBigUInt64LE(t.proxyCgroupId, L.offsets.proxy_cgroup);
  return b;
}

/**
 * How the kernel found a TLS record's TCP connection (enum higgs_tls_tuple_source):
 * `socket` the send/recv that moved the call's bytes, on the same thread (exact);
 * `ssl` the tuple last seen for the same `SSL *` of the process;
 * `thread` the thread's last TCP recv before the SSL_read (stacks that read the socket themselves).
 */
export type TlsTupleSource = 'socket' | 'ssl' | 'thread';
const TUPLE_SOURCES: readonly (TlsTupleSource | null)[] = [null, 'socket', 'ssl', 'thread'];

/** Plaintext one SSL_write* or SSL_read* call carried, as the TLS uprobes saw it. */
export interface TlsEvent {
  tsNs: bigint;
  cgroupId: bigint;
  /** The connection's SSL * in its process: with pid, one id per TLS session. */
  ssl: bigint;
  pid: number;
  tid: number;
  comm: string;
  direction: 'write' | 'read';
  /** Bytes the call transferred; `data` holds the first 4096 of them. */
  len: number;
  data: Buffer;
  /**
   * The TCP connection the record travelled on, as the calling process sees
   * it (`local` is its own end), or null when the kernel could not tell
   * (counted: `TlsObservation.tupleMissing()`).
   */
  socket: SocketTuple | null;
  /** The socket's cookie (unique per socket until reboot), or null with no tuple. */
  cookie: bigint | null;
  /** How the tuple was found, or null with no tuple. */
  tupleSource: TlsTupleSource | null;
}

/** Decodes one `struct higgs_tls_event` record (header plus the captured bytes). */
export function decodeTlsEvent(buf: Buffer): TlsEvent {
  const o = LAYOUTS.higgs_tls_event.offsets;
  if (buf.length < o.data) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `TLS record of ${buf.length} bytes, shorter than its header`);
  const captured = buf.readUInt32LE(o.captured);
  const comm = buf.subarray(o.comm, o.comm + 16);
  const nul = comm.indexOf(0);
  const family = buf.readUInt16LE(o.sock + LAYOUTS.higgs_sock_key.offsets.family);
  // an unknown source byte or a family other than AF_INET/AF_INET6 is no tuple, never a made-up one
  const tupleSource = (family === AF_INET || family === AF_INET6 ? TUPLE_SOURCES[buf.readUInt8(o.tuple)] : null) ?? null;
  return {
    tsNs: buf.readBigUInt64LE(o.ts_ns),
    cgroupId: buf.readBigUInt64LE(o.cgroup_id),
    ssl: buf.readBigUInt64LE(o.ssl),
    pid: buf.readUInt32LE(o.pid),
    tid: buf.readUInt32LE(o.tid),
    comm: comm.subarray(0, nul < 0 ? 16 : nul).toString('utf8'),
    direction: buf.readUInt8(o.direction) === 1 ? 'read' : 'write',
    len: buf.readUInt32LE(o.len),
    data: Buffer.from(buf.subarray(o.data, o.data + Math.min(captured, buf.length - o.data))),
    socket: tupleSource ? decodeSockKey(buf.subarray(o.sock, o.sock + LAYOUTS.higgs_sock_key.size)) : null,
    cookie: tupleSource ? buf.readBigUInt64LE(o.cookie) : null,
    tupleSource,
  };
}

/** Where a redirected connection was going, as the connect hook saw it before rewriting it. */
export interface RedirectOrigin {
  /** The provider endpoint the workload dialled. */
  destination: Endpoint;
  /** The connecting workload's cgroup v2 id. */
  cgroupId: bigint;
  pid: number;
}

/** Encodes the client end of a redirected connection (the proxy's peer) as the key of `redirect_origin`. */
export function encodeRedirectClient(client: Endpoint): Buffer {
  const a = parseCidr(client.address.startsWith('::ffff:') && client.address.includes('.') ? client.address.slice(7) : client.address);
  if (a.prefixLength !== (a.family === 4 ? 32 : 128)) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `not an address: ${client.address}`);
  if (!Number.isInteger(client.port) || client.port < 0 || client.port > 65535) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `bad port ${client.port}`);
  const o = LAYOUTS.higgs_redirect_client.offsets;
  const key = Buffer.alloc(LAYOUTS.higgs_redirect_client.size);
  key.writeUInt16LE(a.family === 4 ? AF_INET : AF_INET6, o.family);
  key.writeUInt16LE(client.port, o.port);
  a.address.copy(key, o.addr);
  return key;
}

export function decodeRedirectOrigin(value: Buffer): RedirectOrigin {
  const o = LAYOUTS.higgs_redirect_origin.offsets;
  const family = value.readUInt16LE(o.family) === AF_INET6 ? 6 : 4;
  return {
    destination: { address: formatAddress(value.subarray(o.addr, o.addr + 16), family), port: value.readUInt16LE(o.port) },
    cgroupId: value.readBigUInt64LE(o.cgroup_id),
    pid: value.readUInt32LE(o.pid),
  };
}
