import { availability, cgroupIdOf, findCgroup2Root, loadPrograms } from '@higgs/bpf';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

// The measured workload runs in its own process, as in production: the observer
// (this process) consumes the ring buffer without slowing the workload's loop.
const TLS_WORKLOAD = `
const tls = require('node:tls'); const fs = require('node:fs'); const { once } = require('node:events');
const [key, cert, n] = process.argv.slice(1);
(async () => {
  const server = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (s) => s.pipe(s));
  server.listen(0, '127.0.0.1'); await once(server, 'listening');
  const c = tls.connect({ host: '127.0.0.1', port: server.address().port, rejectUnauthorized: false });
  await once(c, 'secureConnect');
  const payload = Buffer.alloc(1024, 'x');
  const trip = async () => { const d = once(c, 'data'); c.write(payload); await d; };
  for (let i = 0; i < 500; i++) await trip();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < Number(n); i++) await trip();
  console.log(Number(process.hrtime.bigint() - t0) / 1000 / Number(n));
  c.destroy(); server.close();
})();
`;

async function tlsWorkload(key: string, cert: string, n: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', TLS_WORKLOAD, key, cert, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  await once(child, 'exit');
  return Number(out.trim());
}

/** 1 KB TLS round trips in a node process (OpenSSL in the binary) with the uprobes attached vs. without. */
async function tlsOverhead(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'higgs-bench-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  try {
    const without: number[] = [];
    for (let r = 0; r < 5; r++) without.push(await tlsWorkload(key, cert, 2_000));
    const bpf = loadPrograms({ pinDir: `/sys/fs/bpf/higgs-bench-tls-${process.pid}`, flows: false, tls: [process.execPath] });
    const withProbes: number[] = [];
    let captured = 0;
    try {
      void (async () => {
        for await (const _ of bpf.tls!.events) captured++;
      })();
      for (let r = 0; r < 5; r++) withProbes.push(await tlsWorkload(key, cert, 2_000));
      if (captured === 0) throw new Error('the uprobes captured nothing');
    } finally {
      bpf.quarantine.unload();
      bpf.close();
    }
    const a = median(withProbes);
    const b = median(without);
    return { name: '1 KB TLS round trip (2 SSL_write + 2 SSL_read) with uprobes', value: +a.toFixed(1), unit: 'us', baseline: +b.toFixed(1), ratio: +(a / b).toFixed(3) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
    results.push(await tlsOverhead());
  } finally {
    writeFileSync(`${root}${home}/cgroup.procs`, String(process.pid));
    server.close();
    rmSync(`/sys/fs/bpf/higgs-bench-tls-${process.pid}`, { recursive: true, force: true });
    rmdirSync(self);
    rmdirSync(base);
    rmSync(pinDir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
