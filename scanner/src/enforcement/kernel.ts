import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { availability, cgroupIdOf, loadPrograms, type HiggsPrograms, type SessionKill } from '@higgs/bpf';
import type { KernelEnforcement as KernelEnforcementEvent, KernelOrder } from '@higgs/schema';
import type { Logger } from '../logger.ts';

/** A workload whose cgroup v2 directory is known: the kernel can act on it. */
export interface CgroupWorkload {
  namespace: string;
  app: string;
  cgroup: string;
}

export interface KernelEnforcementOptions {
  /** Workloads with a cgroup, e.g. from the workloads file's `cgroup` field. */
  workloads: () => readonly CgroupWorkload[];
  /** Namespaces the current policy quarantines. */
  quarantinedNamespaces: () => readonly string[];
  /** AI-provider prefixes (CIDRs or addresses) the quarantine applies to. */
  providers: readonly string[];
  /** Who ordered what, from the current policy: carried into the enforcement reports. */
  orders?: () => readonly KernelOrder[];
  /** Where enforcement reports go (the uploader): the first refused connect of each quarantined workload. */
  report?: (event: KernelEnforcementEvent) => void;
  scannerId?: string;
  logger: Logger;
  /** bpffs pin directory (default @higgs/bpf's /sys/fs/bpf/higgs): a restarted scanner adopts it. */
  pinDir?: string;
  /** How often to reconcile policy and workloads with the kernel maps (default 50 ms). */
  syncIntervalMs?: number;
}

/** What one reconciliation changed in the kernel. */
export interface SyncResult {
  quarantined: { namespace: string; app: string; cgroupId: bigint }[];
  released: bigint[];
}

/**
 * The kernel side of namespace quarantine: keeps the pinned quarantine map
 * equal to "every known cgroup of a quarantined namespace". Where the kernel
 * primitives are unavailable it says so once, with the reasons, and does
 * nothing (the proxy still refuses those namespaces' calls).
 */
export interface KernelEnforcement {
  readonly available: boolean;
  /** Why the kernel primitives (or some of them) are unavailable. */
  readonly reasons: readonly string[];
  /** Reconcile now (also runs every `syncIntervalMs`). */
  sync(): SyncResult;
  /**
   * Adds the addresses a provider hostname resolves to (or the address itself)
   * to the provider map; resolves in the background, returns what was added.
   */
  addProviderHost(host: string): Promise<string[]>;
  /** The session-kill iterator, or null where the kernel cannot run it. */
  sessions(): SessionKill | null;
  close(): void;
}

