import { availability, cgroupIdOf, findCgroup2Root, loadPrograms } from '@higgs/bpf';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { BUILD_DIR, loadNative, objectPath } from '@higgs/bpf/native';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startScanner } from '@higgs/scanner';
import { createTenant } from '@higgs/tenant-api';
import { podNetwork } from '../testing/pod-network.ts';
import { until } from '../testing/until.ts';
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
async function connectCost(port: number, n: number, host = '127.0.0.1'): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const { socket } = await dial(host, port);
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
  const each = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < Number(n); i++) { const t = process.hrtime.bigint(); await trip(); each.push(Number(process.hrtime.bigint() - t) / 1000); }
  const mean = Number(process.hrtime.bigint() - t0) / 1000 / Number(n);
  each.sort((a, b) => a - b);
  const pct = (p) => each[Math.min(each.length - 1, Math.floor(p * each.length))];
  console.log(JSON.stringify({ mean, p50: pct(0.5), p99: pct(0.99) }));
  c.destroy(); server.close();
})();
`;

interface TripStats { mean: number; p50: number; p99: number }

async function tlsWorkload(key: string, cert: string, n: number): Promise<TripStats> {
  const child = spawn(process.execPath, ['-e', TLS_WORKLOAD, key, cert, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  await once(child, 'exit');
  return JSON.parse(out.trim()) as TripStats;
}

/**
 * 1 KB TLS round trips (each: SSL_write + SSL_read on both ends) in a node
 * process (OpenSSL in the binary), interleaved in the same run: no uprobes,
 * uprobes capturing the process, and uprobes attached but the process outside
 * the allowed cgroups (the kernel checks the allow map and copies nothing:
 * what an unlabelled process pays). Medians of 5 runs of each; per-run
 * mean, p50 and p99 per round trip.
 */
async function tlsOverhead(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'higgs-bench-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  try {
    const runs = { without: [] as TripStats[], capturing: [] as TripStats[], filtered: [] as TripStats[] };
    // the probes are attached per run, the conditions interleaved, so load drifts hit each alike
    let captured = 0;
    for (let r = 0; r < 5; r++) {
      runs.without.push(await tlsWorkload(key, cert, 2_000));
      const probes = loadPrograms({ pinDir: `/sys/fs/bpf/higgs-bench-tls-${process.pid}`, flows: false, tls: [process.execPath] });
      try {
        void (async () => {
          for await (const _ of probes.tls!.events) captured++;
        })();
        runs.capturing.push(await tlsWorkload(key, cert, 2_000));
        probes.tls!.setCgroups([1n]); // an id no process here is in: every SSL call is filtered
        const before = probes.tls!.filtered();
        runs.filtered.push(await tlsWorkload(key, cert, 2_000));
        if (probes.tls!.filtered() - before < 2_000n) throw new Error('the cgroup filter did not see the workload');
      } finally {
        probes.quarantine.unload();
        probes.close();
      }
    }
    if (captured === 0) throw new Error('the uprobes captured nothing');
    const med = (xs: TripStats[], k: keyof TripStats) => median(xs.map((x) => x[k]));
    const out: BenchResult[] = [];
    for (const [cond, label] of [['capturing', 'uprobes capturing'], ['filtered', 'uprobes attached, process not in an allowed cgroup']] as const) {
      for (const k of ['mean', 'p50', 'p99'] as const) {
        const a = med(runs[cond], k);
        const b = med(runs.without, k);
        out.push({ name: `1 KB TLS round trip (SSL_write + SSL_read), ${label}, ${k} (median of 5 runs)`, value: +a.toFixed(1), unit: 'us', baseline: +b.toFixed(1), ratio: +(a / b).toFixed(3) });
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * connect() with the redirect program rewriting it: a cgroup in the redirect
 * map dials a provider address and lands on the local listener (connect4 +
 * the sockops program recording the origin), vs. the same dial to the
 * listener with no programs (`baseline`, measured earlier in the same run).
 */
async function redirectConnectCost(bpf: ReturnType<typeof loadPrograms>, selfId: bigint, otherId: bigint, port: number, baseline: number): Promise<BenchResult[]> {
  bpf.redirect.setTarget({ address4: '127.0.0.1', tlsPort: port, plainPort: port, proxyCgroupId: otherId });
  bpf.redirect.redirect(selfId);
  try {
    const before = bpf.quarantine.counters().connect_redirected;
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) runs.push(await connectCost(port, 1_000, PROVIDER));
    const redirected = Number(bpf.quarantine.counters().connect_redirected - before);
    if (redirected < 5_000) throw new Error(`expected 5000 redirected connects, the kernel counted ${redirected}`);
    const nonProvider: number[] = [];
    for (let r = 0; r < 5; r++) nonProvider.push(await connectCost(port, 1_000));
    const a = median(runs);
    const c = median(nonProvider);
    return [
      { name: 'connect() rewritten by the redirect program (provider address -> local listener, origin recorded)', value: +a.toFixed(1), unit: 'us', baseline: +baseline.toFixed(1), ratio: +(a / baseline).toFixed(3) },
      { name: 'connect() from a redirected cgroup to a non-provider address (lookups only)', value: +c.toFixed(1), unit: 'us', baseline: +baseline.toFixed(1), ratio: +(c / baseline).toFixed(3) },
    ];
  } finally {
    bpf.redirect.unredirect(selfId);
    bpf.redirect.setTarget(null);
  }
}

/** The `timing` of the scanner's 'session killed' log (scanner/src/enforcement/session-kill.ts): µs from the policy's receipt. */
interface KillTiming { resetUs: number; iterStartUs: number | null; iterEndUs: number | null }

const epochMs = () => performance.timeOrigin + performance.now();

// One client process; on each stdin line "<traceId>" it opens a streaming request through the proxy with that
// session and prints {trace, event, at} lines, `at` in epoch ms (the same clock as this process).
const STREAMER = `
const http = require('node:http');
const [proxyHost, proxyPort] = process.argv.slice(1);
const at = () => performance.timeOrigin + performance.now();
const say = (o) => console.log(JSON.stringify({ ...o, at: at() }));
require('node:readline').createInterface({ input: process.stdin }).on('line', (trace) => {
  const req = http.request({ host: proxyHost, port: Number(proxyPort), method: 'POST', path: 'http://api.openai.com/v1/chat/completions',
    agent: new http.Agent({ keepAlive: false }),
    headers: { host: 'api.openai.com', 'content-type': 'application/json', traceparent: '00-' + trace + '-' + '1'.repeat(16) + '-01' } });
  req.on('response', (res) => {
    res.once('data', () => say({ trace, event: 'flowing' }));
    res.on('error', (e) => say({ trace, event: 'error', code: e.code }));
    res.on('end', () => say({ trace, event: 'end' }));
  });
  req.on('error', (e) => say({ trace, event: 'error', code: e.code }));
  req.end(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'count' }] }));
});`;

/** p50 and p99 (ms) of a measure, and how many samples they come from. */
interface Percentiles { p50: number; p99: number; n: number }

/**
 * The machine's floor for the kill figures, no Higgs involved: the same client
 * process streams straight from a plain HTTP server in this process, which
 * resets the connection (SO_LINGER 0, as the proxy does); ms from the reset to
 * the client's error event, on the client's clock. What a kill can never beat
 * here: the other process waking up on this VM.
 */
async function wakeFloor(samples: number): Promise<Percentiles> {
  const sockets = new Map<string, Socket>();
  const server = createHttpServer((req, res) => {
    const trace = /^00-([0-9a-f]{32})-/.exec(String(req.headers.traceparent))?.[1];
    if (trace) sockets.set(trace, req.socket);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => res.write('data: {"choices":[{"delta":{"content":"x"}}]}\n\n'), 20);
    res.on('close', () => clearInterval(timer));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = spawn(process.execPath, ['-e', STREAMER, '127.0.0.1', String((server.address() as { port: number }).port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: client.stdout! });
  const next = (trace: string, event: string) => new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wake floor: no ${event} for ${trace}`)), 10_000);
    const on = (l: string) => {
      const e = JSON.parse(l) as { trace: string; event: string; at: number };
      if (e.trace !== trace || e.event !== event) return;
      clearTimeout(timer);
      lines.off('line', on);
      resolve(e.at);
    };
    lines.on('line', on);
  });
  try {
    const xs: number[] = [];
    for (let i = 0; i < samples; i++) {
      const trace = randomBytes(16).toString('hex');
      const flowing = next(trace, 'flowing');
      client.stdin!.write(`${trace}\n`);
      await flowing;
      const errored = next(trace, 'error');
      const t0 = epochMs();
      sockets.get(trace)!.resetAndDestroy();
      xs.push((await errored) - t0);
      sockets.delete(trace);
    }
    xs.sort((a, b) => a - b);
    return { p50: percentile(xs, 0.5), p99: percentile(xs, 0.99), n: xs.length };
  } finally {
    client.kill('SIGKILL');
    server.closeAllConnections();
    server.close();
  }
}

