import { availability, cgroupIdOf, cgroupOfPid, loadPrograms, type Endpoint, type HiggsPrograms, type RedirectOrigin, type TlsEvent } from '@higgs/bpf';
import type { IngestEvent } from '@higgs/schema';
import type { Logger } from '../logger.ts';
import type { CompiledPolicy } from '../rules/index.ts';
import { ensureCgroup2, pidsOfCgroup } from '../workloads/cgroups.ts';
import type { Workload } from '../workloads/index.ts';
import { flowFromEvent, ProviderAddresses } from './flows.ts';
import { BodyBudget, DEFAULT_BODY_BUDGET_BYTES, HttpConnection, TlsStreams } from './http-reassembly.ts';
import { tlsBinariesOf } from './tls-binaries.ts';
import { llmCallEvent, tlsCall } from './tls-tap.ts';

export { ProviderAddresses } from './flows.ts';

/** Counters of the kernel observation, exposed in the scanner's stats: nothing is lost without a count. */
export interface KernelObservationStats {
  tlsEvents: number;
  /** request/response pairs reassembled from TLS plaintext */
  tlsExchanges: number;
  /** LlmCalls recorded from them (`tap: 'tls'`) */
  tlsCalls: number;
  /** of those, calls whose capture missed bytes: recorded, marked uninspected */
  tlsPartial: number;
  /** of those, calls on which a rule matched: recorded as alert decisions (the tap cannot block) */
  tlsAlerts: number;
  /** responses seen with no request (capture began mid-connection): counted, not recorded */
  tlsOrphans: number;
  /**
   * SSL calls not captured because the process is not in a labelled workload
   * cgroup (or is the scanner): refused in the kernel before any plaintext is
   * copied, plus any event that reached user space before the allow set did
   */
  tlsFiltered: number;
  /** TLS records the kernel delivered without their TCP connection (source ip then empty): counted there, never guessed */
  tlsTupleMissing: number;
  /** connect attempts to provider addresses recorded as NetworkFlows */
  flows: number;
  /** kernel ring-buffer reservations that failed (events lost in the kernel) */
  ringbufFull: number;
  /** events dropped in user space because this consumer fell behind */
  userDropped: number;
  /** connections the kernel redirected to the transparent listener */
  redirected: number;
}

export interface KernelObservationOptions {
  scannerId: string;
  hashSalt: string;
  identityHeader: string;
  record: (event: IngestEvent) => void;
  /** the workloads file: cgroup → workload, and modes for the redirect */
  workloads: { list(): readonly Workload[]; resolveCgroup(cgroupId: bigint): Workload | null };
  providers: ProviderAddresses;
  /** extra AI-provider CIDRs for the kernel's provider prefixes */
  providerCidrs?: readonly string[];
  /** TLS uprobes: true for the system libssl and node, or the binaries to probe */
  tls: boolean | string[];
  flows: boolean;
  /** keep enforce-labelled cgroups redirected to the transparent listener (set with setRedirectTarget) */
  redirect: boolean;
  logger: Logger;
  /** the compiled policy the proxy enforces: evaluated on every TLS-tap call, its matches recorded as alerts */
  policy?: () => CompiledPolicy | null;
  pinDir?: string;
  /** cgroup v2 directory the connect programs attach to (default: the hierarchy root) */
  cgroupRoot?: string;
  /** a TLS session with no event for this long is ended (close-delimited responses complete then); default 3000 */
  idleMs?: number;
  /** how often redirect labels are reconciled with the kernel map; default 100 */
  syncIntervalMs?: number;
}

/** The observation side of the kernel primitives; every method is safe when they are unavailable. */
export interface KernelObservation {
  readonly available: boolean;
  /** why some or all of it does not run here, stated once in the log too */
  readonly reasons: readonly string[];
  stats(): KernelObservationStats;
  /** Where the redirect sends enforce-labelled cgroups' provider connections (the transparent listener). */
  setRedirectTarget(target: { address4: string; tlsPort: number; plainPort: number }): void;
  /** The original destination of a redirected connection, by its client end (the listener's peer). */
  redirectOrigin(client: Endpoint): RedirectOrigin | null;
  /** Reconcile the redirect map with the workload labels now (also runs on a timer). */
  syncRedirects(): void;
  close(): Promise<void>;
}

