import { isIPv4, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ScannerPolicy } from '@higgs/schema';
import { createAttributor } from './attribution/index.ts';
import { jsonLogger, type Logger } from './logger.ts';
import { startPolicyEndpoint } from './policy/endpoint.ts';
import { PolicyClient } from './policy/client.ts';
import { DEFAULT_AI_HOSTS, hostMatches } from './providers/index.ts';
import { startProxy } from './proxy/index.ts';
import type { EnforcementSettings } from './proxy/enforcement.ts';
import type { InspectContext } from './proxy/exchange.ts';
import { createInspectionOffload } from './proxy/inspect-offload.ts';
import { createUpstream } from './proxy/upstream.ts';
import { newStats, type ScannerStats } from './stats.ts';
import { loadOrCreateCa } from './tls/ca.ts';
import { ScannerError } from './errors.ts';
import { Uploader } from './uploader/index.ts';
import { netnsOfCgroup } from './workloads/cgroups.ts';
import { LocalFileWorkloadSource, noWorkloads } from './workloads/index.ts';
import { startKernelEnforcement, type KernelEnforcement } from './enforcement/kernel.ts';
import { createSessionKiller } from './enforcement/session-kill.ts';
import { SessionConnections } from './sessions/connections.ts';
import { ProviderAddresses, startKernelObservation, type KernelObservation, type KernelObservationStats } from './kernel/index.ts';
import { startTransparentListener } from './proxy/transparent.ts';

export interface ScannerOptions {
  scannerId: string;
  /** per-node CA (ca-cert.pem, ca-key.pem, created once, key 0600) and spool/ live here */
  dataDir: string;
  /** default 127.0.0.1 */
  proxyHost?: string;
  /** 0 = ephemeral */
  proxyPort: number;
  /** localhost policy endpoint, always bound to 127.0.0.1; 0 = ephemeral */
  policyPort: number;
  tenantUrl: string;
  /** Bearer token for /v1/ingest and /v1/scanners/:id/policy */
  scannerToken: string;
  /** host patterns to MITM (`*` wildcards); default: the major providers */
  aiHosts?: string[];
  /** host patterns of MCP servers to inspect (`*` wildcards): their JSON-RPC requests become ToolCalls; default none */
  mcpHosts?: string[];
  /** 'api.openai.com' -> '127.0.0.1:9443': where to really connect; SNI and Host stay the original */
  hostsOverride?: Record<string, string>;
  /** extra CAs trusted for upstream TLS, in addition to the system store */
  upstreamCaPem?: string[];
  /** JSON workload table, re-read on change; null or absent = every source unknown */
  workloadsFile?: string | null;
  /** salt for value hashes */
  hashSalt: string;
  /** header carrying the end-user id (default x-user-id) */
  identityHeader?: string;
  /** PEM public keys or HMAC secrets end-user JWTs are verified with; absent: claims are read unverified (userSource 'jwt') */
  jwtVerifyKeys?: string[];
  uploadBatchSize?: number;
  uploadIntervalMs?: number;
  spoolMaxBytes?: number;
  /** long-poll hold, default 25000 */
  policyWaitMs?: number;
  /** fail modes per rule class, body-size limit, rule-evaluation budget; default: every class fails closed, 8 MiB, 50 ms */
  enforcement?: EnforcementSettings;
  /** default: JSON lines to stderr */
  logger?: Logger;
  /**
   * false turns the PII, secret and injection detectors off on LLM calls, to
   * measure the proxy's own cost: rules needing them fail by their class's
   * mode and message text is not recorded. Default true.
   */
  detectors?: boolean;
  /**
   * Where large requests are inspected (src/proxy/inspect-offload.ts): a worker thread from
   * `minChars` of text (default 256 Ki). `false`: every request on the event loop (measuring what
   * the thread saves: `npm run bench -- large-prompt`).
   */
  inspectOffload?: { minChars?: number } | false;
  /**
   * Enforce namespace quarantine in the kernel too (@higgs/bpf), for workloads
   * whose `cgroup` the workloads file names, toward these provider CIDRs.
   * Absent: proxy-only. Where the kernel cannot, the scanner says why once and
   * stays proxy-only.
   */
  kernelEnforcement?: {
    providers: string[];
    pinDir?: string;
    /** add the addresses of the upstream hosts the proxy connects to to the provider map (default true) */
    learnProviders?: boolean;
    /** a kill resets the proxy's side from user space before the kernel destroys the workload's (default true) */
    proxyReset?: boolean;
    /** how long a kill's kernel pass waits when the proxy's resets reached every connection (default 50 ms; see session-kill.ts) */
    killBackstopDelayMs?: number;
  } | null;
  /**
   * Kernel observation and transparent redirect (@higgs/bpf): TLS uprobes into
   * the provider parsers (`tap: 'tls'`), connect tracing into NetworkFlows,
   * and enforce-labelled cgroups' provider connections redirected to a
   * transparent listener. Absent: none of it. Where the kernel cannot, the
   * scanner says why once and runs proxy-only.
   */
  kernelObservation?: {
    tls: boolean | string[];
    flows: boolean;
    redirect: boolean;
    /** `address -> hostname` of provider endpoints DNS does not give (overrides, local upstreams) */
    providerAddresses?: Record<string, string>;
    providerCidrs?: string[];
    /** transparent listener ports (0 = ephemeral) */
    redirectTlsPort?: number;
    redirectPlainPort?: number;
    /**
     * The IPv4 address redirected connections are sent to: one the workloads
     * reach the transparent listener on. A pod in a network namespace of its
     * own needs the node's address (127.0.0.1 and 0.0.0.0 are its own
     * loopback). Default: `proxyHost`, or 127.0.0.1 when that is 0.0.0.0.
     * The listener binds `proxyHost`, so it must be this address or 0.0.0.0.
     */
    redirectAddress?: string;
    pinDir?: string;
    cgroupRoot?: string;
    idleMs?: number;
  } | null;
}

