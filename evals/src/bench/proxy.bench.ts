/**
 * The scanner's proxy against a direct connection, measured in the same run on
 * loopback, keep-alive, 1 KB prompt, detectors on and 1 000 rules active for
 * the (enforce-labelled) client; none matches, so every request goes through:
 *
 * - added latency at 1 000 requests/s, open loop (requests leave on schedule
 *   whatever the answers do): p50 and p99 of the proxied path minus the direct
 *   path, each pair measured back to back, the median over the runs;
 * - the throughput ceiling (closed loop) of both paths;
 * - the same two with detectors off (and the 100 rules that need them swapped
 *   for content rules), so the proxy's own cost is visible;
 * - the same two through a bare Node relay (relay-child.ts: the proxy's two
 *   legs, nothing between them), the floor Node's HTTP and TLS machinery sets
 *   on this path: what is above it is the scanner's own work;
 * - the scanner's RSS with 1 000 concurrent open streams.
 *
 * Layout: the scanner runs in a child process pinned to core 0 (`taskset`), so
 * "one core" is literal and its RSS is its own; the mock upstream (a canned
 * `chat.completion`, `upstream-child.ts canned`) runs in a second child and the
 * load generator with a fake tenant (policy + ingest) in this process, both on
 * core 1. The load generator is undici's `dispatch()` with a precomputed body
 * and headers and no response streams, over one keep-alive pool for the direct
 * path and CONNECT tunnels for the proxied path: the same client for both.
 *
 * `BENCH_CPU_PROF=<dir>` writes V8 CPU profiles of the two latency scanners there
 * (`<dir>/scanner`, detectors on; `<dir>/scanner-nodetect`, off).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Rule, RuleMatch, ScannerPolicy } from '@higgs/schema';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { BenchResult } from './types.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const RULES = 1_000;
/** the rate; `HIGGS_BENCH_PROXY_RATE` measures the added latency at another (one the proxy sustains on this machine) */
const RATE_PER_S = Number(process.env.HIGGS_BENCH_PROXY_RATE) > 0 ? Number(process.env.HIGGS_BENCH_PROXY_RATE) : 1_000;
const OPEN_LOOP_MS = 3_000;
const CLOSED_LOOP_MS = 3_000;
const CLOSED_LOOP_CONCURRENCY = 32;
/** keep-alive connections per path: the open loop's bursts never wait for a connection */
const CONNECTIONS = 64;
const STREAMS = 1_000;
const RUNS = 3;
/** p50 above this means the path queues at the offered rate (it cannot keep up) */
const SATURATED_P50_MS = 100;
const URL_PATH = '/v1/chat/completions';
// generous: on a loaded 2-core machine 1 000 TLS handshakes through the MITM take seconds
const CONNECT_TIMEOUT_MS = 60_000;
/** the detectors-off scanner's id: the fake tenant serves it the policy without detector rules */
const NO_DETECT_ID = 'bench-nodetect';

/** Raw HTTP over CONNECT tunnels through the scanner's proxy, trusting its CA. */
function proxyAgent(uri: string, caCertPem: string, connections: number): ProxyAgent {
  return new ProxyAgent({ uri, connections, connect: { timeout: CONNECT_TIMEOUT_MS }, requestTls: { ca: caCertPem, timeout: CONNECT_TIMEOUT_MS } });
}

const PROMPT = ('Please summarise the attached quarterly operations review for the logistics team. Focus on delivery times, '
  + 'warehouse throughput, the backlog of open tickets and the proposed changes to the weekend rota. Keep it under ten bullet points '
  + 'and call out anything that needs a decision before the next planning meeting. ').repeat(4).slice(0, 1024);
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] });
/** encoded once: the load generator sends the same bytes every time */
const BODY_BYTES = Buffer.from(BODY);
const STREAM_BODY = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: PROMPT }] });
const HEADERS = { host: 'api.openai.com', 'content-type': 'application/json', authorization: 'Bearer sk-bench-not-a-key' };

/**
 * 1 000 rules shaped like the product's (literals, patterns, scoped PII and injection rules); none matches the bench prompt.
 * `detectors: false`: the 100 PII and injection rules (which need the detectors) are content rules instead, still 1 000.
 */