/**
 * Starts flow tracing, TLS observation and the redirect bookkeeping. Where
 * the kernel, privileges or cgroup v2 are missing it logs why once and
 * returns an inert handle: the scanner runs proxy-only.
 */
export function startKernelObservation(opts: KernelObservationOptions): KernelObservation {
  const stats: KernelObservationStats = { tlsEvents: 0, tlsExchanges: 0, tlsCalls: 0, tlsPartial: 0, tlsAlerts: 0, tlsOrphans: 0, tlsFiltered: 0, tlsTupleMissing: 0, flows: 0, ringbufFull: 0, userDropped: 0, redirected: 0 };
  const inert = (reasons: string[]): KernelObservation => {
    opts.logger.warn({ reasons }, 'kernel observation unavailable; running proxy-only (no TLS tap, no flow tap, no transparent redirect)');
    return { available: false, reasons, stats: () => ({ ...stats }), setRedirectTarget: () => {}, redirectOrigin: () => null, syncRedirects: () => {}, close: async () => {} };
  };
  const cg2 = ensureCgroup2();
  if ('reason' in cg2) return inert([`unavailable: ${cg2.reason}`]);
  if (cg2.mounted) opts.logger.info({ root: cg2.root }, 'mounted a cgroup v2 hierarchy for the workloads');
  const avail = availability();
  if (!avail.available) return inert(avail.reasons);
  let bpf: HiggsPrograms;
  try {
    bpf = loadPrograms({ pinDir: opts.pinDir, cgroupRoot: opts.cgroupRoot, flows: opts.flows, tls: opts.tls });
  } catch (err) {
    return inert([err instanceof Error ? err.message.split('\n')[0]! : String(err)]);
  }
  const reasons = [...bpf.unavailable];
  if (reasons.length) opts.logger.warn({ reasons }, 'some kernel observation primitives unavailable');
  for (const ip of opts.providers.addresses()) bpf.quarantine.addProvider(ip);
  for (const cidr of opts.providerCidrs ?? []) bpf.quarantine.addProvider(cidr);

  const origin = Date.now() - Number(process.hrtime.bigint() / 1_000_000n); // both clocks: CLOCK_MONOTONIC
  const wallMs = (tsNs: bigint): number => origin + Number(tsNs / 1_000_000n);
  const tapCtx = { scannerId: opts.scannerId, hashSalt: opts.hashSalt, identityHeader: opts.identityHeader, wallMs, ...(opts.policy ? { policy: opts.policy } : {}) };
  const pending: Promise<void>[] = [];

  // ---- TLS scope: plaintext only from labelled workload pods (observe, or
  // enforce whose provider traffic the kernel does not redirect to the proxy),
  // never from unlabelled processes or the scanner. The kernel checks the
  // allow map before copying; user space checks the same set again before
  // reassembly (covering the moment between attach and the first sync).
  const selfCgroup = (() => {
    try {
      return cgroupIdOf(cgroupOfPid(process.pid, cg2.root));
    } catch {
      return null;
    }
  })();
  let tlsAllowed = new Set<bigint>();
  let userFiltered = 0;
  let kernelFiltered = 0;
  const redirected = new Set<bigint>();
  const syncTlsScope = (): void => {
    if (!bpf.tls) return;
    const wanted = new Set<bigint>();
    for (const w of opts.workloads.list()) {
      if (!w.mode || !w.cgroup) continue;
      let id: bigint;
      try {
        id = cgroupIdOf(w.cgroup);
      } catch {
        continue; // the pod's cgroup does not exist (yet)
      }
      if (id === selfCgroup) continue;
      if (w.mode === 'enforce' && redirected.has(id)) continue; // the proxy records those
      wanted.add(id);
    }
    if (wanted.size === tlsAllowed.size && [...wanted].every((id) => tlsAllowed.has(id))) return;
    bpf.tls.setCgroups(wanted);
    tlsAllowed = wanted;
    opts.logger.info({ cgroups: [...wanted].map(String) }, 'TLS capture scoped to labelled workload cgroups');
  };

  // A pod's processes may run their own OpenSSL: a container image's libssl is another file than the
  // node's, and a uprobe lives on a file. The scanner reads the maps of each labelled pod's processes,
  // again and again with a doubling pause (0.5 s, 1 s, 2 s, ... then every 30 s: a library may be
  // loaded late, on first use), and probes every OpenSSL binary they map that is not probed yet (the
  // cgroup filter above still decides whose calls are read). A call made before its library was seen
  // is not captured.
  const looks = new Map<number, { at: number; pauseMs: number }>();
  const discoverTlsBinaries = (): void => {
    if (!bpf.tls) return;
    const now = Date.now();
    const alive = new Set<number>();
    for (const w of opts.workloads.list()) {
      if (!w.mode || !w.cgroup) continue;
      for (const pid of pidsOfCgroup(w.cgroup)) {
        alive.add(pid);
        const look = looks.get(pid) ?? { at: 0, pauseMs: 500 };
        if (now < look.at) continue;
        looks.set(pid, { at: now + look.pauseMs, pauseMs: Math.min(look.pauseMs * 2, 30_000) });
        for (const path of tlsBinariesOf(pid)) {
          try {
            const target = bpf.tls.attach(path);
            if (target) opts.logger.info({ pid, path: target.path, attached: target.attached, error: target.error }, 'TLS probes attached to a workload\'s own OpenSSL');
          } catch (err) {
            opts.logger.warn({ err, pid, path }, 'a workload\'s OpenSSL could not be probed');
          }
        }
      }
    }
    for (const pid of looks.keys()) if (!alive.has(pid)) looks.delete(pid);
  };

  // ---- TLS: events → connections (by socket tuple) → exchanges → LlmCalls
  // one budget for the body bytes of every connection: past it a body is recorded partial, never held
  const bodies = new BodyBudget(DEFAULT_BODY_BUDGET_BYTES);
  const streams = new TlsStreams<TlsEvent>((first, socket) => {
    const src = { cgroupId: first.cgroupId, pid: first.pid, comm: first.comm };
    return new HttpConnection((ex) => {
      stats.tlsExchanges++;
      const w = opts.workloads.resolveCgroup(src.cgroupId);
      // a label removed meanwhile: not recorded
      if (!w?.mode) return;
      // enforce-labelled workloads redirected to the proxy are recorded by it: not twice
      if (w.mode === 'enforce' && redirected.has(src.cgroupId)) return;
      try {
        const observed = tlsCall(tapCtx, ex, { ...src, workload: w, socket: socket() });
        if (!observed) return;
        stats.tlsCalls++;
        if (observed.call.uninspected) stats.tlsPartial++;
        if (observed.decisions.length) stats.tlsAlerts++;
        opts.record(llmCallEvent(observed.call));
        for (const d of observed.decisions) opts.record({ kind: 'decision', event: d });
      } catch (err) {
        opts.logger.error({ err, pid: src.pid }, 'TLS exchange could not be recorded');
      }
    }, () => { stats.tlsOrphans++; }, bodies);
  });
  const onTls = (e: TlsEvent): void => {
    stats.tlsEvents++;
    // the scanner's own TLS (uploads, the proxy's upstream legs) is not a workload's;
    // an unlabelled process's plaintext is dropped here, before any reassembly
    if (e.pid === process.pid || !tlsAllowed.has(e.cgroupId)) {
      userFiltered++;
      e.data.fill(0);
      return;
    }
    const conn = streams.route(e);
    const missing = Math.max(0, e.len - e.data.length);
    if (e.direction === 'write') conn.write(e.data, missing, e.tsNs);
    else conn.read(e.data, missing, e.tsNs);
  };
  if (bpf.tls) {
    syncTlsScope();
    const events = bpf.tls.events;
    pending.push((async () => {
      for await (const e of events) onTls(e);
    })());
  }
  const idleNs = BigInt(opts.idleMs ?? 3000) * 1_000_000n;
  const sweep = setInterval(() => streams.sweep(process.hrtime.bigint(), idleNs), Math.max(100, Number(idleNs / 3_000_000n)));
  sweep.unref();

  // ---- flows: connect attempts to provider addresses → NetworkFlows
  if (bpf.flows) {
    const events = bpf.flows.events;
    pending.push((async () => {
      for await (const e of events) {
        try {
          const flow = flowFromEvent(e, opts.scannerId, opts.providers, opts.workloads.resolveCgroup(e.cgroupId), wallMs(e.tsNs));
          if (!flow) continue;
          stats.flows++;
          opts.record({ kind: 'flow', event: flow });
        } catch (err) {
          opts.logger.error({ err }, 'flow event could not be recorded');
        }
      }
    })());
  }

  // ---- redirect: enforce-labelled cgroups → the transparent listener
  let target = false;
  const syncRedirects = (): void => {
    if (!opts.redirect || !target) return;
    const wanted = new Set<bigint>();
    for (const w of opts.workloads.list()) {
      if (w.mode !== 'enforce' || !w.cgroup) continue;
      try {
        wanted.add(cgroupIdOf(w.cgroup));
      } catch {
        // the pod's cgroup does not exist (yet): nothing to redirect
      }
    }
    for (const id of wanted) {
      if (redirected.has(id)) continue;
      bpf.redirect.redirect(id);
      redirected.add(id);
      opts.logger.info({ cgroupId: String(id) }, 'workload redirected to the transparent proxy');
    }
    for (const id of redirected) {
      if (wanted.has(id)) continue;
      bpf.redirect.unredirect(id);
      redirected.delete(id);
      opts.logger.info({ cgroupId: String(id) }, 'workload no longer redirected');
    }
  };
  let ticks = 0;
  const syncTimer = setInterval(() => {
    try {
      syncRedirects();
      syncTlsScope();
      // the pods' processes every 5th tick (~0.5 s): a read of each labelled cgroup, and the maps of the processes due a look
      if (ticks++ % 5 === 0) discoverTlsBinaries();
    } catch (err) {
      opts.logger.error({ err }, 'redirect or TLS scope sync failed');
    }
  }, opts.syncIntervalMs ?? 100);
  syncTimer.unref();

  const counters = () => {
    let full = 0;
    for (const c of [bpf.tls?.counters(), bpf.flows?.counters()]) if (c) full += Number(c.ringbuf_full);
    return full;
  };
  let closed = false;
  return {
    available: true,
    reasons,
    stats() {
      if (!closed) {
        stats.ringbufFull = counters();
        stats.userDropped = (bpf.tls?.events.dropped ?? 0) + (bpf.flows?.events.dropped ?? 0);
        stats.redirected = Number(bpf.quarantine.counters().connect_redirected);
        kernelFiltered = bpf.tls ? Number(bpf.tls.filtered()) : 0;
        stats.tlsFiltered = kernelFiltered + userFiltered;
        stats.tlsTupleMissing = bpf.tls ? Number(bpf.tls.tupleMissing()) : 0;
      }
      return { ...stats };
    },
    setRedirectTarget(t) {
      if (!opts.redirect) return;
      const self = cgroupOfPid(process.pid, cg2.root);
      bpf.redirect.setTarget({ ...t, proxyCgroupId: cgroupIdOf(self) });
      target = true;
      syncRedirects();
      syncTlsScope();
    },
    redirectOrigin: (client) => (closed ? null : bpf.redirect.origin(client)),
    syncRedirects() {
      syncRedirects();
      syncTlsScope();
    },
    async close() {
      if (closed) return;
      clearInterval(sweep);
      clearInterval(syncTimer);
      streams.end();
      this.stats();
      closed = true;
      if (opts.redirect) {
        for (const id of redirected) bpf.redirect.unredirect(id);
        if (target) bpf.redirect.setTarget(null);
      }
      bpf.close();
      await Promise.allSettled(pending);
    },
  };
}
