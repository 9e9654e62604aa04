import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import type { HiggsEvent } from '@higgs/bpf';
import type { NetworkFlow } from '@higgs/schema';
import { providerForHost } from '../providers/index.ts';
import { workloadRef, type Workload } from '../workloads/index.ts';

/**
 * Provider addresses the scanner knows: each AI hostname resolved by DNS
 * (wildcard patterns cannot be), plus configured `address -> hostname` pairs
 * (hostsOverride targets, test and demo upstreams). Refreshed periodically;
 * an address keeps its last hostname until a refresh maps it elsewhere.
 */
export class ProviderAddresses {
  private readonly byIp = new Map<string, string>();

  constructor(private readonly hosts: readonly string[], fixed: Record<string, string> = {}) {
    for (const [ip, host] of Object.entries(fixed)) this.byIp.set(ip, host.toLowerCase());
  }

  /** The provider hostname an address belongs to, or null. */
  hostFor(ip: string): string | null {
    return this.byIp.get(ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip) ?? null;
  }

  /** Every known address, for the kernel's provider prefixes. */
  addresses(): string[] {
    return [...this.byIp.keys()];
  }

  /** Resolves every literal hostname (a failure keeps what was known). */
  async refresh(): Promise<void> {
    await Promise.all(this.hosts.filter((h) => !h.includes('*')).map(async (host) => {
      try {
        for (const { address } of await lookup(host, { all: true })) this.byIp.set(address, host.toLowerCase());
      } catch {
        // unresolvable here (no DNS, NXDOMAIN): nothing to map
      }
    }));
  }
}

/**
 * A connect attempt (CLOSE -> SYN_SENT, in the caller's context: its pid,
 * comm and cgroup are exact) to a provider address, as a NetworkFlow; null
 * for every other TCP state change or destination.
 */
export function flowFromEvent(e: HiggsEvent, scannerId: string, providers: ProviderAddresses, workload: Workload | null, wallMs: number): NetworkFlow | null {
  if (e.kind !== 'flow' || e.newState !== 'SYN_SENT') return null;
  const dstHost = providers.hostFor(e.daddr);
  if (dstHost === null) return null;
  return {
    id: `flow_${randomUUID()}`,
    scannerId,
    ts: new Date(wallMs).toISOString(),
    pid: e.pid,
    comm: e.comm.slice(0, 64),
    cgroupId: String(e.cgroupId),
    srcIp: e.saddr,
    srcPort: e.sport,
    dstIp: e.daddr,
    dstPort: e.dport,
    dstHost,
    provider: providerForHost(dstHost),
    state: e.newState,
    source: workloadRef(e.saddr, workload),
  };
}
