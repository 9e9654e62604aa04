import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpfError, BpfErrorCode } from './errors.ts';
import { EventStream } from './event-stream.ts';
import {
  decodeEvent, decodeLpmKey, decodeQuarantine, encodeCgroupId, encodeLpmKey, encodeQuarantine, encodeRedirectTarget, formatCidr, LAYOUTS, parseCidr,
  type CounterName, type Endpoint, type QuarantineEntry, type RedirectOrigin, type RedirectTarget,
} from './layout.ts';
import { mapKeys, mapOp, readCounters } from './maps.ts';
import { objectPath, type NativeBinding } from './native.ts';
import { lookupRedirectOrigin } from './redirect.ts';

const MAPS = ['quarantine', 'providers_v4', 'providers_v6', 'counters', 'events', 'redirect', 'redirect_target', 'redirect_pending', 'redirect_origin'] as const;
type MapName = (typeof MAPS)[number];
const PROGRAMS = ['higgs_connect4', 'higgs_connect6', 'higgs_egress', 'higgs_redirect_sockops'] as const;

const BPF_ANY = 0;

/**
 * Namespace quarantine in the kernel (src/quarantine.bpf.c): connect4/6 and
 * cgroup_skb/egress at the cgroup v2 root. Programs, links and maps are pinned
 * under `<pinDir>/quarantine/`, so a quarantine outlives the process that
 * ordered it; the next process adopts the pins instead of reloading.
 */
export interface Quarantine {
  /** True when this handle took over pinned programs instead of loading them. */
  readonly adopted: boolean;
  /** Refuse this cgroup's connects to provider addresses and drop its packets to them. */
  quarantine(cgroupId: bigint): void;
  /** Lift it; false when the cgroup was not quarantined. */
  release(cgroupId: bigint): boolean;
  get(cgroupId: bigint): QuarantineEntry | null;
  list(): QuarantineEntry[];
  /** Add an AI-provider prefix (`104.18.0.0/16`, `2606:4700::/32`, or one address). */
  addProvider(cidr: string): void;
  removeProvider(cidr: string): boolean;
  listProviders(): string[];
  /** Per-CPU counters summed: refused connects, dropped packets, ring-buffer overflows. */
  counters(): Record<CounterName, bigint>;
  /** `connect_denied` events as they happen (one stream per call; close it when done). */
  events(): EventStream;
  /** Reload the programs with the pinned maps kept as they are (an upgrade). */
  reload(): void;
  /** Detach the programs and remove every pin: nothing stays in force. */
  unload(): void;
  /** Close this process's fds; the pinned quarantine stays in force. */
  close(): void;
}

/**
 * Transparent redirect, in the same connect4/6 programs: connections from a
 * redirected cgroup (an enforce-labelled workload) to a provider prefix go to
 * the node proxy instead. A quarantine wins over a redirect.
 */
export interface Redirect {
  /** Set (or with null, disable) where redirected connections go. */
  setTarget(target: RedirectTarget | null): void;
  redirect(cgroupId: bigint): void;
  /** False when the cgroup was not redirected. */
  unredirect(cgroupId: bigint): boolean;
  list(): bigint[];
  /** Where the redirected connection whose client end (the proxy's peer) is `client` was going; null when unknown. */
  origin(client: Endpoint): RedirectOrigin | null;
}

export interface QuarantineOptions {
  pinDir: string;
  cgroupRoot: string;
}