function benchPolicy(detectors = true): ScannerPolicy {
  const rules: Rule[] = [];
  const add = (action: Rule['action'], match: RuleMatch): void => {
    rules.push({
      id: `rul_bench_${rules.length}`, name: `bench rule ${rules.length}`, action, match, enabled: true, createdBy: 'bench',
      createdAt: '2026-01-01T00:00:00.000Z', sourceFindingId: null,
    });
  };
  const action = (i: number): Rule['action'] => (['block', 'redact', 'alert'] as const)[i % 3]!;
  for (let i = 0; rules.length < 600; i++) add(action(i), { promptContains: [`codename-${i}`, `project atlas-${i}`], ...(i % 2 ? { namespaces: ['bench'] } : {}) });
  for (let i = 0; rules.length < 750; i++) add(action(i), { promptPattern: `(?i)ticket-${i}\\s+#\\d{3,6}` });
  if (detectors) {
    for (let i = 0; rules.length < 850; i++) add(action(i), { piiTypes: [(['ssn', 'email', 'credit_card', 'iban'] as const)[i % 4]!], namespaces: ['bench'] });
    for (let i = 0; rules.length < 900; i++) add('block', { injectionScoreGte: 90 + (i % 10), namespaces: ['bench'] });
  } else {
    for (let i = 0; rules.length < 900; i++) add(action(i), { promptContains: [`operation nightjar-${i}`], namespaces: ['bench'] });
  }
  for (let i = 0; rules.length < 950; i++) add(action(i), { users: [`user-${i}`] });
  for (let i = 0; rules.length < RULES; i++) add(action(i), { responseContains: [`leak-${i}`], namespaces: ['bench'] });
  return { version: `bench-${RULES}${detectors ? '' : '-nodetect'}`, rules, quarantinedNamespaces: [], blockedSessions: [] };
}

