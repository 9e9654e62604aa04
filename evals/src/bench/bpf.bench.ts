// eslint-disable-next-line no-restricted-imports -- benches measure every package; evals' allowed list lacks bpf (see report)
import { availability, cgroupIdOf, findCgroup2Root, loadPrograms } from '@higgs/bpf';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import type { BenchResult } from './types.ts';

const PROVIDER = '127.0.9.1';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const micros = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1_000;

function dial(host: string, port: number): Promise<{ socket: Socket | null; code: string | null }> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => resolve({ socket: s, code: null }));
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ socket: null, code: e.code ?? 'error' }));
  });
}

/** Mean microseconds per connect()+close to a local listener, `n` in a row. */
async function connectCost(port: number, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const { socket } = await dial('127.0.0.1', port);
    socket!.resetAndDestroy(); // RST, no TIME_WAIT: thousands of those would slow the kill iterator
  }
  return micros(t0) / n;
}

/**
 * Kernel primitives (issue 4): kill order → client error, quarantine order →
 * refused connect, and connect() overhead with the programs attached. The
 * bench process moves itself into a cgroup of its own for the run.
 */
export async function run(): Promise<BenchResult[]> {
  const avail = availability();
  if (!avail.available) {
    console.warn(`bpf bench skipped: ${avail.reasons.join('; ')}`);
    return [];
  }
  const root = findCgroup2Root()!;
  const base = `${root}/higgs-bench-${process.pid}`;
  const self = `${base}/self`;
  const pinDir = `/sys/fs/bpf/higgs-bench-${process.pid}`;
  mkdirSync(self, { recursive: true });
  const home = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
  const server = createServer((s) => s.on('error', () => {}));
  server.listen(0, '0.0.0.0');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const results: BenchResult[] = [];
  try {
    writeFileSync(`${self}/cgroup.procs`, String(process.pid));
    for (let i = 0; i < 300; i++) (await dial('127.0.0.1', port)).socket!.resetAndDestroy(); // warm up
    const withoutRuns: number[] = [];
    for (let r = 0; r < 5; r++) withoutRuns.push(await connectCost(port, 1_000));

    const bpf = loadPrograms({ pinDir, cgroupRoot: base, flows: false });
    try {
      const q = bpf.quarantine;
      q.addProvider(`${PROVIDER}/32`);
      // the cgroup is quarantined, the destination is not a provider: both map lookups run
      q.quarantine(cgroupIdOf(self));
      const withRuns: number[] = [];
      for (let r = 0; r < 5; r++) withRuns.push(await connectCost(port, 1_000));
      const without = median(withoutRuns);
      const withProgs = median(withRuns);
      results.push({ name: 'connect() with quarantine programs attached (quarantined cgroup, non-provider)', value: +withProgs.toFixed(1), unit: 'us', baseline: +without.toFixed(1), ratio: +(withProgs / without).toFixed(3) });
      q.release(cgroupIdOf(self));

      // quarantine order (map update) → the next connect refused in the kernel
      const orderToRefusal: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t0 = process.hrtime.bigint();
        q.quarantine(cgroupIdOf(self));
        const { code } = await dial(PROVIDER, port);
        orderToRefusal.push(micros(t0));
        if (code !== 'EPERM') throw new Error(`expected EPERM, got ${code}`);
        q.release(cgroupIdOf(self));
      }
      orderToRefusal.sort((a, b) => a - b);
      const qp99 = percentile(orderToRefusal, 0.99) / 1_000;
      results.push({ name: 'quarantine order (map update) to first refused connect, p99', value: +qp99.toFixed(3), unit: 'ms', target: '<= 100 ms (tool call to kernel)', pass: qp99 <= 100 });

      // kill order → the client's error event
      if (bpf.sessions) {
        const killToError: number[] = [];
        const destroyCall: number[] = [];
        for (let i = 0; i < 200; i++) {
          const { socket } = await dial('127.0.0.1', port);
          const s = socket!;
          const errored = once(s, 'error');
          const t0 = process.hrtime.bigint();
          const killed = bpf.sessions.destroy([{ local: { address: '127.0.0.1', port: s.localPort! }, remote: { address: '127.0.0.1', port } }]);
          destroyCall.push(micros(t0));
          await errored;
          killToError.push(micros(t0));
          if (killed.length !== 1) throw new Error(`expected one socket destroyed, got ${killed.length}`);
          s.destroy();
        }
        killToError.sort((a, b) => a - b);
        const p50 = percentile(killToError, 0.5) / 1_000;
        const p99 = percentile(killToError, 0.99) / 1_000;
        destroyCall.sort((a, b) => a - b);
        results.push({ name: 'session kill: destroy() in the kernel (one iter/tcp pass), p99', value: +(percentile(destroyCall, 0.99) / 1_000).toFixed(3), unit: 'ms' });
        results.push({ name: 'session kill order to client error, p50', value: +p50.toFixed(3), unit: 'ms' });
        results.push({ name: 'session kill order to client error, p99', value: +p99.toFixed(3), unit: 'ms', target: 'p99 <= 5 ms', pass: p99 <= 5 });
      } else {
        console.warn(`bpf bench: ${bpf.unavailable.join('; ')}`);
      }
      q.unload();
    } finally {
      bpf.close();
    }
  } finally {
    writeFileSync(`${root}${home}/cgroup.procs`, String(process.pid));
    server.close();
    rmdirSync(self);
    rmdirSync(base);
    rmSync(pinDir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
