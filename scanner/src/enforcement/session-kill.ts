import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { KillPass, KillScope, SessionKill, SocketTuple } from '@higgs/bpf';
import type { KernelEnforcement, ScannerPolicy } from '@higgs/schema';
import type { Logger } from '../logger.ts';
import type { SessionConnection, SessionConnections } from '../sessions/connections.ts';

export interface SessionKillerOptions {
  scannerId: string;
  connections: SessionConnections;
  /** the kernel iterator; null = proxy-only (the proxy still resets what it holds) */
  kernel: () => SessionKill | null;
  /** reset the proxy's own side from user space first (default true): the client's error arrives in microseconds */
  proxyReset?: boolean;
  /**
   * When the proxy reset every connection of an order, how long its kernel pass waits (default 50 ms).
   * The reset has then already ended the workload's socket; the pass is the backstop for one it did
   * not reach, and run at once its walk (2.5 ms of CPU over the node's hash) competes with the client
   * waking up to read its reset: on 2 cores it took the kill's p99 from ~5 to ~7.5 ms.
   */
  backstopDelayMs?: number;
  /**
   * The network namespace (a path, `/proc/PID/ns/net`) of the workload with
   * this address when it runs in one of its own (a pod), else null: its end of
   * a connection is out of reach of a walk of this namespace's TCP hash.
   */
  netnsOf?: (ip: string) => string | null;
  report: (event: KernelEnforcement) => void;
  logger: Logger;
}

/** Carries out the kill orders of each policy; `close` runs a waiting backstop pass at once and waits for every kill. */
export interface SessionKiller {
  apply(policy: ScannerPolicy, receivedNs?: bigint): Promise<KillOutcome[]>;
  close(): Promise<void>;
}

/** What one kill did. */
export interface KillOutcome {
  sessionId: string;
  /** proxy-side connections reset from user space */
  reset: number;
  /** workload-side sockets bpf_sock_destroy() took down */
  destroyed: number;
  /** order received -> the client's error: at the reset when one was sent, else at the end of the kernel pass (an upper bound) */
  latencyUs: number;
  /** Microseconds from the order's receipt: where the time of this kill went. */
  timing: KillTiming;
}