/**
 * Through the whole product: tenant (PGlite in memory), scanner with kernel
 * enforcement, MCP tool calls. Kill order -> client error (from the tool call,
 * and from the policy reaching the scanner) with and without the proxy's
 * user-space reset; quarantine tool call -> first refused connect.
 */
async function endToEnd(base: string, proxyReset: boolean, samples: number, quarantine: boolean, floor: Percentiles, pod = false): Promise<BenchResult[]> {
  const tag = pod ? `kernel destroy only, pod in its own netns, ${POD_EHASH_ENTRIES}-bucket hash` : proxyReset ? 'proxy reset + kernel' : 'kernel destroy only';
  const dir = mkdtempSync(join(tmpdir(), 'higgs-bench-e2e-'));
  const cgroup = `${base}/e2e-payments-${pod ? 'p' : proxyReset ? 'r' : 'k'}`;
  mkdirSync(cgroup, { recursive: true });
  // the client as a Kubernetes pod runs: its own network namespace on a veth pair, its own address
  const net = pod ? podNetwork({ secondOctet: 214, ehashEntries: POD_EHASH_ENTRIES }) : null;
  const pinDir = `/sys/fs/bpf/higgs-bench-e2e-${process.pid}`;
  const upstream = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write('data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n'), 20);
      res.on('close', () => clearInterval(timer));
    });
  });
  upstream.listen(0, '127.0.9.5');
  await once(upstream, 'listening');
  const provider = createServer((s) => s.on('error', () => {}));
  provider.listen(0, '127.0.9.6');
  await once(provider, 'listening');
  const providerPort = (provider.address() as { port: number }).port;
  const adminToken = randomBytes(24).toString('base64url');
  const scannerToken = randomBytes(24).toString('base64url');
  const tenant = await createTenant({ host: '127.0.0.1', port: 0, dataDir: 'memory://', adminToken, scannerToken, logLevel: 'silent' });
  const policyAt: number[] = [];
  // the scanner's own account of each kill: microseconds from the policy's receipt to the reset and to the kernel walk
  const killTimings = new Map<string, KillTiming>();
  const logger = {
    info: (o: object, msg: string) => {
      if (msg === 'policy applied') policyAt.push(epochMs());
      if (msg === 'session killed') {
        const { sessionId, timing } = o as { sessionId: string; timing: KillTiming };
        killTimings.set(sessionId, timing);
      }
    },
    warn: () => {}, error: () => {},
  };
  const workloadsFile = join(dir, 'workloads.json');
  writeFileSync(workloadsFile, JSON.stringify({ workloads: [{ namespace: 'payments', app: 'api', cgroup, ...(net ? { ips: [net.podIp] } : {}) }] }));
  const scanner = await startScanner({
    scannerId: 'bench', dataDir: join(dir, 'scanner'), ...(net ? { proxyHost: net.nodeIp } : {}), proxyPort: 0, policyPort: 0, tenantUrl: tenant.url, scannerToken, logger,
    hostsOverride: { 'api.openai.com': `127.0.9.5:${(upstream.address() as { port: number }).port}` }, workloadsFile, hashSalt: 'bench',
    kernelEnforcement: { providers: ['127.0.9.6/32'], pinDir, proxyReset },
  });
  const mcp = new Client({ name: 'bench', version: '1.0.0' });
  const proxy = new URL(scanner.proxyUrl);
  const client = net
    ? spawn('nsenter', [`--net=${net.path}`, process.execPath, '-e', STREAMER, proxy.hostname, proxy.port], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, ['-e', STREAMER, proxy.hostname, proxy.port], { stdio: ['pipe', 'pipe', 'inherit'] });
  // the kill finds a pod's namespace through a process in its cgroup
  if (net) writeFileSync(`${cgroup}/cgroup.procs`, String(client.pid));
  const dialerChild = spawn(process.execPath, ['-e', `require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
    const s = require('node:net').connect({ host: '127.0.9.6', port: Number(l) });
    s.once('connect', () => { console.log('ok'); s.destroy(); }); s.once('error', (e) => console.log(e.code)); });`], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await scanner.waitForPolicy(() => true, 10_000);
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${tenant.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${adminToken}` } } }));
    const tool = async (name: string, args: Record<string, unknown>) => {
      const r = await mcp.callTool({ name, arguments: args });
      if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
    };
    const events = new Map<string, { event: string; at: number; code?: string }[]>();
    const waiters = new Set<() => void>();
    createInterface({ input: client.stdout! }).on('line', (l) => {
      const e = JSON.parse(l) as { trace: string; event: string; at: number; code?: string };
      events.set(e.trace, [...(events.get(e.trace) ?? []), e]);
      for (const w of [...waiters]) w();
    });
    const waitEvent = (trace: string, event: string) => new Promise<{ at: number; code?: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} for ${trace}`)), 10_000);
      const check = () => {
        const hit = events.get(trace)?.find((e) => e.event === event);
        if (hit) { clearTimeout(timer); waiters.delete(check); resolve(hit); }
      };
      waiters.add(check);
      check();
    });
    const fromTool: number[] = [];
    const fromPolicy: number[] = [];
    // per kill, ms from the policy's receipt: resets sent, kernel walk started / ended (scanner's clock), client error (client's)
    const steps = { reset: [] as number[], iterStart: [] as number[], iterEnd: [] as number[], error: [] as number[], clientWake: [] as number[] };
    for (let i = 0; i < samples; i++) {
      const trace = randomBytes(16).toString('hex');
      client.stdin!.write(`${trace}\n`);
      await waitEvent(trace, 'flowing');
      const before = policyAt.length;
      const t0 = epochMs();
      await tool('kill_session', { sessionId: `t-${trace}`, reason: 'bench' });
      const err = await waitEvent(trace, 'error');
      fromTool.push(err.at - t0);
      const applied = policyAt.slice(before).find((t) => t >= t0);
      if (applied === undefined) continue;
      fromPolicy.push(err.at - applied);
      // polled every millisecond: the scanner logs a kill after its kernel pass
      const timing = await until('the scanner\'s kill record', () => killTimings.get(`t-${trace}`), 5_000, 1);
      if (proxyReset) steps.reset.push(timing.resetUs / 1000);
      if (timing.iterStartUs !== null) steps.iterStart.push(timing.iterStartUs / 1000);
      if (timing.iterEndUs !== null) steps.iterEnd.push(timing.iterEndUs / 1000);
      steps.error.push(err.at - applied);
      // what the client process takes to see its error once the scanner has done its part (the reset, or else the walk)
      const scannerDone = proxyReset ? timing.resetUs / 1000 : timing.iterEndUs === null ? null : timing.iterEndUs / 1000;
      if (scannerDone !== null) steps.clientWake.push(err.at - applied - scannerDone);
    }
    fromTool.sort((a, b) => a - b);
    fromPolicy.sort((a, b) => a - b);
    const results: BenchResult[] = [
      // baseline: the machine's floor, a reset seen by the same client with no Higgs in between (wakeFloor)
      { name: `kill: policy at the scanner -> client error (${tag}), p50 of ${fromPolicy.length}; baseline: bare reset -> client error`, value: +percentile(fromPolicy, 0.5).toFixed(3), unit: 'ms', baseline: +floor.p50.toFixed(3), ratio: +(percentile(fromPolicy, 0.5) / floor.p50).toFixed(2) },
      { name: `kill: policy at the scanner -> client error (${tag}), p99 of ${fromPolicy.length}; baseline: bare reset -> client error`, value: +percentile(fromPolicy, 0.99).toFixed(3), unit: 'ms', baseline: +floor.p99.toFixed(3), ratio: +(percentile(fromPolicy, 0.99) / floor.p99).toFixed(2), target: 'p99 <= 5 ms', pass: percentile(fromPolicy, 0.99) <= 5 },
      { name: `kill: kill_session tool call -> client error (${tag}), p50`, value: +percentile(fromTool, 0.5).toFixed(3), unit: 'ms' },
      { name: `kill: kill_session tool call -> client error (${tag}), p99`, value: +percentile(fromTool, 0.99).toFixed(3), unit: 'ms' },
    ];
    for (const [step, label] of [['reset', 'proxy resets returned'], ['iterStart', 'kernel walk started (worker thread)'], ['iterEnd', 'kernel walk ended'], ['error', 'client error'], ['clientWake', proxyReset ? 'resets sent -> client error (the client process waking up; negative when it ran before the scanner\'s close() returned)' : 'walk ended -> client error (the socket died during the walk)']] as const) {
      const xs = [...steps[step]].sort((a, b) => a - b);
      if (xs.length === 0) continue;
      for (const p of [0.5, 0.99]) {
        results.push({ name: `kill breakdown (${tag}): ${step === 'clientWake' ? label : `policy received -> ${label}`}, p${p * 100}`, value: +percentile(xs, p).toFixed(3), unit: 'ms' });
      }
    }
    if (!proxyReset || !quarantine) return results;

    // quarantine: tool call -> the first refused connect of a process in the workload's cgroup
    writeFileSync(`${cgroup}/cgroup.procs`, String(dialerChild.pid));
    const lines = createInterface({ input: dialerChild.stdout! });
    const dialQ = async () => {
      const answer = once(lines, 'line') as Promise<[string]>;
      dialerChild.stdin!.write(`${providerPort}\n`);
      return (await answer)[0];
    };
    const toRefusal: number[] = [];
    const toolMs: number[] = [];
    const toPolicy: number[] = [];
    for (let i = 0; i < Math.max(5, Math.floor(samples / 3)); i++) {
      if ((await dialQ()) !== 'ok') throw new Error('the provider is not reachable before the quarantine');
      const before = policyAt.length;
      const t0 = epochMs();
      await tool('quarantine_namespace', { namespace: 'payments', reason: 'bench' });
      toolMs.push(epochMs() - t0);
      await scanner.waitForPolicy((p) => p.quarantinedNamespaces.includes('payments'), 5_000);
      toPolicy.push((policyAt.slice(before).find((t) => t >= t0) ?? Number.NaN) - t0);
      while ((await dialQ()) !== 'EPERM') if (epochMs() - t0 > 5_000) throw new Error('no refusal within 5 s');
      toRefusal.push(epochMs() - t0);
      await tool('release_quarantine', { namespace: 'payments', reason: 'bench' });
      const t1 = epochMs();
      while ((await dialQ()) !== 'ok') if (epochMs() - t1 > 5_000) throw new Error('not released within 5 s');
    }
    toRefusal.sort((a, b) => a - b);
    results.push(
      { name: 'quarantine: the tool call itself (MCP over HTTP, tenant transaction), median', value: +median(toolMs).toFixed(3), unit: 'ms' },
      { name: 'quarantine: the tool call itself, max', value: +Math.max(...toolMs).toFixed(3), unit: 'ms' },
      { name: 'quarantine: tool call -> policy applied at the scanner (long-poll), median', value: +median(toPolicy).toFixed(3), unit: 'ms' },
      { name: 'quarantine: tool call -> policy applied at the scanner (long-poll), max', value: +Math.max(...toPolicy).toFixed(3), unit: 'ms' },
    );
    results.push(
      { name: 'quarantine: quarantine_namespace tool call -> first refused connect, p50', value: +percentile(toRefusal, 0.5).toFixed(3), unit: 'ms' },
      { name: 'quarantine: quarantine_namespace tool call -> first refused connect, max', value: +toRefusal.at(-1)!.toFixed(3), unit: 'ms', target: '<= 100 ms', pass: toRefusal.at(-1)! <= 100 },
    );
    return results;
  } finally {
    client.kill('SIGKILL');
    dialerChild.kill('SIGKILL');
    await mcp.close().catch(() => undefined);
    await scanner.close();
    await tenant.close();
    upstream.closeAllConnections();
    upstream.close();
    provider.close();
    const pinned = loadPrograms({ pinDir, flows: false });
    pinned.quarantine.unload();
    pinned.close();
    rmSync(pinDir, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 100)); // the killed dialer and client leave the cgroup
    rmdirSync(cgroup);
    net?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The hash size of the bench's pod namespace (net.ipv4.tcp_child_ehash_entries when it is created). */