export interface ScannerHandle {
  /** http://127.0.0.1:PORT — clients set HTTPS_PROXY to this */
  proxyUrl: string;
  /** http://127.0.0.1:PORT/api/policy */
  policyUrl: string;
  /** clients trust this CA */
  caCertPem: string;
  policyVersion(): string | null;
  waitForPolicy(predicate: (p: ScannerPolicy) => boolean, timeoutMs: number): Promise<ScannerPolicy>;
  /** uploads everything buffered now */
  flush(): Promise<void>;
  stats(): ScannerStats & { kernel: KernelObservationStats | null };
  /** why kernel observation does not run (empty when it does, or was not asked for) */
  kernelUnavailable: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts a scanner: the MITM proxy, the localhost policy endpoint, the policy
 * long-poll and the uploader. Close it with `close()`, which flushes what is
 * buffered (to the tenant, or to the spool).
 *
 * @example
 * const scanner = await startScanner({ scannerId: 'node-1', dataDir, proxyPort: 0, policyPort: 0, tenantUrl, scannerToken, hashSalt });
 * // clients: HTTPS_PROXY=scanner.proxyUrl, trusting scanner.caCertPem
 */
export async function startScanner(opts: ScannerOptions): Promise<ScannerHandle> {
  const logger = opts.logger ?? jsonLogger(process.stderr, { component: 'scanner', scannerId: opts.scannerId });
  const stats = newStats();
  const aiHosts = opts.aiHosts ?? [...DEFAULT_AI_HOSTS];
  const overridden = Object.keys(opts.hostsOverride ?? {}).map((h) => h.toLowerCase());
  const isAiHost = (host: string): boolean => overridden.includes(host.toLowerCase()) || aiHosts.some((p) => hostMatches(p, host));
  const mcpHosts = opts.mcpHosts ?? [];
  const isMcpHost = (host: string): boolean => mcpHosts.some((p) => hostMatches(p, host));
  // checked before anything starts: a redirect to an address nothing listens on refuses every redirected call
  const listenHost = opts.proxyHost ?? '127.0.0.1';
  const redirectAddress = opts.kernelObservation?.redirect ? redirectAddressFor(listenHost, opts.kernelObservation.redirectAddress) : null;

  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        logger.error({ err }, 'error while closing the scanner');
      }
    }
  };
  try {
    const ca = await loadOrCreateCa(opts.dataDir, `Higgs scanner ${opts.scannerId}`);
    const workloads = opts.workloadsFile ? new LocalFileWorkloadSource(opts.workloadsFile, logger) : noWorkloads;
    closers.push(() => workloads.close());
    const uploader = await Uploader.open({
      tenantUrl: opts.tenantUrl, token: opts.scannerToken, scannerId: opts.scannerId, spoolDir: join(opts.dataDir, 'spool'),
      batchSize: opts.uploadBatchSize ?? 500, intervalMs: opts.uploadIntervalMs ?? 2000, spoolMaxBytes: opts.spoolMaxBytes ?? 256 * 1024 * 1024,
      logger, stats,
    });
    closers.push(() => uploader.close());
    const policy = new PolicyClient({ tenantUrl: opts.tenantUrl, scannerId: opts.scannerId, token: opts.scannerToken, waitMs: opts.policyWaitMs ?? 25_000, logger, stats });
    policy.start();
    closers.push(() => policy.close());
    let kernel: KernelEnforcement | null = null;
    if (opts.kernelEnforcement) {
      const k = startKernelEnforcement({
        workloads: () => (workloads instanceof LocalFileWorkloadSource ? workloads.list() : [])
          .flatMap((w) => (w.cgroup ? [{ namespace: w.namespace, app: w.app, cgroup: w.cgroup }] : [])),
        quarantinedNamespaces: () => policy.current()?.policy.quarantinedNamespaces ?? [],
        orders: () => policy.current()?.policy.orders ?? [],
        report: (event) => uploader.enqueue({ kind: 'kernel_enforcement', event }),
        scannerId: opts.scannerId,
        providers: opts.kernelEnforcement.providers,
        logger,
        ...(opts.kernelEnforcement.pinDir ? { pinDir: opts.kernelEnforcement.pinDir } : {}),
      });
      kernel = k;
      closers.push(() => k.close());
    }
    const learnProviders = opts.kernelEnforcement?.learnProviders !== false;
    const sessions = new SessionConnections({
      onUpstreamHost: (host) => {
        if (!kernel?.available || !learnProviders) return;
        kernel.addProviderHost(host).catch((err: unknown) => logger.warn({ err, host }, 'provider host not resolved; not in the kernel map'));
      },
    });
    // kills run as the policy is swapped in: the proxy's reset needs no kernel, the kernel destroy does
    const killer = createSessionKiller({
      scannerId: opts.scannerId, connections: sessions, kernel: () => kernel?.sessions() ?? null, logger,
      proxyReset: opts.kernelEnforcement?.proxyReset !== false,
      ...(opts.kernelEnforcement?.killBackstopDelayMs === undefined ? {} : { backstopDelayMs: opts.kernelEnforcement.killBackstopDelayMs }),
      // a pod with an address of its own runs in its own network namespace: the kill walks that one
      netnsOf: (ip) => {
        const cgroup = workloads.resolve(ip)?.cgroup;
        return cgroup ? netnsOfCgroup(cgroup) : null;
      },
      report: (event) => uploader.enqueue({ kind: 'kernel_enforcement', event }),
    });
    // closed after the policy subscription and before the kernel and the uploader: a waiting backstop pass runs now, its report is sent
    closers.push(() => killer.close());
    closers.push(policy.subscribe((p) => {
      void killer.apply(p.policy);
      // a quarantine order reaches the kernel maps now, not at the next reconciliation tick
      kernel?.sync();
    }));
    const upstream = createUpstream(opts.hostsOverride ?? {}, opts.upstreamCaPem ?? []);
    closers.push(() => upstream.close());
    const identityHeader = (opts.identityHeader ?? 'x-user-id').toLowerCase();
    const offload = opts.inspectOffload === false ? undefined : createInspectionOffload(opts.inspectOffload ?? {});
    if (offload) closers.push(() => offload.close());
    const inspect: InspectContext = {
      scannerId: opts.scannerId, hashSalt: opts.hashSalt, identityHeader, workloads,
      attributor: createAttributor({ identityHeader, jwtKeys: opts.jwtVerifyKeys ?? [] }),
      policy: () => policy.current(), record: (e) => uploader.enqueue(e), upstream, stats, logger,
      ...(opts.enforcement ? { enforcement: opts.enforcement } : {}),
      ...(opts.detectors === false ? { detectors: false } : {}),
      sessions, offload,
    };
    let observation: KernelObservation | null = null;
    if (opts.kernelObservation) {
      const k = opts.kernelObservation;
      const cgroupWorkloads = workloads instanceof LocalFileWorkloadSource ? workloads : null;
      const providers = new ProviderAddresses(aiHosts, k.providerAddresses ?? {});
      await providers.refresh();
      observation = startKernelObservation({
        scannerId: opts.scannerId, hashSalt: opts.hashSalt, identityHeader: (opts.identityHeader ?? 'x-user-id').toLowerCase(),
        record: (e) => uploader.enqueue(e), providers, tls: k.tls, flows: k.flows, redirect: k.redirect, logger, policy: () => policy.current(),
        workloads: { list: () => cgroupWorkloads?.list() ?? [], resolveCgroup: (id) => cgroupWorkloads?.resolveCgroup(id) ?? null },
        ...(k.providerCidrs ? { providerCidrs: k.providerCidrs } : {}), ...(k.pinDir ? { pinDir: k.pinDir } : {}),
        ...(k.cgroupRoot ? { cgroupRoot: k.cgroupRoot } : {}), ...(k.idleMs ? { idleMs: k.idleMs } : {}),
      });
      const obs = observation;
      closers.push(() => obs.close());
    }
    const proxy = await startProxy({
      host: listenHost,
      port: opts.proxyPort,
      ca,
      isAiHost,
      isMcpHost,
      logger,
      inspect,
    });
    closers.push(() => proxy.close());
    if (observation?.available && opts.kernelObservation?.redirect && redirectAddress !== null) {
      const obs = observation;
      const transparent = await startTransparentListener({
        host: listenHost, tlsPort: opts.kernelObservation.redirectTlsPort ?? 0, plainPort: opts.kernelObservation.redirectPlainPort ?? 0,
        ca, inspect, isMcpHost, logger,
        origin: (peer) => obs.redirectOrigin(peer),
        workloadOf: (id) => (workloads instanceof LocalFileWorkloadSource ? workloads.resolveCgroup(id) : null),
      });
      closers.push(() => transparent.close());
      obs.setRedirectTarget({ address4: redirectAddress, tlsPort: transparent.tlsPort, plainPort: transparent.plainPort });
      logger.info({ address: redirectAddress, tlsPort: transparent.tlsPort, plainPort: transparent.plainPort }, 'transparent redirect listening');
    }
    const endpoint = await startPolicyEndpoint(opts.policyPort, workloads, () => policy.current());
    closers.push(() => new Promise<void>((r) => {
      endpoint.close(() => r());
      endpoint.closeAllConnections();
    }));
    const policyUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/api/policy`;
    logger.info({ proxyUrl: proxy.url, policyUrl, aiHosts, mcpHosts, overridden }, 'scanner started');

    let closing: Promise<void> | null = null;
    return {
      proxyUrl: proxy.url,
      policyUrl,
      caCertPem: ca.certPem,
      policyVersion: () => policy.current()?.version ?? null,
      waitForPolicy: (predicate, timeoutMs) => policy.waitFor(predicate, timeoutMs),
      flush: () => uploader.flush(),
      stats: () => ({ ...stats, kernel: observation?.available ? observation.stats() : null }),
      kernelUnavailable: observation?.reasons ?? [],
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Where the redirect sends enforce-labelled workloads' provider connections:
 * `configured`, else the listeners' own address, else (they listen on every
 * address) 127.0.0.1. Refuses an address the listeners do not bind, and
 * anything but IPv4 (connect4 rewrites IPv4 destinations).
 */
export function redirectAddressFor(listenHost: string, configured: string | undefined): string {
  const everywhere = listenHost === '0.0.0.0' || listenHost === '::';
  const address = configured ?? (everywhere ? '127.0.0.1' : listenHost);
  if (!isIPv4(address)) throw new ScannerError('CONFIG_INVALID', `redirect address ${address}: expected an IPv4 address (HIGGS_REDIRECT_ADDRESS, or an IPv4 HIGGS_PROXY_HOST)`);
  if (!everywhere && address !== listenHost) {
    throw new ScannerError('CONFIG_INVALID', `redirect address ${address} is not where the transparent listener listens (${listenHost}): set HIGGS_PROXY_HOST to it or to 0.0.0.0`);
  }
  return address;
}