/** Microseconds from the receipt of the order to each step of a kill. */
export interface KillTiming {
  /** every proxy-side reset of the order sent (0 without a proxy reset) */
  resetUs: number;
  /** the kernel pass was asked for (after the resets, and the backstop delay when they reached every connection); null without a kernel pass */
  kernelCalledUs: number | null;
  /** the worker thread began the iter/tcp walk (the gap from `kernelCalledUs` is queueing) */
  iterStartUs: number | null;
  /** the walk ended: every target socket was destroyed by then */
  iterEndUs: number | null;
  /** the pass's result was back on the event loop */
  kernelDoneUs: number | null;
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
 *
 * Order of work, as the policy arrives: every reset of the policy's kills,
 * synchronously; then one kernel pass for all of them per network namespace
 * (the node's, and each pod's that runs in one of its own), walked on a worker
 * thread (the event loop, and so the proxy, keeps serving during the 2 ms
 * walk of a 262 144-bucket hash), `backstopDelayMs` later when the resets
 * reached every connection; the reports only after the passes.
 */
export function createSessionKiller(opts: SessionKillerOptions): SessionKiller {
  const handled = new Set<string>();
  const local = localAddresses();
  const isLocal = (ip: string): boolean => local.has(ip) || ip.startsWith('127.');
  const proxyReset = opts.proxyReset !== false;
  const backstopDelayMs = opts.backstopDelayMs ?? 50;
  // backstop passes waiting for their delay (each resolves early on close), and the kills under way
  const waiting = new Set<() => void>();
  const running = new Set<Promise<KillOutcome[]>>();
  let closed = false;
  const backstop = (ms: number) => new Promise<void>((resolve) => {
    if (closed || ms <= 0) return resolve();
    const fire = () => {
      clearTimeout(timer);
      waiting.delete(fire);
      resolve();
    };
    const timer = setTimeout(fire, ms);
    waiting.add(fire);
  });

  return {
    apply(policy, receivedNs = process.hrtime.bigint()) {
      const kill = applyKills(policy, receivedNs);
      running.add(kill);
      void kill.finally(() => running.delete(kill)).catch(() => undefined);
      return kill;
    },
    async close() {
      closed = true;
      for (const fire of [...waiting]) fire();
      await Promise.allSettled([...running]);
    },
  };

  async function applyKills(policy: ScannerPolicy, receivedNs: bigint): Promise<KillOutcome[]> {
    const since = (ns: bigint): number => Number(ns - receivedNs) / 1000;
    const blocked = new Set(policy.blockedSessions);
    for (const id of handled) if (!blocked.has(id)) handled.delete(id);
    const killed: { sessionId: string; conns: SessionConnection[]; reset: number; tuples: SocketTuple[] }[] = [];
    for (const sessionId of blocked) {
      if (handled.has(sessionId)) continue;
      handled.add(sessionId);
      const conns = opts.connections.take(sessionId);
      if (conns.length === 0) continue;
      let reset = 0;
      if (proxyReset) {
        for (const c of conns) {
          if (c.socket.destroyed) continue;
          try {
            c.socket.resetAndDestroy();
          } catch (err) {
            // not a TCP handle (a pipe in a test harness): a plain close still ends the session's bytes
            opts.logger.warn({ err, sessionId }, 'connection could not be reset; closed instead');
            c.socket.destroy();
          }
          reset += 1;
        }
      }
      const tuples = conns.flatMap((c) => (c.workloadTuple ? [c.workloadTuple] : []));
      killed.push({ sessionId, conns, reset, tuples });
    }
    if (killed.length === 0) return [];
    const resetUs = proxyReset ? since(process.hrtime.bigint()) : 0;

    // one pass per network namespace for every session of this policy (orders that arrive during a
    // pass share the next): this one for workloads on the node's addresses, a pod's own for its address
    const kernel = opts.kernel();
    const scopes = new Map<string, { scope: KillScope; tuples: SocketTuple[] }>();
    for (const t of killed.flatMap((k) => k.tuples)) {
      // '' = this namespace; null = neither here nor in a pod namespace we know: out of the kernel's reach
      const netns = isLocal(t.local.address) ? '' : (opts.netnsOf?.(t.local.address) ?? null);
      if (netns === null) continue;
      if (!scopes.has(netns)) scopes.set(netns, { scope: netns ? { netns } : {}, tuples: [] });
      scopes.get(netns)!.tuples.push(t);
    }
    const passes: KillPass[] = [];
    if (kernel && scopes.size > 0) {
      // the resets reached every connection: the walk is their backstop and waits, off the clients' wake-up
      if (proxyReset && killed.every((k) => k.reset === k.conns.length)) await backstop(backstopDelayMs);
      await Promise.all([...scopes.values()].map(async ({ scope, tuples }) => {
        try {
          passes.push(await kernel.kill(tuples, scope));
        } catch (err) {
          opts.logger.error({ err, sessions: killed.map((k) => k.sessionId), netns: scope.netns ?? null }, 'kernel session kill failed');
        }
      }));
    }
    const destroyedBy = new Map<string, number>();
    for (const s of passes.flatMap((p) => p.killed)) if (s.error === null) destroyedBy.set(tupleKey(s.tuple), (destroyedBy.get(tupleKey(s.tuple)) ?? 0) + 1);
    // over several passes: the first call and start, the last end and result
    const first = (pick: (p: KillPass) => bigint): number | null => (passes.length === 0 ? null : since(passes.map(pick).reduce((a, b) => (b < a ? b : a))));
    const last = (pick: (p: KillPass) => bigint): number | null => (passes.length === 0 ? null : since(passes.map(pick).reduce((a, b) => (b > a ? b : a))));
    const timing: KillTiming = {
      resetUs,
      kernelCalledUs: first((p) => p.timing.calledNs),
      iterStartUs: first((p) => p.timing.startNs),
      iterEndUs: last((p) => p.timing.endNs),
      kernelDoneUs: last((p) => p.timing.doneNs),
    };

    const outcomes: KillOutcome[] = [];
    for (const k of killed) {
      if (!proxyReset) for (const c of k.conns) c.socket.destroy();
      const destroyed = k.tuples.reduce((n, t) => n + (destroyedBy.get(tupleKey(t)) ?? 0), 0);
      // with a reset, the client's error came then; without, by the end of the kernel pass
      const latencyUs = proxyReset && k.reset > 0 ? resetUs : (timing.iterEndUs ?? since(process.hrtime.bigint()));
      const orderedBy = policy.orders?.find((o) => o.primitive === 'session_kill' && o.target === k.sessionId)?.orderedBy ?? null;
      outcomes.push({ sessionId: k.sessionId, reset: k.reset, destroyed, latencyUs, timing });
      opts.logger.info({ sessionId: k.sessionId, reset: k.reset, destroyed, latencyUs, timing, passes: passes.length, batched: Math.max(0, ...passes.map((p) => p.batched)), realtime: passes[0]?.realtime ?? null, orderedBy }, 'session killed');
      opts.report({
        id: `ke_${randomUUID()}`, scannerId: opts.scannerId, ts: new Date().toISOString(), primitive: 'session_kill',
        target: k.sessionId.slice(0, 253), count: k.reset + destroyed, latencyUs, orderedBy: orderedBy?.slice(0, 256) ?? null, source: null,
      });
    }
    return outcomes;
  }
}

function tupleKey(t: SocketTuple): string {
  return `${t.local.address}|${t.local.port}|${t.remote.address}|${t.remote.port}`;
}

/** Addresses of this host's network namespace: a workload socket with one of them is in reach of the kernel iterator. */
function localAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return new Set([...out].filter((a) => isIP(a) !== 0));
}