const POD_EHASH_ENTRIES = 1024;


// Runs in a fresh network namespace: the iterator it creates walks that namespace's TCP table.
const NETNS_WALK = `
const [addon, object] = process.argv.slice(1);
const b = require(addon);
const obj = b.openObject(object); b.loadObject(obj);
const iter = b.attachIter(obj, 'higgs_kill');
const xs = [];
for (let i = 0; i < 50; i++) { const t = process.hrtime.bigint(); b.iterRun(iter); xs.push(Number(process.hrtime.bigint() - t) / 1000); }
xs.sort((a, c) => a - c);
console.log(JSON.stringify({ p50: xs[25], p99: xs[49], buckets: Number(require('node:fs').readFileSync('/proc/sys/net/ipv4/tcp_ehash_entries', 'utf8')) }));`;

/**
 * The walk's cost is the size of the table it walks: a workload in its own
 * network namespace created with net.ipv4.tcp_child_ehash_entries has a table
 * of that size, and an iterator created from inside that namespace walks only
 * it. The sysctl applies to namespaces created while it is set; it is restored
 * at once. Null where unshare(1) is missing.
 */
function netnsWalk(entries: number): { p50: number; p99: number; buckets: number } | null {
  const sysctl = '/proc/sys/net/ipv4/tcp_child_ehash_entries';
  if (!existsSync('/usr/bin/unshare')) return null;
  const before = readFileSync(sysctl, 'utf8').trim();
  let out: string;
  writeFileSync(sysctl, String(entries));
  try {
    out = execFileSync('/usr/bin/unshare', ['--net', process.execPath, '-e', NETNS_WALK, join(BUILD_DIR, 'Release', 'higgs_bpf.node'), objectPath('kill')], { encoding: 'utf8' });
  } finally {
    writeFileSync(sysctl, before);
  }
  return JSON.parse(out.trim()) as { p50: number; p99: number; buckets: number };
}