/** Just enough tenant for the scanner: the policy long-poll and an ingest that accepts everything. */
async function startFakeTenant(): Promise<{ url: string; server: Server; ingested: () => number }> {
  const policies = new Map([true, false].map((d) => {
    const policy = benchPolicy(d);
    return [d, { version: policy.version, body: JSON.stringify(policy) }] as const;
  }));
  let ingestedBytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => { ingestedBytes += c.length; });
    req.on('end', () => {
      if (req.method === 'GET' && req.url?.includes('/policy')) {
        const policy = policies.get(!req.url.includes(`/${NO_DETECT_ID}/`))!;
        if (req.headers['if-none-match'] === policy.version) {
          // hold the long poll; the scanner re-asks when it ends
          const t = setTimeout(() => res.writeHead(304, { etag: policy.version }).end(), 20_000);
          res.on('close', () => clearTimeout(t));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', etag: policy.version }).end(policy.body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":0,"duplicates":0}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, ingested: () => ingestedBytes };
}

const pinning = availableParallelism() >= 2 && hasTaskset();
function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `node --import tsx <script>`, or a launcher (a script not ending in `.ts`, e.g. scanner/bin/higgs-scanner) as is,
 * on `core` when pinning works; resolves with its output once `ready` accepts it.
 */
function startChild(
  script: string, args: string[], env: Record<string, string>, core: number, stream: 'stdout' | 'stderr', ready: (output: string) => boolean,
  nodeFlags: string[] = [],
): Promise<{ child: ChildProcess; output: string }> {
  const node = script.endsWith('.ts') ? [process.execPath, ...nodeFlags, '--import', 'tsx', script, ...args] : [script, ...args];
  const [cmd, ...argv] = pinning ? ['taskset', '-c', String(core), ...node] : node;
  const child = spawn(cmd!, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    let done = false;
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${output.slice(-2000)}`)), 60_000);
    child.once('exit', (code) => { if (!done) reject(new Error(`${script} exited with ${code}: ${output.slice(-2000)}`)); });
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!ready(output)) return;
      done = true;
      clearTimeout(timer);
      child[stream].off('data', onData);
      child[stream].resume();
      resolve({ child, output });
    };
    child[stream].on('data', onData);
    child[stream === 'stdout' ? 'stderr' : 'stdout'].resume();
  });
}

/** The scanner is ready once it listens and has applied the bench policy. */
const scannerReady = (out: string): boolean => out.includes('"scanner started"') && out.includes('"policy applied"');
const proxyUrlOf = (out: string): string => {
  const line = out.split('\n').find((l) => l.includes('"scanner started"'));
  return (JSON.parse(line!) as { proxyUrl: string }).proxyUrl;
};
const firstJsonLine = <T>(out: string): T => JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as T;

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
const median = (xs: readonly number[]): number => percentile([...xs].sort((a, b) => a - b), 0.5);

interface Target { dispatcher: Dispatcher; origin: string }

/** Requests not answered 200 (a fail-closed rule timeout answers 403) or failed, with the first answer kept for the report. */
const failures = { count: 0, first: '' };
function failed(why: string): void {
  failures.count += 1;
  failures.first ||= why;
}

/** One request, the convenient way (undici `request`): for the streams, where the cost of the client does not matter. */
async function once(t: Target, body = BODY): Promise<boolean> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(`${t.origin}${URL_PATH}`, { dispatcher: t.dispatcher, method: 'POST', headers: HEADERS, body });
  } catch (err) {
    // a reset kept-alive socket (a server closing it as the client reuses it, under heavy load) is counted, not fatal
    failed(`request failed: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
  if (res.statusCode === 200) {
    await res.body.dump();
    return true;
  }
  failed(`${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
  return false;
}

/**
 * One request, as cheap as undici allows: `dispatch()` with a handler, the
 * precomputed body, no response stream. Resolves with the latency in ms from
 * the moment it was handed to the client to the last byte of the answer, or
 * -1 when it was not answered 200 (counted in `failures`).
 */
function send(t: Target): Promise<number> {
  return new Promise((resolve) => {
    const at = performance.now();
    let status = 0;
    let text = '';
    t.dispatcher.dispatch({ origin: t.origin, path: URL_PATH, method: 'POST', headers: HEADERS, body: BODY_BYTES }, {
      onRequestStart() {},
      onResponseStart(_c, statusCode) { status = statusCode; },
      onResponseData(_c, chunk) { if (status !== 200 && text.length < 300) text += chunk.toString(); },
      onResponseEnd() {
        if (status === 200) return resolve(performance.now() - at);
        failed(`${status}: ${text.slice(0, 300)}`);
        resolve(-1);
      },
      onResponseError(_c, err) {
        // a reset kept-alive socket (a server closing it as the client reuses it, under heavy load) is counted, not fatal
        failed(`request failed: ${err.message}`);
        resolve(-1);
      },
    });
  });
}

interface OpenLoopRun {
  /** sorted latencies of the requests answered 200, ms */
  latencies: number[];
  /** requests per second the generator actually sent */
  sentPerS: number;
  /** p99 of how late a request left against its schedule, ms: the generator's own lag */
  lagP99Ms: number;
}

/** Open loop: request i leaves at start + i/rate whatever the answers do (checked every ms). */
async function openLoop(t: Target, ratePerS: number, durationMs: number): Promise<OpenLoopRun> {
  const total = Math.round((ratePerS * durationMs) / 1000);
  const latencies: number[] = [];
  const lags: number[] = [];
  const inflight: Array<Promise<void>> = [];
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * ratePerS) / 1000));
      for (; sent < due; sent++) {
        lags.push(now - (start + (sent * 1000) / ratePerS));
        inflight.push(send(t).then((ms) => { if (ms >= 0) latencies.push(ms); }));
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const sentPerS = total / ((performance.now() - start) / 1000);
  await Promise.all(inflight);
  return { latencies: latencies.sort((a, b) => a - b), sentPerS, lagP99Ms: percentile(lags.sort((a, b) => a - b), 0.99) };
}

/** CPU time (user + system) a process has used, in µs; /proc ticks are 10 ms, so measure over thousands of requests. */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Closed loop: `concurrency` requests always in flight; returns completed requests per second. */
async function closedLoop(t: Target, concurrency: number, durationMs: number, counted?: { done: number }): Promise<number> {
  const end = performance.now() + durationMs;
  let done = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      if ((await send(t)) >= 0) done += 1;
    }
  }));
  if (counted) counted.done += done;
  return done / ((performance.now() - started) / 1000);
}

/** Opens `count` streams through the proxy at once; resolves with the peak of streams open together and the scanner's peak RSS. */
async function openStreams(proxy: Dispatcher, count: number, scannerPid: number): Promise<{ peakOpen: number; peakRssMb: number }> {
  let open = 0;
  let peakOpen = 0;
  let peakRssMb = 0;
  const sample = setInterval(() => { peakRssMb = Math.max(peakRssMb, rssMb(scannerPid)); }, 50);
  try {
    await Promise.all(Array.from({ length: count }, async (_, i) => {
      // a ramp (100 every 250 ms), not a thundering herd of TLS handshakes
      await new Promise((r) => setTimeout(r, Math.floor(i / 100) * 250));
      const res = await request(`https://api.openai.com${URL_PATH}`, { dispatcher: proxy, method: 'POST', headers: HEADERS, body: STREAM_BODY });
      open += 1;
      peakOpen = Math.max(peakOpen, open);
      if (peakOpen === count) peakRssMb = Math.max(peakRssMb, rssMb(scannerPid));
      await res.body.dump();
      open -= 1;
    }));
  } finally {
    clearInterval(sample);
  }
  return { peakOpen, peakRssMb };
}

/** Opens every pooled connection (TLS handshakes, the scanner's leaf certificate, JIT) before anything is timed. */
async function warm(t: Target): Promise<void> {
  await Promise.all(Array.from({ length: CONNECTIONS }, () => send(t)));
  await closedLoop(t, 16, 1000);
}

interface PathFigures {
  /** per run: p50 and p99 of each path, and the proxy's minus the direct path's of the same run */
  p50: { direct: number[]; proxy: number[]; added: number[] };
  p99: { direct: number[]; proxy: number[]; added: number[] };
  sentPerS: number[];
  lagP99Ms: number[];
  rps: { direct: number[]; proxy: number[] };
  /** the scanner's CPU time per proxied request in the closed loops, µs: what a busy machine does not distort much */
  cpuUsPerRequest: number;
}

/** Latency at RATE_PER_S and the throughput ceiling, direct and through one scanner, runs interleaved. */
async function measure(direct: Target, proxied: Target, label: string, scannerPid: number): Promise<PathFigures> {
  const f: PathFigures = {
    p50: { direct: [], proxy: [], added: [] }, p99: { direct: [], proxy: [], added: [] }, sentPerS: [], lagP99Ms: [], rps: { direct: [], proxy: [] },
    cpuUsPerRequest: Number.NaN,
  };
  for (let i = 0; i < RUNS; i++) {
    const d = await openLoop(direct, RATE_PER_S, OPEN_LOOP_MS);
    const p = await openLoop(proxied, RATE_PER_S, OPEN_LOOP_MS);
    const run = { d50: percentile(d.latencies, 0.5), d99: percentile(d.latencies, 0.99), p50: percentile(p.latencies, 0.5), p99: percentile(p.latencies, 0.99) };
    f.p50.direct.push(run.d50);
    f.p50.proxy.push(run.p50);
    f.p50.added.push(run.p50 - run.d50);
    f.p99.direct.push(run.d99);
    f.p99.proxy.push(run.p99);
    f.p99.added.push(run.p99 - run.d99);
    f.sentPerS.push(d.sentPerS, p.sentPerS);
    f.lagP99Ms.push(d.lagP99Ms, p.lagP99Ms);
    process.stderr.write(`proxy bench ${label} run ${i + 1}: ${RATE_PER_S} req/s p50 direct ${run.d50.toFixed(3)} proxy ${run.p50.toFixed(3)} ms, `
      + `p99 direct ${run.d99.toFixed(3)} proxy ${run.p99.toFixed(3)} ms, sent ${d.sentPerS.toFixed(0)}/${p.sentPerS.toFixed(0)} req/s\n`);
    // a path that cannot sustain the rate queues for a minute a run; one saturated run says enough
    if (Math.max(run.d50, run.p50) > SATURATED_P50_MS) {
      process.stderr.write(`proxy bench ${label}: saturated at ${RATE_PER_S} req/s (p50 direct ${run.d50.toFixed(0)} ms, proxy ${run.p50.toFixed(0)} ms); one run only\n`);
      break;
    }
  }
  const proxiedDone = { done: 0 };
  let scannerCpuUs = 0;
  for (let i = 0; i < RUNS; i++) {
    f.rps.direct.push(await closedLoop(direct, CLOSED_LOOP_CONCURRENCY, CLOSED_LOOP_MS));
    const cpuBefore = cpuUs(scannerPid);
    f.rps.proxy.push(await closedLoop(proxied, CLOSED_LOOP_CONCURRENCY, CLOSED_LOOP_MS, proxiedDone));
    scannerCpuUs += cpuUs(scannerPid) - cpuBefore;
    process.stderr.write(`proxy bench ${label} run ${i + 1}: ceiling direct ${f.rps.direct.at(-1)!.toFixed(0)} proxy ${f.rps.proxy.at(-1)!.toFixed(0)} req/s\n`);
  }
  f.cpuUsPerRequest = scannerCpuUs / proxiedDone.done;
  return f;
}

/** The figures of one scanner configuration, as table rows. */
function rows(f: PathFigures, what: string, targets: boolean): BenchResult[] {
  const m = (xs: number[]): number => median(xs);
  const added50 = m(f.p50.added);
  const added99 = m(f.p99.added);
  const rate = `${RATE_PER_S} req/s`;
  return [
    { name: `latency p50 (1 KB prompt, ${rate}, ${what})`, value: m(f.p50.proxy), unit: 'ms', baseline: m(f.p50.direct), ratio: m(f.p50.proxy) / m(f.p50.direct) },
    { name: `latency p99 (1 KB prompt, ${rate}, ${what})`, value: m(f.p99.proxy), unit: 'ms', baseline: m(f.p99.direct), ratio: m(f.p99.proxy) / m(f.p99.direct) },
    { name: `added latency p50 at ${rate} (${what})`, value: added50, unit: 'ms', ...(targets ? { target: '<= 0.3 ms', pass: added50 <= 0.3 } : {}) },
    { name: `added latency p99 at ${rate} (${what})`, value: added99, unit: 'ms', ...(targets ? { target: '<= 1 ms', pass: added99 <= 1 } : {}) },
    {
      name: `throughput ceiling, scanner on one core (${CLOSED_LOOP_CONCURRENCY} in flight, ${what})`, value: m(f.rps.proxy), unit: 'req/s', baseline: m(f.rps.direct),
      ratio: m(f.rps.proxy) / m(f.rps.direct), ...(targets ? { target: '>= 2500 req/s', pass: m(f.rps.proxy) >= 2500 } : {}),
    },
    // the scanner's own CPU time: on a machine others load, the ceiling its one core would give when it has it to itself
    { name: `scanner CPU per proxied request (closed loop, ${what})`, value: f.cpuUsPerRequest, unit: 'us' },
    { name: `ceiling implied by that CPU time, one core (${what})`, value: 1e6 / f.cpuUsPerRequest, unit: 'req/s', ...(targets ? { target: '>= 2500 req/s', pass: 1e6 / f.cpuUsPerRequest >= 2500 } : {}) },
    // the generator must hold the rate for the latency figures to mean anything
    { name: `load generator: rate sent (target ${rate}, ${what})`, value: Math.min(...f.sentPerS), unit: 'req/s', target: `>= ${RATE_PER_S * 0.98}`, pass: Math.min(...f.sentPerS) >= RATE_PER_S * 0.98 },
    { name: `load generator: schedule lag p99 (${what})`, value: m(f.lagP99Ms), unit: 'ms' },
  ];
}

/**
 * The bare relay (relay-child.ts) beside the scanner: what Node's machinery alone costs on this path, so the
 * scanner's own share of a request is the difference, and the ceiling no JavaScript proxy of this shape passes here.
 */
function relayRows(f: PathFigures, scanner: PathFigures): BenchResult[] {
  const m = (xs: number[]): number => median(xs);
  const what = 'bare Node relay: CONNECT, client TLS, HTTP/1.1 server, HTTP/2 client, no inspection';
  return [
    { name: `added latency p50 at ${RATE_PER_S} req/s (${what})`, value: m(f.p50.added), unit: 'ms' },
    { name: `added latency p99 at ${RATE_PER_S} req/s (${what})`, value: m(f.p99.added), unit: 'ms' },
    { name: `throughput ceiling, one core, ${CLOSED_LOOP_CONCURRENCY} in flight (${what})`, value: m(f.rps.proxy), unit: 'req/s', baseline: m(f.rps.direct), ratio: m(f.rps.proxy) / m(f.rps.direct) },
    { name: `CPU per relayed request (${what}); baseline: the scanner's, detectors on`, value: f.cpuUsPerRequest, unit: 'us', baseline: scanner.cpuUsPerRequest, ratio: f.cpuUsPerRequest / scanner.cpuUsPerRequest },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'higgs-bench-proxy-'));
  const children: ChildProcess[] = [];
  const dispatchers: Dispatcher[] = [];
  const tenant = await startFakeTenant();
  if (pinning) execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  else process.stderr.write('proxy bench: no taskset or one core only; the scanner is not pinned to a core of its own\n');
  try {
    const upstreamScript = join(ROOT, 'evals/src/bench/upstream-child.ts');
    const canned = await startChild(upstreamScript, ['canned'], {}, 1, 'stdout', (o) => o.includes('}\n'));
    children.push(canned.child);
    const up = firstJsonLine<{ port: number; caCertPem: string }>(canned.output);
    // streams that stay open while the others are opened: 1 s between frames
    const slow = await startChild(upstreamScript, ['1000'], {}, 1, 'stdout', (o) => o.includes('}\n'));
    children.push(slow.child);
    const slowUp = firstJsonLine<{ port: number; caCertPem: string }>(slow.output);

    const caFile = join(dir, 'upstream-ca.pem');
    await writeFile(caFile, `${up.caCertPem}\n${slowUp.caCertPem}\n`);
    const workloadsFile = join(dir, 'workloads.json');
    await writeFile(workloadsFile, JSON.stringify({
      workloads: [{ namespace: 'bench', app: 'bench-client', ips: ['127.0.0.1'], labels: { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' } }],
    }));
    const scannerEnv = (port: number, data: string, id = 'bench') => ({
      HIGGS_SCANNER_ID: id, HIGGS_DATA_DIR: join(dir, data), HIGGS_TENANT_URL: tenant.url, HIGGS_SCANNER_TOKEN: 'bench-token',
      HIGGS_HASH_SALT: randomBytes(8).toString('hex'), HIGGS_PROXY_PORT: '0', HIGGS_POLICY_PORT: '0',
      HIGGS_HOSTS_OVERRIDE: `api.openai.com=127.0.0.1:${port}`, HIGGS_UPSTREAM_CA_FILES: caFile, HIGGS_WORKLOADS_FILE: workloadsFile,
    });

    const direct: Target = {
      dispatcher: new Agent({ connect: { ca: up.caCertPem, servername: 'api.openai.com', timeout: CONNECT_TIMEOUT_MS }, connections: CONNECTIONS }),
      origin: `https://127.0.0.1:${up.port}`,
    };
    dispatchers.push(direct.dispatcher);
    await warm(direct);

    /** One scanner (core 0) measured against the direct path; `detectors`: the scanner's detectors on or off. */
    const scannerRun = async (detectors: boolean): Promise<PathFigures> => {
      const data = detectors ? 'scanner' : 'scanner-nodetect';
      const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', join(process.env.BENCH_CPU_PROF, data)] : [];
      const scanner = await startChild(
        join(ROOT, 'evals/src/bench/scanner-child.ts'), detectors ? [] : ['detectors-off'], scannerEnv(up.port, data, detectors ? 'bench' : NO_DETECT_ID),
        0, 'stderr', scannerReady, prof,
      );
      children.push(scanner.child);
      const scannerCa = readFileSync(join(dir, data, 'ca-cert.pem'), 'utf8');
      const proxied: Target = { dispatcher: proxyAgent(proxyUrlOf(scanner.output), scannerCa, CONNECTIONS), origin: 'https://api.openai.com' };
      dispatchers.push(proxied.dispatcher);
      try {
        await warm(proxied);
        failures.count = 0;
        return await measure(direct, proxied, detectors ? 'detectors on' : 'detectors off', scanner.child.pid!);
      } finally {
        await proxied.dispatcher.close().catch(() => undefined);
        await stop(scanner.child);
      }
    };
    const on = await scannerRun(true);
    const latencyFailures = failures.count;
    const offFigures = await scannerRun(false);
    const offFailures = failures.count;

    // the floor: Node's own HTTP and TLS machinery on the same two legs, nothing of the scanner between them
    const relay = await startChild(join(ROOT, 'evals/src/bench/relay-child.ts'), [String(up.port), caFile], {}, 0, 'stdout', (o) => o.includes('}\n'));
    children.push(relay.child);
    const relayInfo = firstJsonLine<{ port: number; caCertPem: string }>(relay.output);
    const relayed: Target = { dispatcher: proxyAgent(`http://127.0.0.1:${relayInfo.port}`, relayInfo.caCertPem, CONNECTIONS), origin: 'https://api.openai.com' };
    dispatchers.push(relayed.dispatcher);
    await warm(relayed);
    failures.count = 0;
    const relayFigures = await measure(direct, relayed, 'bare Node relay', relay.child.pid!);
    await stop(relay.child);
    const totalFailures = latencyFailures + offFailures + failures.count;

    // a fresh scanner for the streams, so its RSS is not the latency runs' heap; started as deployed,
    // by its launcher (the V8 flags that bound its memory are the launcher's). The launcher runs the
    // bundle, or the sources under tsx (~28 MB more) when a source is newer than it: after an edit,
    // the bundle is rebuilt first so the RSS measured is the deployed scanner's
    execFileSync(process.execPath, [join(ROOT, 'scanner/scripts/bundle.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const streamScanner = await startChild(
      join(ROOT, 'scanner/bin/higgs-scanner'), [], scannerEnv(slowUp.port, 'scanner-streams'), 0, 'stderr', scannerReady,
    );
    children.push(streamScanner.child);
    const streamProxyUrl = proxyUrlOf(streamScanner.output);
    const streamCa = readFileSync(join(dir, 'scanner-streams', 'ca-cert.pem'), 'utf8');
    const streamDispatcher = proxyAgent(streamProxyUrl, streamCa, STREAMS);
    dispatchers.push(streamDispatcher);
    await once({ dispatcher: streamDispatcher, origin: 'https://api.openai.com' });
    const idleRssMb = rssMb(streamScanner.child.pid!);
    const streams = await openStreams(streamDispatcher, STREAMS, streamScanner.child.pid!);

    if (totalFailures > 0) process.stderr.write(`proxy bench: ${totalFailures} requests not answered 200, first: ${failures.first}\n`);
    if (tenant.ingested() === 0) process.stderr.write('proxy bench: the scanner uploaded nothing to the fake tenant\n');
    return [
      ...rows(on, '1000 rules, detectors on', true),
      ...rows(offFigures, '1000 rules, detectors off', false),
      ...relayRows(relayFigures, on),
      { name: 'requests not answered 200 (latency and throughput runs)', value: totalFailures, unit: 'requests', target: '0', pass: totalFailures === 0 },
      {
        name: `scanner RSS, ${streams.peakOpen} streams open at once`, value: streams.peakRssMb, unit: 'MB', baseline: idleRssMb,
        ratio: streams.peakRssMb / idleRssMb, target: `<= 200 MB at ${STREAMS} streams`, pass: streams.peakOpen >= STREAMS && streams.peakRssMb <= 200,
      },
    ];
  } finally {
    for (const d of dispatchers) await d.close().catch(() => undefined);
    for (const c of children) await stop(c);
    await new Promise((r) => tenant.server.close(r));
    await rm(dir, { recursive: true, force: true });
  }
}
