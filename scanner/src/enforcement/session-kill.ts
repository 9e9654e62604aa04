import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { SessionKill } from '@higgs/bpf';
import type { KernelEnforcement, ScannerPolicy } from '@higgs/schema';
import type { Logger } from '../logger.ts';
import type { SessionConnections } from '../sessions/connections.ts';

export interface SessionKillerOptions {
  scannerId: string;
  connections: SessionConnections;
  /** the kernel iterator; null = proxy-only (the proxy still resets what it holds) */
  kernel: () => SessionKill | null;
  /** reset the proxy's own side from user space first (default true): the client's error arrives in microseconds */
  proxyReset?: boolean;
  report: (event: KernelEnforcement) => void;
  logger: Logger;
}

/** What one kill did. */
export interface KillOutcome {
  sessionId: string;
  /** proxy-side connections reset from user space */
  reset: number;
  /** workload-side sockets bpf_sock_destroy() took down */
  destroyed: number;
  latencyUs: number;
}

/**
 * Carries out kill orders as policies arrive: for each newly blocked session,
 * the client connections the proxy holds for it are reset (SO_LINGER 0, so the
 * workload gets ECONNRESET and no byte more), and the workload's end of each
 * such connection is then destroyed in the kernel by its tuple (iter/tcp +
 * bpf_sock_destroy), which covers a socket the reset did not reach. New
 * requests of the session are refused by the proxy's policy check. Each kill
 * that found connections is reported as a `kernel_enforcement` event with who
 * ordered it.
 */
export function createSessionKiller(opts: SessionKillerOptions): { apply(policy: ScannerPolicy, receivedNs?: bigint): KillOutcome[] } {
  const handled = new Set<string>();
  const local = localAddresses();
  const isLocal = (ip: string): boolean => local.has(ip) || ip.startsWith('127.');
  return {
    apply(policy, receivedNs = process.hrtime.bigint()) {
      const blocked = new Set(policy.blockedSessions);
      for (const id of handled) if (!blocked.has(id)) handled.delete(id);
      const outcomes: KillOutcome[] = [];
      for (const sessionId of blocked) {
        if (handled.has(sessionId)) continue;
        handled.add(sessionId);
        const conns = opts.connections.take(sessionId);
        if (conns.length === 0) continue;
        let reset = 0;
        if (opts.proxyReset !== false) {
          for (const c of conns) {
            if (c.socket.destroyed) continue;
            c.socket.resetAndDestroy();
            reset += 1;
          }
        }
        const tuples = conns.flatMap((c) => (c.workloadTuple && isLocal(c.workloadTuple.local.address) ? [c.workloadTuple] : []));
        let destroyed = 0;
        const kernel = opts.kernel();
        if (kernel && tuples.length > 0) {
          try {
            destroyed = kernel.destroy(tuples).filter((k) => k.error === null).length;
          } catch (err) {
            opts.logger.error({ err, sessionId }, 'kernel session kill failed; the proxy reset stands');
          }
        }
        if (opts.proxyReset === false) for (const c of conns) c.socket.destroy();
        const latencyUs = Number(process.hrtime.bigint() - receivedNs) / 1000;
        const orderedBy = policy.orders?.find((o) => o.primitive === 'session_kill' && o.target === sessionId)?.orderedBy ?? null;
        outcomes.push({ sessionId, reset, destroyed, latencyUs });
        opts.logger.info({ sessionId, reset, destroyed, latencyUs, orderedBy }, 'session killed');
        opts.report({
          id: `ke_${randomUUID()}`, scannerId: opts.scannerId, ts: new Date().toISOString(), primitive: 'session_kill',
          target: sessionId.slice(0, 253), count: reset + destroyed, latencyUs, orderedBy: orderedBy?.slice(0, 256) ?? null, source: null,
        });
      }
      return outcomes;
    },
  };
}

/** Addresses of this host's network namespace: a workload socket with one of them is in reach of the kernel iterator. */
function localAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return new Set([...out].filter((a) => isIP(a) !== 0));
}
