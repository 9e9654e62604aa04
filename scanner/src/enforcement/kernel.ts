import { availability, cgroupIdOf, loadPrograms, type HiggsPrograms } from '@higgs/bpf';
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
  close(): void;
}

export function startKernelEnforcement(opts: KernelEnforcementOptions): KernelEnforcement {
  const avail = availability();
  if (!avail.available) {
    opts.logger.warn({ reasons: avail.reasons }, 'kernel primitives unavailable; running proxy-only');
    return { available: false, reasons: avail.reasons, sync: () => ({ quarantined: [], released: [] }), close: () => {} };
  }
  let bpf: HiggsPrograms | null;
  try {
    bpf = loadPrograms({ pinDir: opts.pinDir, flows: false });
  } catch (err) {
    const reasons = [err instanceof Error ? err.message.split('\n')[0]! : String(err)];
    opts.logger.warn({ err, reasons }, 'kernel primitives failed to load; running proxy-only');
    return { available: false, reasons, sync: () => ({ quarantined: [], released: [] }), close: () => {} };
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
    return result;
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
    close() {
      clearInterval(timer);
      bpf?.close(); // the pinned quarantine stays in force for the next scanner
      bpf = null;
    },
  };
}
