import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availability, cgroupIdOf, findCgroup2Root, loadPrograms } from '@higgs/bpf';
import { requireOrSkip } from '@higgs/evals/testing';
import type { Logger } from '../logger.ts';
import { startKernelEnforcement, type CgroupWorkload } from './kernel.ts';

const avail = availability();
const run = requireOrSkip('BPF', avail.available ? null : avail.reasons.join('; '));
const PROVIDER = '127.0.9.2';

// a process in a cgroup that dials on each stdin line and prints "ok" or the error code
const DIALER = `require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [host, port] = l.split(' ');
  const s = require('node:net').connect({ host, port: Number(port) });
  s.once('connect', () => { console.log('ok'); s.destroy(); });
  s.once('error', (e) => console.log(e.code));
});`;

function dialer(cgroup: string): { child: ChildProcess; dial(host: string, port: number): Promise<string> } {
  const child = spawn(process.execPath, ['-e', DIALER], { stdio: ['pipe', 'pipe', 'inherit'] });
  writeFileSync(`${cgroup}/cgroup.procs`, String(child.pid));
  const lines = createInterface({ input: child.stdout! });
  return {
    child,
    async dial(host, port) {
      const answer = once(lines, 'line') as Promise<[string]>;
      child.stdin!.write(`${host} ${port}\n`);
      return (await answer)[0];
    },
  };
}

describe.runIf(run)('kernel quarantine driven by the scanner policy', () => {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const pinDir = `/sys/fs/bpf/higgs-scanner-test-${suffix}`;
  const base = `${findCgroup2Root()}/higgs-test-${suffix}`;
  const workloads: CgroupWorkload[] = [
    { namespace: 'payments', app: 'api', cgroup: `${base}/payments-api` },
    { namespace: 'support', app: 'bot', cgroup: `${base}/support-bot` },
  ];
  const logs: { msg: string; obj: Record<string, unknown> }[] = [];
  const logger: Logger = { info: (obj, msg) => logs.push({ obj, msg }), warn: (obj, msg) => logs.push({ obj, msg }), error: (obj, msg) => logs.push({ obj, msg }) };
  let server: Server;
  let port = 0;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    for (const w of workloads) mkdirSync(w.cgroup, { recursive: true });
    server = createServer((s) => s.on('error', () => {}));
    server.listen(0, PROVIDER);
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = once(c, 'exit');
        c.kill('SIGKILL');
        await exited;
      }
    }
    server?.close();
    // the scanner leaves its pins (a restart adopts them); the test removes them
    const pinned = loadPrograms({ pinDir, flows: false });
    pinned.quarantine.unload();
    pinned.close();
    rmSync(pinDir, { recursive: true, force: true });
    for (const w of workloads) rmdirSync(w.cgroup);
    rmdirSync(base);
  });

  it('quarantines exactly the known cgroups of a quarantined namespace, releases them, and a restarted scanner adopts the state', async () => {
    let quarantined: string[] = [];
    const payments = dialer(workloads[0]!.cgroup);
    const support = dialer(workloads[1]!.cgroup);
    children.push(payments.child, support.child);
    const options = { workloads: () => workloads, quarantinedNamespaces: () => quarantined, providers: [`${PROVIDER}/32`], logger, pinDir };
    let kernel = startKernelEnforcement(options);
    try {
      expect(kernel.available).toBe(true);
      expect(await payments.dial(PROVIDER, port)).toBe('ok');

      quarantined = ['payments'];
      const ordered = Date.now();
      let answer = await payments.dial(PROVIDER, port);
      while (answer !== 'EPERM' && Date.now() - ordered < 2000) answer = await payments.dial(PROVIDER, port);
      expect(answer).toBe('EPERM');
      expect(await support.dial(PROVIDER, port)).toBe('ok');
      expect(logs).toContainEqual({ msg: 'kernel quarantine applied', obj: expect.objectContaining({ namespace: 'payments', app: 'api' }) });

      kernel.close(); // a scanner restart: the quarantine stays in force meanwhile
      expect(await payments.dial(PROVIDER, port)).toBe('EPERM');
      kernel = startKernelEnforcement(options);
      expect(logs).toContainEqual({ msg: 'kernel enforcement ready', obj: expect.objectContaining({ adopted: true, quarantined: 1 }) });
      expect(kernel.sync()).toEqual({ quarantined: [], released: [] });

      quarantined = [];
      expect(kernel.sync().released).toEqual([cgroupIdOf(workloads[0]!.cgroup)]);
      expect(await payments.dial(PROVIDER, port)).toBe('ok');
    } finally {
      kernel.close();
    }
  });
});
