import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip } from '@higgs/evals/testing';
import { availability, cgroupIdOf, findCgroup2Root, loadPrograms, type HiggsPrograms, type RedirectOrigin } from './index.ts';
import { makeCgroups, Probe } from './testing/probe.ts';

const avail = availability();
const run = requireOrSkip('BPF', avail.available ? null : avail.reasons.join('; '));

const PROVIDER = '127.0.9.2';
const PROXY = '127.0.0.1';

describe.runIf(run)('transparent redirect remembers each connection\'s original destination (connect4 + sockops)', () => {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const pinDir = `/sys/fs/bpf/higgs-test-${suffix}`;
  let cgroups: ReturnType<typeof makeCgroups>;
  let bpf: HiggsPrograms;
  const probes: Probe[] = [];

  beforeAll(() => {
    cgroups = makeCgroups(findCgroup2Root()!, ['enforced', 'proxy']);
    bpf = loadPrograms({ pinDir, cgroupRoot: cgroups.base, flows: false });
    bpf.quarantine.addProvider(`${PROVIDER}/32`);
  });

  afterAll(async () => {
    for (const p of probes) await p.kill();
    bpf?.quarantine.unload();
    bpf?.close();
    cgroups?.remove();
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('the proxy looks up the dialled provider address and port, cgroup and pid by its peer\'s address', async () => {
    const seen: { peer: { address: string; port: number }; origin: RedirectOrigin | null }[] = [];
    const proxy = createServer((s: Socket) => {
      seen.push({ peer: { address: s.remoteAddress!, port: s.remotePort! }, origin: bpf.redirect.origin({ address: s.remoteAddress!, port: s.remotePort! }) });
      s.on('error', () => {});
    });
    proxy.listen(0, PROXY);
    await once(proxy, 'listening');
    const port = (proxy.address() as { port: number }).port;
    const enforced = cgroupIdOf(cgroups.dirs.enforced!);
    try {
      bpf.redirect.setTarget({ address4: PROXY, tlsPort: port, plainPort: port, proxyCgroupId: cgroupIdOf(cgroups.dirs.proxy!) });
      bpf.redirect.redirect(enforced);
      const workload = Probe.start(cgroups.dirs.enforced!);
      probes.push(workload);
      const a = await workload.connect(PROVIDER, 443);
      const b = await workload.connect(PROVIDER, 8080);
      expect([a.ok, b.ok]).toEqual([true, true]);
      const deadline = Date.now() + 3000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const byPort = new Map(seen.map((s) => [s.peer.port, s.origin]));
      expect(byPort.get(a.localPort!)).toEqual({ destination: { address: PROVIDER, port: 443 }, cgroupId: enforced, pid: workload.pid });
      expect(byPort.get(b.localPort!)).toEqual({ destination: { address: PROVIDER, port: 8080 }, cgroupId: enforced, pid: workload.pid });
      // a connection that was never redirected has no origin
      expect(bpf.redirect.origin({ address: PROXY, port: 1 })).toBeNull();
    } finally {
      bpf.redirect.setTarget(null);
      bpf.redirect.unredirect(enforced);
      proxy.close();
    }
  });
});
