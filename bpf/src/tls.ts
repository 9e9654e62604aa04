import { existsSync, realpathSync, statSync } from 'node:fs';
import { BpfError, BpfErrorCode } from './errors.ts';
import { EventStream } from './event-stream.ts';
import { decodeTlsEvent, type CounterName, type TlsEvent } from './layout.ts';
import { mapKeys, mapOp, readCounters } from './maps.ts';
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
 * plaintext as `TlsEvent`s, each with the TCP connection it travelled on
 * (`socket`, from the sock_send_length / sock_recv_length tracepoints; null,
 * and counted in `tupleMissing()`, when it could not be found). Not pinned:
 * it observes for its consumer.
 */
export interface TlsObservation {
  readonly events: EventStream<TlsEvent>;
  /** Every binary probed so far: the ones given at open, then each `attach` that probed a new file. */
  readonly targets: TlsTarget[];
  /**
   * Probes one more binary: a workload's own libssl (a container image's, as
   * `/proc/PID/root/usr/lib/.../libssl.so.3`) or a binary with OpenSSL linked
   * in. Uprobes are per file: a file already probed, under any path, is not
   * probed again and gives null.
   */
  attach(path: string): TlsTarget | null;
  counters(): Record<CounterName, bigint>;
  /**
   * Restricts capture to processes in these cgroup v2 ids (checked in the
   * kernel before any plaintext is copied), or lifts the restriction with
   * null (every process using the probed binaries; the default). The map is
   * made equal to the set: ids not in it are removed.
   */
  setCgroups(ids: Iterable<bigint> | null): void;
  /** The cgroup ids capture is restricted to, or null when unrestricted. */
  cgroups(): bigint[] | null;
  /** SSL calls not captured because the caller's cgroup was not allowed (summed over CPUs). */
  filtered(): bigint;
  /** Records delivered with no socket tuple (`socket: null`): neither their own socket call, their SSL *'s last tuple nor the thread's last recv was seen. */
  tupleMissing(): bigint;
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

// function → [program, retprobe]: entry probes note the arguments, one return probe records what moved
const PROBES: [string, string, boolean][] = [
  ['SSL_write', 'higgs_ssl_write', false],
  ['SSL_write', 'higgs_ssl_ret', true],
  ['SSL_write_ex', 'higgs_ssl_write_ex', false],
  ['SSL_write_ex', 'higgs_ssl_ret', true],
  ['SSL_read', 'higgs_ssl_read', false],
  ['SSL_read', 'higgs_ssl_ret', true],
  ['SSL_read_ex', 'higgs_ssl_read_ex', false],
  ['SSL_read_ex', 'higgs_ssl_ret', true],
  ['SSL_free', 'higgs_ssl_free', false],
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
  // first the tracepoints (host-wide; they act only on threads that made a probed SSL call): a write
  // record may wait for its send, so they must be there before the first uprobe fires
  for (const prog of ['higgs_sock_send', 'higgs_sock_recv', 'higgs_thread_exit']) {
    try {
      links.push(native.attach(o, prog, null));
    } catch (err) {
      for (const l of links) native.destroyLink(l);
      native.closeObject(o);
      throw new BpfError(BpfErrorCode.ATTACH_FAILED, `attach ${prog}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  // the files probed (or tried), by device and inode: a uprobe lives on the file, whatever the path to it
  const probed = new Set<string>();
  const fileOf = (path: string): string | null => {
    try {
      const st = statSync(path, { bigint: true });
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  };
  const probe = (path: string, file = fileOf(path)): TlsTarget => {
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
    if (file) probed.add(file);
    return { path, attached: [...attached], error: attached.size === 0 ? errors.join('; ') || 'no OpenSSL functions' : null };
  };
  const report: TlsTarget[] = targets.map((path) => probe(path));
  const events = new EventStream(native, maps.tls_events!, decodeTlsEvent);
  let closed = false;
  const zero = Buffer.alloc(4);
  const u64 = (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  };
  const perCpuSum = (map: 'tls_filtered' | 'tls_tuple_missing'): bigint => {
    const cpus = native.possibleCpus();
    const values = mapOp(`${map} lookup`, () => native.mapLookup(maps[map]!, zero, 8 * cpus));
    let sum = 0n;
    for (let cpu = 0; values && cpu < cpus; cpu++) sum += values.readBigUInt64LE(cpu * 8);
    return sum;
  };
  const live = (): void => {
    if (closed) throw new BpfError(BpfErrorCode.CLOSED, 'TLS observation is closed');
  };
  return {
    events,
    targets: report,
    attach(path) {
      live();
      const file = fileOf(path);
      if (file === null) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `no such binary: ${path}`);
      if (probed.has(file)) return null;
      const target = probe(path, file);
      report.push(target);
      return target;
    },
    counters() {
      if (closed) throw new BpfError(BpfErrorCode.CLOSED, 'TLS observation is closed');
      return readCounters(native, maps.counters!);
    },
    setCgroups(ids) {
      live();
      const fd = maps.tls_cgroups!;
      if (ids === null) {
        mapOp('tls_config update', () => native.mapUpdate(maps.tls_config!, zero, Buffer.alloc(4), 0));
        for (const k of mapKeys(native, fd, 8)) mapOp('tls_cgroups delete', () => native.mapDelete(fd, k));
        return;
      }
      const wanted = new Set([...ids].map((id) => {
        if (typeof id !== 'bigint' || id <= 0n) throw new BpfError(BpfErrorCode.INVALID_ARGUMENT, `not a cgroup id: ${String(id)}`);
        return id;
      }));
      // add first, then switch the filter on, then remove: a wanted cgroup is never missed meanwhile
      for (const id of wanted) mapOp('tls_cgroups update', () => native.mapUpdate(fd, u64(id), Buffer.from([1]), 0));
      const on = Buffer.alloc(4);
      on.writeUInt32LE(1);
      mapOp('tls_config update', () => native.mapUpdate(maps.tls_config!, zero, on, 0));
      for (const k of mapKeys(native, fd, 8)) if (!wanted.has(k.readBigUInt64LE())) mapOp('tls_cgroups delete', () => native.mapDelete(fd, k));
    },
    cgroups() {
      live();
      const on = mapOp('tls_config lookup', () => native.mapLookup(maps.tls_config!, zero, 4));
      if (!on || on.readUInt32LE() === 0) return null;
      return mapKeys(native, maps.tls_cgroups!, 8).map((k) => k.readBigUInt64LE());
    },
    filtered() {
      live();
      return perCpuSum('tls_filtered');
    },
    tupleMissing() {
      live();
      return perCpuSum('tls_tuple_missing');
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
