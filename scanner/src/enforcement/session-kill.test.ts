import { once } from 'node:events';
import { createServer, request, Agent, type Server } from 'node:http';
import type { KillPass, SessionKill, SocketTuple } from '@higgs/bpf';
import type { KernelEnforcement, ScannerPolicy } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionConnections } from '../sessions/connections.ts';
import { createSessionKiller } from './session-kill.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const policy = (blockedSessions: string[]): ScannerPolicy => ({
  version: '1', rules: [], quarantinedNamespaces: [], blockedSessions,
  orders: blockedSessions.map((target) => ({ primitive: 'session_kill' as const, target, orderedBy: 'sec-oncall', orderedAt: '2026-11-21T10:00:00.000Z' })),
});

describe('session kill without a kernel: the proxy resets exactly the connections carrying the session', () => {
  const connections = new SessionConnections();
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    // a stand-in for the proxy's inspected path: track the request's session, then stream until the client goes
    server = createServer((req, res) => {
      connections.track({ sessionId: String(req.headers['x-session']), upstreamHost: 'api.example', req, res });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write('data: x\n\n'), 10);
      res.on('close', () => clearInterval(timer));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  function stream(session: string) {
    const state = { chunks: 0, error: null as string | null };
    const req = request({ host: '127.0.0.1', port, headers: { 'x-session': session }, agent: new Agent({ keepAlive: false }) }, (res) => {
      res.on('data', () => (state.chunks += 1));
      res.on('error', (e: NodeJS.ErrnoException) => (state.error = e.code ?? e.message));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (state.error = e.code ?? e.message));
    req.end();
    return { state, req };
  }
  const until = async (ok: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('resets the target, leaves the other session streaming, reports once with who ordered it', async () => {
    const reports: KernelEnforcement[] = [];
    const killer = createSessionKiller({ scannerId: 'n1', connections, kernel: () => null, report: (e) => reports.push(e), logger: quiet });
    const a = stream('s-a');
    const b = stream('s-b');
    await until(() => a.state.chunks > 2 && b.state.chunks > 2);
    expect(connections.sessions().sort()).toEqual(['s-a', 's-b']);

    const [outcome] = await killer.apply(policy(['s-a']));
    expect(outcome).toMatchObject({ sessionId: 's-a', reset: 1, destroyed: 0 });
    // no kernel: the client's error is the reset's, and no kernel pass is claimed
    expect(outcome!.timing).toMatchObject({ kernelCalledUs: null, iterStartUs: null, iterEndUs: null, kernelDoneUs: null });
    expect(outcome!.latencyUs).toBe(outcome!.timing.resetUs);
    await until(() => a.state.error !== null);
    expect(a.state.error).toBe('ECONNRESET');
    const at = b.state.chunks;
    await until(() => b.state.chunks > at + 5);
    expect(b.state.error).toBeNull();
    expect(reports).toEqual([expect.objectContaining({ primitive: 'session_kill', target: 's-a', count: 1, orderedBy: 'sec-oncall', scannerId: 'n1' })]);

    // the same policy again (a re-poll) kills nothing more; a session killed with nothing in flight is not reported
    expect(await killer.apply(policy(['s-a', 's-idle']))).toEqual([]);
    expect(reports).toHaveLength(1);
    expect(connections.hosts()).toEqual(['api.example']);
    b.req.destroy();
  });

  // The kernel side of the order: a recording stand-in for the iterator, which kernel-enforcement.int.test.ts
  // runs for real; here only when the killer asks for the pass matters.
  function recordingKernel() {
    const calls: { at: bigint; tuples: SocketTuple[] }[] = [];
    const kernel: SessionKill = {
      kill: (tuples) => {
        const at = process.hrtime.bigint();
        calls.push({ at, tuples });
        return Promise.resolve<KillPass>({ killed: [], batched: 1, realtime: false, timing: { calledNs: at, startNs: at, endNs: at, doneNs: at } });
      },
      destroy: () => [],
      counters: () => { throw new Error('not used'); },
      close: () => {},
    };
    return { kernel, calls };
  }
  const killerOn = (kernel: SessionKill, opts: { backstopDelayMs: number; proxyReset?: boolean }) =>
    createSessionKiller({ scannerId: 'n1', connections, kernel: () => kernel, report: () => {}, logger: quiet, ...opts });
  // a stream of the session, killed once it flows: the kill's outcome (pending) once the client has its error
  async function killStreaming(killer: ReturnType<typeof createSessionKiller>, session: string) {
    const s = stream(session);
    await until(() => s.state.chunks > 1);
    const pending = killer.apply(policy([session]));
    await until(() => s.state.error !== null);
    return { client: s.state, pending };
  }

  it('runs the kernel pass as a backstop after the resets, once the client has its error; at once without a reset', async () => {
    const { kernel, calls } = recordingKernel();
    const { client, pending } = await killStreaming(killerOn(kernel, { backstopDelayMs: 300 }), 's-backstop');
    expect(client.error).toBe('ECONNRESET');
    expect(calls).toHaveLength(0);
    const [outcome] = await pending;
    expect(calls).toHaveLength(1);
    expect(calls[0]!.tuples).toEqual([expect.objectContaining({ remote: expect.objectContaining({ port }) })]);
    // a timer may fire up to a millisecond early on the monotonic clock
    expect(outcome!.timing.kernelCalledUs! - outcome!.timing.resetUs).toBeGreaterThanOrEqual(298_000);

    // no proxy reset: the kernel pass is what ends the session, at once
    const direct = killerOn(kernel, { proxyReset: false, backstopDelayMs: 60_000 });
    const b = stream('s-direct');
    await until(() => b.state.chunks > 1);
    const [plain] = await direct.apply(policy(['s-direct']));
    expect(calls).toHaveLength(2);
    expect(plain!.timing.kernelCalledUs!).toBeLessThan(50_000);
  });

  it('close() runs a waiting backstop pass at once and waits for it', async () => {
    const { kernel, calls } = recordingKernel();
    const killer = killerOn(kernel, { backstopDelayMs: 60_000 });
    const { pending } = await killStreaming(killer, 's-closing');
    const started = Date.now();
    await killer.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls).toHaveLength(1);
    expect(await pending).toEqual([expect.objectContaining({ sessionId: 's-closing', reset: 1 })]);
  });
});
