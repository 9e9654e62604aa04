import { existsSync, realpathSync, statSync } from 'node:fs';
import { BpfError, BpfErrorCode } from './errors.ts';
import { EventStream } from './event-stream.ts';
import { decodeTlsEvent, type CounterName, type TlsEvent } from './layout.ts';
import { readCounters } from './maps.ts';
import { objectPath, type LinkHandle, type NativeBinding, type ObjectHandle } from './native.ts';

/** A binary the TLS uprobes were attached to, and which OpenSSL functions took. */
export interface TlsTarget {
  path: string;
  attached: string[];
  /** Why nothing could be attached here, or null. */
  error: string | null;
}

/**
 * TLS observation (src/tls.bpf.c): uprobes on OpenSSL's SSL_write(_ex) and
 * SSL_read(_ex) in every process that maps one of `targets`, delivering
 * plaintext as `TlsEvent`s. Not pinned: it observes for its consumer.
 */
export interface TlsObservation {
  readonly events: EventStream<TlsEvent>;
  readonly targets: TlsTarget[];
  counters(): Record<CounterName, bigint>;
  close(): void;
}

const LIBSSL_CANDIDATES = ['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib/aarch64-linux-gnu/libssl.so.3', '/usr/lib64/libssl.so.3', '/usr/lib/libssl.so.3'];

/** The system libssl.so.3 and this Node binary (OpenSSL linked statically), one path per file. */
export function defaultTlsTargets(): string[] {
  const seen = new Set<bigint>();
  const out: string[] = [];
  for (const p of [...LIBSSL_CANDIDATES, process.execPath]) {
    if (!existsSync(p)) continue;
    const ino = statSync(p, { bigint: true }).ino; // uprobes are per inode: attach each file once
    if (seen.has(ino)) continue;
    seen.add(ino);
    out.push(realpathSync(p));
  }
  return out;
}

// function → [program, retprobe]
const PROBES: [string, string, boolean][] = [
  ['SSL_write', 'higgs_ssl_write', false],
  ['SSL_write_ex', 'higgs_ssl_write_ex', false],
  ['SSL_read', 'higgs_ssl_read', false],
  ['SSL_read', 'higgs_ssl_read_ret', true],
  ['SSL_read_ex', 'higgs_ssl_read_ex', false],
  ['SSL_read_ex', 'higgs_ssl_read_ret', true],
];

export function openTlsObservation(native: NativeBinding, targets: string[] = defaultTlsTargets()): TlsObservation {
  let obj: ObjectHandle | null = null;
  try {
    obj = native.openObject(objectPath('tls'));
    native.loadObject(obj);
  } catch (err) {
    if (obj) native.closeObject(obj);
    throw new BpfError(BpfErrorCode.LOAD_FAILED, `load tls.bpf.o: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const o = obj;
  const maps = Object.fromEntries(native.objectMaps(o).map((m) => [m.name, m.fd]));
  const links: LinkHandle[] = [];
  const report: TlsTarget[] = targets.map((path) => {
    const attached = new Set<string>();
    const errors: string[] = [];
    for (const [func, prog, ret] of PROBES) {
      try {
        links.push(native.attachUprobe(o, prog, path, func, ret));
        attached.add(func);
      } catch (err) {
        errors.push(`${func}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }
    return { path, attached: [...attached], error: attached.size === 0 ? errors.join('; ') || 'no OpenSSL functions' : null };
  });
  const events = new EventStream(native, maps.tls_events!, decodeTlsEvent);
  let closed = false;
  return {
    events,
    targets: report,
    counters() {
      if (closed) throw new BpfError(BpfErrorCode.CLOSED, 'TLS observation is closed');
      return readCounters(native, maps.counters!);
    },
    close() {
      if (closed) return;
      closed = true;
      events.close();
      for (const l of links) native.destroyLink(l);
      native.closeObject(o);
    },
  };
}