export function startKernelEnforcement(opts: KernelEnforcementOptions): KernelEnforcement {
  const avail = availability();
  if (!avail.available) {
    opts.logger.warn({ reasons: avail.reasons }, 'kernel primitives unavailable; running proxy-only');
    return disabled(avail.reasons);
  }
  let bpf: HiggsPrograms | null;
  try {
    bpf = loadPrograms({ pinDir: opts.pinDir, flows: false });
  } catch (err) {
    const reasons = [err instanceof Error ? err.message.split('\n')[0]! : String(err)];
    opts.logger.warn({ err, reasons }, 'kernel primitives failed to load; running proxy-only');
    return disabled(reasons);
  }
  const q = bpf.quarantine;
  if (bpf.unavailable.length > 0) opts.logger.warn({ reasons: bpf.unavailable }, 'some kernel primitives unavailable');
  for (const cidr of opts.providers) q.addProvider(cidr);
  opts.logger.info({ adopted: q.adopted, providers: opts.providers.length, quarantined: q.list().length }, 'kernel enforcement ready');

  const sync = (): SyncResult => {
    const result: SyncResult = { quarantined: [], released: [] };
    if (!bpf) return result;
    const namespaces = new Set(opts.quarantinedNamespaces());
    const wanted = new Map<bigint, CgroupWorkload>();
    for (const w of opts.workloads()) {
      if (!namespaces.has(w.namespace)) continue;
      try {
        wanted.set(cgroupIdOf(w.cgroup), w);
      } catch (err) {
        opts.logger.warn({ err, cgroup: w.cgroup, namespace: w.namespace }, 'workload cgroup not found; not quarantined in the kernel');
      }
    }
    const present = new Set(q.list().map((e) => e.cgroupId));
    for (const [cgroupId, w] of wanted) {
      if (present.has(cgroupId)) continue;
      q.quarantine(cgroupId);
      result.quarantined.push({ namespace: w.namespace, app: w.app, cgroupId });
      opts.logger.info({ namespace: w.namespace, app: w.app, cgroupId: String(cgroupId) }, 'kernel quarantine applied');
    }
    for (const cgroupId of present) {
      if (wanted.has(cgroupId)) continue;
      q.release(cgroupId);
      result.released.push(cgroupId);
      opts.logger.info({ cgroupId: String(cgroupId) }, 'kernel quarantine released');
    }
    reportFirstRefusals(wanted);
    return result;
  };

  // The first refused connect of each quarantine (a cgroup's map entry, by its
  // order time) is reported once; connect4/6 count refusals in the entry itself.
  const reported = new Set<string>();
  const reportFirstRefusals = (wanted: Map<bigint, CgroupWorkload>): void => {
    if (!opts.report) return;
    const live = new Set<string>();
    for (const entry of q.list()) {
      const key = `${entry.cgroupId}@${entry.sinceNs}`;
      live.add(key);
      const w = wanted.get(entry.cgroupId);
      if (!w || entry.denied === 0n || reported.has(key)) continue;
      reported.add(key);
      const orderedBy = opts.orders?.().find((o) => o.primitive === 'quarantine' && o.target === w.namespace)?.orderedBy ?? null;
      // from the map update to this reconciliation seeing the refusal: an upper bound of order -> refusal
      const latencyUs = Number(process.hrtime.bigint() - entry.sinceNs) / 1000;
      opts.logger.info({ namespace: w.namespace, app: w.app, refused: String(entry.denied), orderedBy }, 'quarantined workload refused a provider connection');
      opts.report({
        id: `ke_${randomUUID()}`, scannerId: opts.scannerId ?? 'scanner', ts: new Date().toISOString(), primitive: 'quarantine',
        target: w.namespace.slice(0, 253), count: Number(entry.denied), latencyUs, orderedBy: orderedBy?.slice(0, 256) ?? null,
        source: { ip: '', namespace: w.namespace, app: w.app, mode: null },
      });
    }
    for (const key of reported) if (!live.has(key)) reported.delete(key);
  };

  const providerHosts = new Map<string, string[]>();
  const addProviderHost = async (host: string): Promise<string[]> => {
    const bare = host.replace(/^\[|\]$/g, '');
    const addresses = isIP(bare) !== 0 ? [bare] : (await lookup(bare, { all: true })).map((a) => a.address);
    const added: string[] = [];
    for (const address of addresses) {
      if (!bpf || providerHosts.get(bare)?.includes(address)) continue;
      q.addProvider(address);
      added.push(address);
    }
    providerHosts.set(bare, [...new Set([...(providerHosts.get(bare) ?? []), ...addresses])]);
    if (added.length > 0) opts.logger.info({ host: bare, addresses: added }, 'provider addresses added to the kernel map');
    return added;
  };

  const timer = setInterval(() => {
    try {
      sync();
    } catch (err) {
      opts.logger.error({ err }, 'kernel enforcement sync failed');
    }
  }, opts.syncIntervalMs ?? 50);
  timer.unref();
  return {
    available: true,
    reasons: bpf.unavailable,
    sync,
    addProviderHost,
    sessions: () => bpf?.sessions ?? null,
    close() {
      clearInterval(timer);
      bpf?.close(); // the pinned quarantine stays in force for the next scanner
      bpf = null;
    },
  };
}

function disabled(reasons: string[]): KernelEnforcement {
  return {
    available: false, reasons, sync: () => ({ quarantined: [], released: [] }), addProviderHost: async () => [], sessions: () => null, close: () => {},
  };
}
