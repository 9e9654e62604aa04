import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip } from '@higgs/evals/testing';
import { availability, cgroupIdOf, findCgroup2Root, loadPrograms, type HiggsEvent, type HiggsPrograms } from './index.ts';
import { makeCgroups, Probe } from './testing/probe.ts';

const avail = availability();
const run = requireOrSkip('BPF', avail.available ? null : avail.reasons.join('; '));

const PROVIDER = '127.0.9.1'; // all of 127/8 is local: a "provider" with a real listener
const OTHER = '127.0.0.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Listener {
  server: Server;
  port: number;
  received: () => string;
}

async function listen(host: string): Promise<Listener> {
  let data = '';
  const server = createServer((s) => s.on('data', (d) => (data += d.toString())).on('error', () => {}));
  server.listen(0, host);
  await once(server, 'listening');
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, received: () => data };
}

async function until<T>(what: string, get: () => T | undefined | null | false, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe.runIf(run)('namespace quarantine and transparent redirect in the kernel (cgroup/connect4 + cgroup_skb/egress)', () => {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const pinDir = `/sys/fs/bpf/higgs-test-${suffix}`;
  let cgroups: ReturnType<typeof makeCgroups>;
  let bpf: HiggsPrograms;
  let provider: Listener;
  let other: Listener;
  const probes: Probe[] = [];
  const probe = (dir: string) => {
    const p = Probe.start(dir);
    probes.push(p);
    return p;
  };

  beforeAll(async () => {
    cgroups = makeCgroups(findCgroup2Root()!, ['quarantined', 'neighbour', 'crash', 'enforced', 'proxy']);
    // attached at the test's own cgroup subtree rather than the hierarchy root, so
    // a crashed run leaves nothing attached that affects the rest of the machine
    bpf = loadPrograms({ pinDir, cgroupRoot: cgroups.base });
    bpf.quarantine.addProvider(`${PROVIDER}/32`);
    provider = await listen(PROVIDER);
    other = await listen(OTHER);
  });

  afterAll(async () => {
    for (const p of probes) await p.kill();
    bpf?.quarantine.unload();
    bpf?.close();
    provider?.server.close();
    other?.server.close();
    cgroups?.remove();
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('refuses only the quarantined cgroup, only to providers, and release restores it', async () => {
    const q = bpf.quarantine;
    const id = cgroupIdOf(cgroups.dirs.quarantined!);
    const inside = probe(cgroups.dirs.quarantined!);
    const neighbour = probe(cgroups.dirs.neighbour!);
    const denied = q.events();
    try {
      expect((await inside.connect(PROVIDER, provider.port)).ok).toBe(true);

      q.quarantine(id);
      expect(await inside.connect(PROVIDER, provider.port)).toMatchObject({ ok: false, code: 'EPERM' });
      expect((await inside.connect(OTHER, other.port)).ok).toBe(true);
      expect((await neighbour.connect(PROVIDER, provider.port)).ok).toBe(true);

      const event = (await denied.next()).value as HiggsEvent;
      expect(event).toMatchObject({ kind: 'connect_denied', cgroupId: id, pid: inside.pid, daddr: PROVIDER, dport: provider.port, family: 4 });
      expect(q.get(id)?.denied).toBe(1n);
      expect(q.counters().connect_denied).toBeGreaterThanOrEqual(1n);

      expect(q.release(id)).toBe(true);
      expect((await inside.connect(PROVIDER, provider.port)).ok).toBe(true);
      expect(q.release(id)).toBe(false);
    } finally {
      denied.close();
    }
  });

  it('drops packets of a connection opened before the quarantine, until release', async () => {
    const q = bpf.quarantine;
    const id = cgroupIdOf(cgroups.dirs.quarantined!);
    const inside = probe(cgroups.dirs.quarantined!);
    const conn = await inside.connect(PROVIDER, provider.port);
    await inside.send(conn.id!, 'before;');
    await until('bytes before the quarantine', () => provider.received().includes('before;'));

    const droppedBefore = q.counters().egress_dropped;
    q.quarantine(id);
    try {
      await inside.send(conn.id!, 'during;');
      await sleep(300);
      expect(provider.received()).not.toContain('during;');
      expect(q.counters().egress_dropped).toBeGreaterThan(droppedBefore);
    } finally {
      q.release(id);
    }
    // TCP retransmits what was dropped once the quarantine is lifted
    await until('the retransmitted bytes', () => provider.received().includes('during;'), 5000);
  });

  it('keeps the maps and the quarantine through a program reload', async () => {
    const q = bpf.quarantine;
    const id = cgroupIdOf(cgroups.dirs.quarantined!);
    const inside = probe(cgroups.dirs.quarantined!);
    q.quarantine(id);
    try {
      expect((await inside.connect(PROVIDER, provider.port)).code).toBe('EPERM');
      q.reload();
      expect(q.listProviders()).toEqual([`${PROVIDER}/32`]);
      expect(q.get(id)?.denied).toBe(1n);
      expect((await inside.connect(PROVIDER, provider.port)).code).toBe('EPERM');
      expect(q.get(id)?.denied).toBe(2n);
    } finally {
      q.release(id);
    }
  });

  it('stays in force when the loader is SIGKILLed, and a restarted loader adopts it', async () => {
    const crashPins = `${pinDir}-crash`;
    const fixture = fileURLToPath(new URL('./testing/hold-quarantine.ts', import.meta.url));
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const loader = spawn(process.execPath, ['--import', tsx, fixture, crashPins, cgroups.base, `${PROVIDER}/32`, cgroups.dirs.crash!], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let adopted: HiggsPrograms | null = null;
    try {
      const [line] = (await once(loader.stdout!, 'data')) as [Buffer];
      expect(line.toString()).toContain('ready loaded');
      loader.kill('SIGKILL');
      await once(loader, 'exit');

      const inside = probe(cgroups.dirs.crash!);
      expect(await inside.connect(PROVIDER, provider.port)).toMatchObject({ ok: false, code: 'EPERM' });

      adopted = loadPrograms({ pinDir: crashPins, cgroupRoot: cgroups.base, flows: false });
      expect(adopted.quarantine.adopted).toBe(true);
      expect(adopted.quarantine.list().map((e) => e.cgroupId)).toEqual([cgroupIdOf(cgroups.dirs.crash!)]);
      adopted.quarantine.release(cgroupIdOf(cgroups.dirs.crash!));
      expect((await inside.connect(PROVIDER, provider.port)).ok).toBe(true);
    } finally {
      if (loader.exitCode === null && loader.signalCode === null) loader.kill('SIGKILL');
      // a loader that adopts the pins can also remove them
      adopted ??= loadPrograms({ pinDir: crashPins, cgroupRoot: cgroups.base, flows: false });
      adopted.quarantine.unload();
      adopted.close();
      rmSync(crashPins, { recursive: true, force: true });
    }
  });

  it('redirects an enforce-labelled cgroup\'s provider connections to the proxy, by port, except the proxy\'s own', async () => {
    const plain = await listen(OTHER);
    const tls = await listen(OTHER);
    const enforced = cgroupIdOf(cgroups.dirs.enforced!);
    const proxyCgroup = cgroupIdOf(cgroups.dirs.proxy!);
    const r = bpf.redirect;
    try {
      r.setTarget({ address4: OTHER, tlsPort: tls.port, plainPort: plain.port, proxyCgroupId: proxyCgroup });
      r.redirect(enforced);
      r.redirect(proxyCgroup); // labelled too, yet excluded as the proxy
      expect(r.list().sort()).toEqual([enforced, proxyCgroup].sort());
      const before = bpf.quarantine.counters().connect_redirected;

      const workload = probe(cgroups.dirs.enforced!);
      const toProvider = await workload.connect(PROVIDER, provider.port);
      await workload.send(toProvider.id!, 'redirected-plain;');
      const to443 = await workload.connect(PROVIDER, 443); // nothing listens on 127.0.9.1:443: only the redirect can connect
      expect(to443.ok).toBe(true);
      await workload.send(to443.id!, 'redirected-tls;');
      const toOther = await workload.connect(OTHER, other.port);
      await workload.send(toOther.id!, 'not-a-provider;');
      const proxyItself = probe(cgroups.dirs.proxy!);
      const upstream = await proxyItself.connect(PROVIDER, provider.port);
      await proxyItself.send(upstream.id!, 'proxy-upstream;');

      await until('redirected bytes at the proxy', () => plain.received().includes('redirected-plain;') && tls.received().includes('redirected-tls;'));
      await until('direct bytes', () => other.received().includes('not-a-provider;') && provider.received().includes('proxy-upstream;'));
      expect(provider.received()).not.toContain('redirected-');
      expect(bpf.quarantine.counters().connect_redirected - before).toBe(2n);

      bpf.quarantine.quarantine(enforced); // a quarantine wins over a redirect
      expect((await workload.connect(PROVIDER, provider.port)).code).toBe('EPERM');
      bpf.quarantine.release(enforced);

      expect(r.unredirect(enforced)).toBe(true);
      const direct = await workload.connect(PROVIDER, provider.port);
      await workload.send(direct.id!, 'after-unredirect;');
      await until('direct bytes after unredirect', () => provider.received().includes('after-unredirect;'));
    } finally {
      r.setTarget(null);
      r.unredirect(enforced);
      r.unredirect(proxyCgroup);
      plain.server.close();
      tls.server.close();
    }
  });

  it('traces a real connect into the ring buffer with pid, cgroup, comm, addresses and ports', async () => {
    const inside = probe(cgroups.dirs.neighbour!);
    const result = await inside.connect(OTHER, other.port);
    expect(result.ok).toBe(true);
    const events = bpf.flows!.events;
    let seen: HiggsEvent | undefined;
    for (;;) {
      const { value } = await events.next();
      if (value.pid === inside.pid && value.dport === other.port && value.newState === 'SYN_SENT') {
        seen = value;
        break;
      }
    }
    expect(seen).toMatchObject({
      kind: 'flow', cgroupId: cgroupIdOf(cgroups.dirs.neighbour!), comm: 'node', family: 4,
      saddr: OTHER, daddr: OTHER, oldState: 'CLOSE',
    });
    expect(bpf.flows!.counters().flow_events).toBeGreaterThan(0n);
  });
});