/** Where a kill's kernel time goes: object load (once), iterator link (once), and each iter/tcp pass. */
async function killProfile(): Promise<BenchResult[]> {
  const native = loadNative();
  if (!('binding' in native)) return [];
  const b = native.binding;
  const t0 = process.hrtime.bigint();
  const obj = b.openObject(objectPath('kill'));
  b.loadObject(obj);
  const loaded = micros(t0);
  const t1 = process.hrtime.bigint();
  const iter = b.attachIter(obj, 'higgs_kill');
  const attached = micros(t1);
  const passes: number[] = [];
  const asyncPasses: number[] = [];
  const asyncWalks: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = process.hrtime.bigint();
    b.iterRun(iter);
    passes.push(micros(t));
    const ta = process.hrtime.bigint();
    const pass = await b.iterRunAsync(iter);
    asyncPasses.push(micros(ta));
    asyncWalks.push(Number(pass.endNs - pass.startNs) / 1000);
  }
  b.destroyLink(iter);
  b.closeObject(obj);
  for (const xs of [passes, asyncPasses, asyncWalks]) xs.sort((a, b) => a - b);
  const buckets = Number(readFileSync('/proc/sys/net/ipv4/tcp_ehash_entries', 'utf8').trim());
  const netns = netnsWalk(1024);
  return [
    { name: 'kill profile: load kill.bpf.o (once per scanner)', value: +(loaded / 1000).toFixed(3), unit: 'ms' },
    { name: 'kill profile: create the iter/tcp link (once per scanner)', value: +(attached / 1000).toFixed(3), unit: 'ms' },
    { name: `kill profile: one iter/tcp pass over ${Math.abs(buckets)} ehash buckets, p50`, value: +(percentile(passes, 0.5) / 1000).toFixed(3), unit: 'ms' },
    { name: 'kill profile: one iter/tcp pass, p99', value: +(percentile(passes, 0.99) / 1000).toFixed(3), unit: 'ms' },
    ...(netns ? [
      { name: `kill profile: one iter/tcp pass from a workload netns with its own ${netns.buckets}-bucket table (net.ipv4.tcp_child_ehash_entries), p50`, value: +(netns.p50 / 1000).toFixed(3), unit: 'ms' },
      { name: 'kill profile: one iter/tcp pass from that netns, p99', value: +(netns.p99 / 1000).toFixed(3), unit: 'ms' },
    ] : []),
    { name: 'kill profile: iterRunAsync walk on the worker, p50', value: +(percentile(asyncWalks, 0.5) / 1000).toFixed(3), unit: 'ms' },
    { name: 'kill profile: iterRunAsync call -> result on the event loop, p50 (baseline: iterRun)', value: +(percentile(asyncPasses, 0.5) / 1000).toFixed(3), unit: 'ms', baseline: +(percentile(passes, 0.5) / 1000).toFixed(3), ratio: +(percentile(asyncPasses, 0.5) / percentile(passes, 0.5)).toFixed(3) },
  ];
}

