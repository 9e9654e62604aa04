import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
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

  it('destroys nothing when no socket has the tuple', () => {
    expect(kill.destroy([{ local: { address: HOST, port: 1 }, remote: { address: HOST, port: 2 } }])).toEqual([]);
  });
});
