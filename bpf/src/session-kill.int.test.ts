import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip } from '@higgs/evals/testing';
import { availability } from './index.ts';
import { loadNative } from './native.ts';
import { openSessionKill, type SessionKill } from './session-kill.ts';
import { Probe } from './testing/probe.ts';

const avail = availability();
const run = requireOrSkip('BPF', avail.available ? null : avail.reasons.join('; '));
const HOST = '127.0.0.1';

describe.runIf(run)('session kill in the kernel (iter/tcp + bpf_sock_destroy)', () => {
  let kill: SessionKill;
  let server: Server;
  let port = 0;
  const accepted: { socket: Socket; data: string; error: string | null }[] = [];
  let probe: Probe | null = null;

  beforeAll(async () => {
    const native = loadNative();
    if (!('binding' in native)) throw new Error(native.reason);
    kill = openSessionKill(native.binding);
    server = createServer((socket) => {
      const entry = { socket, data: '', error: null as string | null };
      accepted.push(entry);
      socket.on('data', (d) => (entry.data += d.toString()));
      socket.on('error', (e: NodeJS.ErrnoException) => (entry.error = e.code ?? 'error'));
    });
    server.listen(0, HOST);
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await probe?.kill();
    for (const a of accepted) a.socket.destroy();
    server?.close();
    kill?.close();
  });

  it('resets only the target session\'s socket while a second session of the same process keeps streaming', async () => {
    probe = Probe.start(null);
    const target = await probe.connect(HOST, port);
    const other = await probe.connect(HOST, port);
    expect(target.ok && other.ok).toBe(true);
    await probe.send(other.id!, 'one;');

    const killed = kill.destroy([{ local: { address: HOST, port: target.localPort! }, remote: { address: HOST, port } }]);
    expect(killed).toEqual([
      { tuple: { local: { address: HOST, port: target.localPort! }, remote: { address: HOST, port } }, cookie: expect.any(BigInt), state: 'ESTABLISHED', error: null },
    ]);
    const error = probe.errors[0] ?? (await probe.nextError());
    expect(error).toEqual({ id: target.id, code: 'ECONNABORTED' });

    expect((await probe.send(other.id!, 'two;')).ok).toBe(true);
    const deadline = Date.now() + 3000;
    while (!accepted.some((a) => a.data === 'one;two;') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(accepted.map((a) => a.data).sort()).toEqual(['', 'one;two;']);
    expect(probe.errors).toHaveLength(1);
    expect(kill.counters().sockets_destroyed).toBeGreaterThanOrEqual(1n);
  });

  it('kill() walks on a worker thread and batches the orders that arrive during a pass into one next pass', async () => {
    const p = Probe.start(null);
    try {
      const a = await p.connect(HOST, port);
      const b = await p.connect(HOST, port);
      const c = await p.connect(HOST, port);
      const survivor = await p.connect(HOST, port);
      const tuple = (localPort: number) => ({ local: { address: HOST, port: localPort }, remote: { address: HOST, port } });

      // the first order starts a pass at once; the two given while it runs share the next one
      const first = kill.kill([tuple(a.localPort!)]);
      const second = kill.kill([tuple(b.localPort!)]);
      const third = kill.kill([tuple(c.localPort!), tuple(1)]);
      const [pa, pb, pc] = await Promise.all([first, second, third]);
      expect(pa.killed.map((k) => k.tuple.local.port)).toEqual([a.localPort]);
      expect(pb.killed.map((k) => k.tuple.local.port)).toEqual([b.localPort]);
      expect(pc.killed.map((k) => k.tuple.local.port)).toEqual([c.localPort]);
      expect([pa.batched, pb.batched, pc.batched]).toEqual([1, 2, 2]);
      expect(pb.timing.startNs).toBe(pc.timing.startNs);
      expect(pb.timing.startNs).toBeGreaterThanOrEqual(pa.timing.endNs); // passes never overlap
      for (const r of [pa, pb, pc]) {
        expect(r.killed.every((k) => k.error === null && k.state === 'ESTABLISHED')).toBe(true);
        expect(r.timing.calledNs <= r.timing.startNs && r.timing.startNs < r.timing.endNs && r.timing.endNs <= r.timing.doneNs).toBe(true);
      }
      while (p.errors.length < 3) await p.nextError();
      expect(p.errors.map((e) => [e.id, e.code]).sort()).toEqual([[a.id, 'ECONNABORTED'], [b.id, 'ECONNABORTED'], [c.id, 'ECONNABORTED']].sort());
      expect((await p.send(survivor.id!, 'alive;')).ok).toBe(true);

      // the call hands the walk to a worker and returns: with a walk on this thread it would return after the walk ended
      let returnedFirst = 0;
      for (let i = 0; i < 5; i++) {
        const pending = kill.kill([tuple(1)]);
        const returned = process.hrtime.bigint();
        if (returned < (await pending).timing.endNs) returnedFirst += 1;
      }
      expect(returnedFirst).toBeGreaterThan(0);
    } finally {
      await p.kill();
    }
  });

  it('reaches a workload in its own network namespace only from that namespace, and there only the target socket', async () => {
    const pod = Probe.start(null, { netns: true });
    try {
      const listening = await pod.listen(HOST);
      const target = await pod.connect(HOST, listening.port!);
      const other = await pod.connect(HOST, listening.port!);
      expect(target.ok && other.ok).toBe(true);
      const tuple = { local: { address: HOST, port: target.localPort! }, remote: { address: HOST, port: listening.port! } };

      // from this process's namespace the pod's socket is out of reach
      expect(kill.destroy([tuple])).toEqual([]);
      expect((await pod.send(target.id!, 'still up;')).ok).toBe(true);

      const pass = await kill.kill([tuple], { netns: `/proc/${pod.pid}/ns/net` });
      expect(pass.killed).toEqual([{ tuple, cookie: expect.any(BigInt), state: 'ESTABLISHED', error: null }]);
      expect(pod.errors[0] ?? (await pod.nextError())).toEqual({ id: target.id, code: 'ECONNABORTED' });
      expect((await pod.send(other.id!, 'alive;')).ok).toBe(true);
      expect(pod.errors).toHaveLength(1);

      // the same pass on the calling thread
      const killed = kill.destroy([{ ...tuple, local: { address: HOST, port: other.localPort! } }], { netns: `/proc/${pod.pid}/ns/net` });
      expect(killed.map((k) => k.tuple.local.port)).toEqual([other.localPort]);
      expect(await pod.nextError()).toEqual({ id: other.id, code: 'ECONNABORTED' });
    } finally {
      await pod.kill();
    }
  });

  it('refuses a namespace path that is not one, and leaves this process where it was', async () => {
    await expect(kill.kill([{ local: { address: HOST, port: 1 }, remote: { address: HOST, port: 2 } }], { netns: '/proc/self/ns/nonexistent' }))
      .rejects.toMatchObject({ message: expect.stringContaining('open network namespace') });
    expect(() => kill.destroy([{ local: { address: HOST, port: 1 }, remote: { address: HOST, port: 2 } }], { netns: '/etc/hostname' }))
      .toThrow(/network namespace/);
    // this process's sockets still live in its own namespace
    const s = await new Promise<Socket>((resolve, reject) => {
      const c = createConnection({ host: HOST, port }, () => resolve(c));
      c.once('error', reject);
    });
    s.destroy();
  });

  it('destroys nothing when no socket has the tuple', () => {
    expect(kill.destroy([{ local: { address: HOST, port: 1 }, remote: { address: HOST, port: 2 } }])).toEqual([]);
  });
});