/** connect() with the programs attached vs. without, and quarantine order (map update) -> refused connect. */
async function connectAndQuarantine(bpf: ReturnType<typeof loadPrograms>, self: string, base: string, port: number, withoutRuns: number[], results: BenchResult[]): Promise<void> {
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
  results.push(...await redirectConnectCost(bpf, cgroupIdOf(self), cgroupIdOf(base), port, without));

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
  // HIGGS_BENCH_BPF_KILL_ONLY=1: only the session-kill figures (connect, quarantine and TLS take most of the run)
  const killOnly = process.env.HIGGS_BENCH_BPF_KILL_ONLY === '1';
  try {
    writeFileSync(`${self}/cgroup.procs`, String(process.pid));
    for (let i = 0; i < 300; i++) (await dial('127.0.0.1', port)).socket!.resetAndDestroy(); // warm up
    const withoutRuns: number[] = [];
    if (!killOnly) for (let r = 0; r < 5; r++) withoutRuns.push(await connectCost(port, 1_000));

    const bpf = loadPrograms({ pinDir, cgroupRoot: base, flows: false });
    try {
      const q = bpf.quarantine;
      if (!killOnly) await connectAndQuarantine(bpf, self, base, port, withoutRuns, results);
      // kill order → the client's error event: kill() (the walk on a worker thread, as the scanner runs it)
      // interleaved with destroy() (the walk on this thread) as the baseline
      if (bpf.sessions) {
        const sessions = bpf.sessions;
        const toError = { async: [] as number[], sync: [] as number[] };
        const queue: number[] = [];
        const walk: number[] = [];
        for (let i = 0; i < 400; i++) {
          const mode = i % 2 === 0 ? 'async' : 'sync';
          const { socket } = await dial('127.0.0.1', port);
          const s = socket!;
          const errored = once(s, 'error');
          const tuple = { local: { address: '127.0.0.1', port: s.localPort! }, remote: { address: '127.0.0.1', port } };
          const t0 = process.hrtime.bigint();
          let killed: number;
          if (mode === 'async') {
            const pass = await sessions.kill([tuple]);
            killed = pass.killed.length;
            queue.push(Number(pass.timing.startNs - pass.timing.calledNs) / 1000);
            walk.push(Number(pass.timing.endNs - pass.timing.startNs) / 1000);
          } else {
            killed = sessions.destroy([tuple]).length;
          }
          await errored;
          toError[mode].push(micros(t0));
          if (killed !== 1) throw new Error(`expected one socket destroyed, got ${killed}`);
          s.destroy();
        }
        for (const xs of [toError.async, toError.sync, queue, walk]) xs.sort((a, b) => a - b);
        const ms = (xs: number[], p: number) => +(percentile(xs, p) / 1_000).toFixed(3);
        const p99 = ms(toError.async, 0.99);
        results.push(
          { name: 'session kill (bpf level): kill() -> worker starts the walk (queueing), p99', value: ms(queue, 0.99), unit: 'ms' },
          { name: 'session kill (bpf level): one walk of the TCP hash on the worker, p50', value: ms(walk, 0.5), unit: 'ms' },
          { name: 'session kill (bpf level): one walk of the TCP hash on the worker, p99', value: ms(walk, 0.99), unit: 'ms' },
          { name: 'session kill order to client error (bpf level, kill() on a worker; baseline destroy() on the JS thread), p50', value: ms(toError.async, 0.5), unit: 'ms', baseline: ms(toError.sync, 0.5), ratio: +(percentile(toError.async, 0.5) / percentile(toError.sync, 0.5)).toFixed(3) },
          { name: 'session kill order to client error (bpf level, kill() on a worker; baseline destroy() on the JS thread), p99', value: p99, unit: 'ms', baseline: ms(toError.sync, 0.99), ratio: +(percentile(toError.async, 0.99) / percentile(toError.sync, 0.99)).toFixed(3), target: 'p99 <= 5 ms', pass: p99 <= 5 },
        );
      } else {
        console.warn(`bpf bench: ${bpf.unavailable.join('; ')}`);
      }
      q.unload();
    } finally {
      bpf.close();
    }
    results.push(...await killProfile());
    const floor = await wakeFloor(100);
    results.push(
      { name: `kill floor, no Higgs: a plain server resets a stream -> the client process's error, p50 of ${floor.n}`, value: +floor.p50.toFixed(3), unit: 'ms' },
      { name: `kill floor, no Higgs: a plain server resets a stream -> the client process's error, p99 of ${floor.n}`, value: +floor.p99.toFixed(3), unit: 'ms' },
    );
    for (const proxyReset of [true, false]) results.push(...await endToEnd(base, proxyReset, 100, !killOnly, floor));
    results.push(...await endToEnd(base, false, 100, false, floor, true));
    if (!killOnly) results.push(...await tlsOverhead());
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
