/**
 * The scanner's proxy against a direct connection, measured in the same run on
 * loopback: added latency (open loop at 200 requests/s, which both paths
 * sustain, and at the target 1 000 requests/s, keep-alive, 1 KB prompt), throughput ceiling (closed loop) and the scanner's RSS with 1 000
 * concurrent open streams. Detectors are on and 1 000 rules are active for the
 * (enforce-labelled) client; none matches, so every request goes through.
 *
 * Layout: the scanner (`scanner/src/cli.ts`) runs in a child process pinned to
 * core 0, so its RSS is its own and it has one core; the mock upstream runs in
 * a second child and the client (undici, raw HTTP over CONNECT tunnels) with a
 * fake tenant (policy + ingest) in this process, both pinned to core 1.
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
const RATE_PER_S = 1_000;
/** a rate both paths sustain on this 2-core box (at 1 000 req/s both queue): the added latency without queueing */
const SUSTAINED_RATE_PER_S = 200;
const OPEN_LOOP_MS = 3_000;
const CLOSED_LOOP_MS = 3_000;
const CLOSED_LOOP_CONCURRENCY = 32;
const STREAMS = 1_000;
const RUNS = 3;
/** p50 above this means the path queues at the offered rate (it cannot keep up) */
const SATURATED_P50_MS = 100;
const URL_PATH = '/v1/chat/completions';
// generous: on a loaded 2-core machine 1 000 TLS handshakes through the MITM take seconds
const CONNECT_TIMEOUT_MS = 60_000;

/** Raw HTTP over CONNECT tunnels through the scanner's proxy, trusting its CA. */
function proxyAgent(uri: string, caCertPem: string, connections: number): ProxyAgent {
  return new ProxyAgent({ uri, connections, connect: { timeout: CONNECT_TIMEOUT_MS }, requestTls: { ca: caCertPem, timeout: CONNECT_TIMEOUT_MS } });
}

const PROMPT = ('Please summarise the attached quarterly operations review for the logistics team. Focus on delivery times, '
  + 'warehouse throughput, the backlog of open tickets and the proposed changes to the weekend rota. Keep it under ten bullet points '
  + 'and call out anything that needs a decision before the next planning meeting. ').repeat(4).slice(0, 1024);
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] });
const STREAM_BODY = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: PROMPT }] });
const HEADERS = { host: 'api.openai.com', 'content-type': 'application/json', authorization: 'Bearer sk-bench-not-a-key' };

/** 1 000 rules shaped like the product's (literals, patterns, scoped PII and injection rules); none matches the bench prompt. */
function benchPolicy(): ScannerPolicy {
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
  for (let i = 0; rules.length < 850; i++) add(action(i), { piiTypes: [(['ssn', 'email', 'credit_card', 'iban'] as const)[i % 4]!], namespaces: ['bench'] });
  for (let i = 0; rules.length < 900; i++) add('block', { injectionScoreGte: 90 + (i % 10), namespaces: ['bench'] });
  for (let i = 0; rules.length < 950; i++) add(action(i), { users: [`user-${i}`] });
  for (let i = 0; rules.length < RULES; i++) add(action(i), { responseContains: [`leak-${i}`], namespaces: ['bench'] });
  return { version: `bench-${RULES}`, rules, quarantinedNamespaces: [], blockedSessions: [] };
}

/** Just enough tenant for the scanner: the policy long-poll and an ingest that accepts everything. */
async function startFakeTenant(policy: ScannerPolicy): Promise<{ url: string; server: Server }> {
  const body = JSON.stringify(policy);
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' && req.url?.includes('/policy')) {
        if (req.headers['if-none-match'] === policy.version) {
          // hold the long poll; the scanner re-asks when it ends
          const t = setTimeout(() => res.writeHead(304, { etag: policy.version }).end(), 20_000);
          res.on('close', () => clearTimeout(t));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', etag: policy.version }).end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":0,"duplicates":0}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
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

/** Starts `node --import tsx <script>` (on `core` when pinning works); resolves with its output once `ready` accepts it. */
function startChild(
  script: string, args: string[], env: Record<string, string>, core: number, stream: 'stdout' | 'stderr', ready: (output: string) => boolean,
): Promise<{ child: ChildProcess; output: string }> {
  const node = [process.execPath, '--import', 'tsx', script, ...args];
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

async function once(t: Target, body = BODY): Promise<boolean> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(`${t.origin}${URL_PATH}`, { dispatcher: t.dispatcher, method: 'POST', headers: HEADERS, body });
  } catch (err) {
    // a reset kept-alive socket (a server closing it as the client reuses it, under heavy load) is counted, not fatal
    failures.count += 1;
    failures.first ||= `request failed: ${err instanceof Error ? err.message : String(err)}`;
    return false;
  }
  if (res.statusCode === 200) {
    await res.body.dump();
    return true;
  }
  failures.count += 1;
  const text = await res.body.text();
  failures.first ||= `${res.statusCode}: ${text.slice(0, 300)}`;
  return false;
}

/** Open loop: requests leave on schedule whatever the answers do; returns sorted latencies in ms. */
async function openLoop(t: Target, ratePerS: number, durationMs: number): Promise<number[]> {
  const total = Math.round((ratePerS * durationMs) / 1000);
  const latencies: number[] = [];
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * ratePerS) / 1000));
      for (; sent < due; sent++) {
        const at = performance.now();
        const p = once(t).then((ok) => { if (ok) latencies.push(performance.now() - at); }).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inflight);
  return latencies.sort((a, b) => a - b);
}