function wrap<T>(code: BpfErrorCode, what: string, op: () => T): T {
  try {
    return op();
  } catch (err) {
    throw new BpfError(code, `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function loadAndAttach(native: NativeBinding, dir: string, cgroupRoot: string): void {
  const mapPin = (m: MapName) => join(dir, m);
  const obj = wrap(BpfErrorCode.LOAD_FAILED, 'open quarantine.bpf.o', () => native.openObject(objectPath('quarantine')));
  try {
    for (const m of MAPS) {
      if (existsSync(mapPin(m))) wrap(BpfErrorCode.LOAD_FAILED, `reuse pinned ${m}`, () => native.reuseMap(obj, m, mapPin(m)));
    }
    wrap(BpfErrorCode.LOAD_FAILED, 'load quarantine.bpf.o', () => native.loadObject(obj));
    for (const { name, fd } of native.objectMaps(obj)) {
      const m = MAPS.find((x) => x === name);
      if (m && !existsSync(mapPin(m))) wrap(BpfErrorCode.ATTACH_FAILED, `pin ${m}`, () => native.objPin(fd, mapPin(m)));
    }
    // attach the new programs before detaching the old ones, so enforcement has no gap
    for (const prog of PROGRAMS) {
      const link = wrap(BpfErrorCode.ATTACH_FAILED, `attach ${prog} to ${cgroupRoot}`, () => native.attach(obj, prog, cgroupRoot));
      const pin = join(dir, `link_${prog}`);
      try {
        if (existsSync(pin)) wrap(BpfErrorCode.ATTACH_FAILED, `detach old ${prog}`, () => native.detachPinnedLink(pin));
        wrap(BpfErrorCode.ATTACH_FAILED, `pin ${prog}`, () => native.pinLink(link, pin));
      } finally {
        native.destroyLink(link); // the pin now holds the link
      }
    }
  } finally {
    native.closeObject(obj);
  }
}

/** Loads (or adopts) the connect programs: quarantine and redirect. Needs root, bpffs and cgroup v2. */
export function openConnectPrograms(native: NativeBinding, opts: QuarantineOptions): { quarantine: Quarantine; redirect: Redirect } {
  const dir = join(opts.pinDir, 'quarantine');
  mkdirSync(dir, { recursive: true });
  const pinned = (name: string) => existsSync(join(dir, name));
  const adopted = MAPS.every(pinned) && PROGRAMS.every((p) => pinned(`link_${p}`));
  if (!adopted) loadAndAttach(native, dir, opts.cgroupRoot);

  let fds: Record<MapName, number> | null = Object.fromEntries(
    MAPS.map((m) => [m, wrap(BpfErrorCode.LOAD_FAILED, `open pinned ${m}`, () => native.objGet(join(dir, m)))]),
  ) as Record<MapName, number>;
  const streams = new Set<EventStream>();
  const fd = (m: MapName): number => {
    if (!fds) throw new BpfError(BpfErrorCode.CLOSED, 'quarantine handle is closed');
    return fds[m];
  };
  const providerMap = (family: 4 | 6): MapName => (family === 4 ? 'providers_v4' : 'providers_v6');
  const valueSize = LAYOUTS.higgs_quarantine.size;

  const handle: Quarantine = {
    adopted,
    quarantine(cgroupId) {
      const key = encodeCgroupId(cgroupId);
      // keep the original order time and denied count when re-ordered
      if (native.mapLookup(fd('quarantine'), key, valueSize)) return;
      mapOp('quarantine', () => native.mapUpdate(fd('quarantine'), key, encodeQuarantine(process.hrtime.bigint()), BPF_ANY));
    },
    release: (cgroupId) => mapOp('release', () => native.mapDelete(fd('quarantine'), encodeCgroupId(cgroupId))),
    get(cgroupId) {
      const key = encodeCgroupId(cgroupId);
      const value = mapOp('quarantine lookup', () => native.mapLookup(fd('quarantine'), key, valueSize));
      return value ? decodeQuarantine(key, value) : null;
    },
    list() {
      return mapKeys(native, fd('quarantine'), 8).flatMap((key) => {
        const value = native.mapLookup(fd('quarantine'), key, valueSize);
        return value ? [decodeQuarantine(key, value)] : [];
      });
    },
    addProvider(text) {
      const cidr = parseCidr(text);
      mapOp('add provider', () => native.mapUpdate(fd(providerMap(cidr.family)), encodeLpmKey(cidr), Buffer.from([1, 0, 0, 0]), BPF_ANY));
    },
    removeProvider(text) {
      const cidr = parseCidr(text);
      return mapOp('remove provider', () => native.mapDelete(fd(providerMap(cidr.family)), encodeLpmKey(cidr)));
    },
    listProviders() {
      return [
        ...mapKeys(native, fd('providers_v4'), LAYOUTS.higgs_lpm_v4.size),
        ...mapKeys(native, fd('providers_v6'), LAYOUTS.higgs_lpm_v6.size),
      ].map((k) => formatCidr(decodeLpmKey(k)));
    },
    counters: () => readCounters(native, fd('counters')),
    events() {
      const stream = new EventStream(native, fd('events'), decodeEvent);
      streams.add(stream);
      return stream;
    },
    reload() {
      fd('quarantine');
      loadAndAttach(native, dir, opts.cgroupRoot);
    },
    unload() {
      fd('quarantine');
      for (const p of PROGRAMS) {
        const pin = join(dir, `link_${p}`);
        if (existsSync(pin)) wrap(BpfErrorCode.ATTACH_FAILED, `detach ${p}`, () => native.detachPinnedLink(pin));
      }
      handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
    close() {
      if (!fds) return;
      for (const s of streams) s.close();
      for (const m of MAPS) native.closeFd(fds[m]);
      fds = null;
    },
  };
  const redirect: Redirect = {
    setTarget: (target) => mapOp('redirect target', () => native.mapUpdate(fd('redirect_target'), Buffer.alloc(4), encodeRedirectTarget(target), BPF_ANY)),
    redirect: (cgroupId) => mapOp('redirect', () => native.mapUpdate(fd('redirect'), encodeCgroupId(cgroupId), Buffer.from([1, 0, 0, 0]), BPF_ANY)),
    unredirect: (cgroupId) => mapOp('unredirect', () => native.mapDelete(fd('redirect'), encodeCgroupId(cgroupId))),
    list: () => mapKeys(native, fd('redirect'), 8).map((k) => k.readBigUInt64LE(0)),
    origin: (client) => lookupRedirectOrigin(native, fd('redirect_origin'), client),
  };
  return { quarantine: handle, redirect };
}