/** Closed loop: `concurrency` requests always in flight; returns completed requests per second. */
async function closedLoop(t: Target, concurrency: number, durationMs: number): Promise<number> {
  const end = performance.now() + durationMs;
  let done = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      if (await once(t)) done += 1;
    }
  }));
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

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'higgs-bench-proxy-'));
  const children: ChildProcess[] = [];
  const dispatchers: Dispatcher[] = [];
  const tenant = await startFakeTenant(benchPolicy());
  if (pinning) execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  try {
    const upstreamScript = join(ROOT, 'evals/src/bench/upstream-child.ts');
    const fast = await startChild(upstreamScript, ['0'], {}, 1, 'stdout', (o) => o.includes('}\n'));
    children.push(fast.child);
    const up = firstJsonLine<{ port: number; caCertPem: string }>(fast.output);
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
    const scannerEnv = (port: number, data: string) => ({
      HIGGS_SCANNER_ID: 'bench', HIGGS_DATA_DIR: join(dir, data), HIGGS_TENANT_URL: tenant.url, HIGGS_SCANNER_TOKEN: 'bench-token',
      HIGGS_HASH_SALT: randomBytes(8).toString('hex'), HIGGS_PROXY_PORT: '0', HIGGS_POLICY_PORT: '0',
      HIGGS_HOSTS_OVERRIDE: `api.openai.com=127.0.0.1:${port}`, HIGGS_UPSTREAM_CA_FILES: caFile, HIGGS_WORKLOADS_FILE: workloadsFile,
    });
    const scanner = await startChild(join(ROOT, 'scanner/src/cli.ts'), [], scannerEnv(up.port, 'scanner'), 0, 'stderr', scannerReady);
    children.push(scanner.child);
    const proxyUrl = proxyUrlOf(scanner.output);
    const scannerCa = readFileSync(join(dir, 'scanner', 'ca-cert.pem'), 'utf8');

    const direct: Target = {
      dispatcher: new Agent({ connect: { ca: up.caCertPem, servername: 'api.openai.com', timeout: CONNECT_TIMEOUT_MS }, connections: 256 }),
      origin: `https://127.0.0.1:${up.port}`,
    };
    const proxied: Target = { dispatcher: proxyAgent(proxyUrl, scannerCa, 256), origin: 'https://api.openai.com' };
    dispatchers.push(direct.dispatcher, proxied.dispatcher);

    // warm-up: connections, JIT, the scanner's leaf certificate
    for (const t of [direct, proxied]) await closedLoop(t, 8, 1000);
    failures.count = 0;

    // at a rate both paths sustain first, so the queue a saturated run leaves behind cannot leak into it
    const sustained = { p50: { direct: [] as number[], proxy: [] as number[] }, p99: { direct: [] as number[], proxy: [] as number[] } };
    for (let i = 0; i < RUNS; i++) {
      for (const [name, t] of [['direct', direct], ['proxy', proxied]] as const) {
        const lat = await openLoop(t, SUSTAINED_RATE_PER_S, OPEN_LOOP_MS);
        sustained.p50[name].push(percentile(lat, 0.5));
        sustained.p99[name].push(percentile(lat, 0.99));
      }
    }
    if (Math.max(median(sustained.p50.direct), median(sustained.p50.proxy)) > SATURATED_P50_MS) {
      // on an idle box both paths answer in a few ms at this rate: a queue here means the machine is loaded
      process.stderr.write(`proxy bench: queueing even at ${SUSTAINED_RATE_PER_S} req/s (p50 direct ${median(sustained.p50.direct).toFixed(0)} ms); the machine is loaded, the added latency is not the proxy's alone\n`);
    }
    const p50 = { direct: [] as number[], proxy: [] as number[] };
    const p99 = { direct: [] as number[], proxy: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      for (const [name, t] of [['direct', direct], ['proxy', proxied]] as const) {
        const lat = await openLoop(t, RATE_PER_S, OPEN_LOOP_MS);
        p50[name].push(percentile(lat, 0.5));
        p99[name].push(percentile(lat, 0.99));
      }
      // a path that cannot sustain the rate queues for a minute a run; one saturated run says enough
      if (Math.max(p50.direct.at(-1)!, p50.proxy.at(-1)!) > SATURATED_P50_MS) {
        process.stderr.write(`proxy bench: saturated at ${RATE_PER_S} req/s (p50 ${p50.proxy.at(-1)!.toFixed(0)} ms); one run only\n`);
        break;
      }
    }
    const rps = { direct: [] as number[], proxy: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      rps.direct.push(await closedLoop(direct, CLOSED_LOOP_CONCURRENCY, CLOSED_LOOP_MS));
      rps.proxy.push(await closedLoop(proxied, CLOSED_LOOP_CONCURRENCY, CLOSED_LOOP_MS));
    }
    await stop(scanner.child);

    // a fresh scanner for the streams, so its RSS is not the latency runs' heap
    const streamScanner = await startChild(
      join(ROOT, 'scanner/src/cli.ts'), [], scannerEnv(slowUp.port, 'scanner-streams'), 0, 'stderr', scannerReady,
    );
    children.push(streamScanner.child);
    const streamProxyUrl = proxyUrlOf(streamScanner.output);
    const streamCa = readFileSync(join(dir, 'scanner-streams', 'ca-cert.pem'), 'utf8');
    const streamDispatcher = proxyAgent(streamProxyUrl, streamCa, STREAMS);
    dispatchers.push(streamDispatcher);
    await once({ dispatcher: streamDispatcher, origin: 'https://api.openai.com' });
    const idleRssMb = rssMb(streamScanner.child.pid!);
    const streams = await openStreams(streamDispatcher, STREAMS, streamScanner.child.pid!);

    const m = {
      s50: { direct: median(sustained.p50.direct), proxy: median(sustained.p50.proxy) },
      s99: { direct: median(sustained.p99.direct), proxy: median(sustained.p99.proxy) },
      p50: { direct: median(p50.direct), proxy: median(p50.proxy) },
      p99: { direct: median(p99.direct), proxy: median(p99.proxy) },
      rps: { direct: median(rps.direct), proxy: median(rps.proxy) },
    };
    if (failures.count > 0) process.stderr.write(`proxy bench: ${failures.count} requests not answered 200, first: ${failures.first}\n`);
    const added50 = m.p50.proxy - m.p50.direct;
    const added99 = m.p99.proxy - m.p99.direct;
    const sAdded50 = m.s50.proxy - m.s50.direct;
    const sAdded99 = m.s99.proxy - m.s99.direct;
    const at = `${SUSTAINED_RATE_PER_S} req/s`;
    return [
      { name: `latency p50 (1 KB prompt, ${at}, 1000 rules)`, value: m.s50.proxy, unit: 'ms', baseline: m.s50.direct, ratio: m.s50.proxy / m.s50.direct },
      { name: `latency p99 (1 KB prompt, ${at}, 1000 rules)`, value: m.s99.proxy, unit: 'ms', baseline: m.s99.direct, ratio: m.s99.proxy / m.s99.direct },
      { name: `added latency p50 at ${at}`, value: sAdded50, unit: 'ms', target: '<= 0.3 ms', pass: sAdded50 <= 0.3 },
      { name: `added latency p99 at ${at}`, value: sAdded99, unit: 'ms', target: '<= 1 ms', pass: sAdded99 <= 1 },
      { name: 'latency p50 (1 KB prompt, 1000 req/s, 1000 rules)', value: m.p50.proxy, unit: 'ms', baseline: m.p50.direct, ratio: m.p50.proxy / m.p50.direct },
      { name: 'latency p99 (1 KB prompt, 1000 req/s, 1000 rules)', value: m.p99.proxy, unit: 'ms', baseline: m.p99.direct, ratio: m.p99.proxy / m.p99.direct },
      { name: 'requests not answered 200 (latency and throughput runs)', value: failures.count, unit: 'requests', target: '0', pass: failures.count === 0 },
      { name: `added latency p50 at ${RATE_PER_S} req/s`, value: added50, unit: 'ms', target: '<= 0.3 ms', pass: added50 <= 0.3 },
      { name: `added latency p99 at ${RATE_PER_S} req/s`, value: added99, unit: 'ms', target: '<= 1 ms', pass: added99 <= 1 },
      {
        name: `throughput ceiling, scanner on one core (${CLOSED_LOOP_CONCURRENCY} in flight)`, value: m.rps.proxy, unit: 'req/s', baseline: m.rps.direct,
        ratio: m.rps.proxy / m.rps.direct, target: '>= 2500 req/s', pass: m.rps.proxy >= 2500,
      },
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
