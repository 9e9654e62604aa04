/**
 * What one workload's large prompts cost its neighbours: a small call's latency
 * through the scanner while another client sends 4 MB prompts dense with PII,
 * back to back, with those prompts inspected on the event loop
 * (`inspectOffload: false`) and in the worker thread (the default,
 * scanner/src/proxy/inspect-offload.ts); the same small calls alone are the
 * baseline. Both clients are enforce-labelled, so every prompt is decided
 * before it is forwarded and each large one waits for its own inspection. The
 * scanner runs in this process, as do both clients: a stalled
 * event loop delays the small calls' sending as much as their answers, so each
 * latency is taken from when the call was due, not from when it went out.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScanner } from '@higgs/scanner';
import type { ScannerPolicy } from '@higgs/schema';
import type { BenchResult } from './types.ts';

const SMALL_EVERY_MS = 50;
const ALONE_S = 5;
const LOADED_S = 12;
/** ~4 MB of prompt: a name, an e-mail, a phone and an address every 92 characters */
const LARGE = 'Ask Maria Schneider (maria.schneider@example.com, +49 30 1234567) about 221B Baker Street. '.repeat(45_000);

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const close = (s: Server) => new Promise<void>((r) => { s.close(() => r()); });

function servers(): { upstream: Server; tenant: Server } {
  const policy: ScannerPolicy = { version: '1', rules: [], quarantinedNamespaces: [], blockedSessions: [] };
  const answer = JSON.stringify({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: 'noted' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
  });
  const upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer));
  });
  const tenant = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; });
    req.on('end', () => {
      if (req.url?.startsWith('/v1/scanners/')) {
        if (req.headers['if-none-match'] === `"${policy.version}"`) setTimeout(() => res.writeHead(304).end(), 1000);
        else res.writeHead(200, { 'content-type': 'application/json', etag: `"${policy.version}"` }).end(JSON.stringify(policy));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: n > 0 ? 1 : 0, duplicates: 0 }));
    });
  });
  return { upstream, tenant };
}

interface Figures { aloneMs: number[]; loadedMs: number[]; largePerS: number }

async function measure(offload: boolean, ports: { upstream: number; tenant: number }): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'higgs-bench-large-'));
  const workloadsFile = join(dir, 'workloads.json');
  await writeFile(workloadsFile, JSON.stringify({
    workloads: [{ namespace: 'bench', app: 'bench-client', ips: ['127.0.0.1'], labels: { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' } }],
  }));
  const scanner = await startScanner({
    workloadsFile,
    scannerId: offload ? 'bench-worker' : 'bench-loop', dataDir: dir, proxyPort: 0, policyPort: 0, hashSalt: 'bench-salt',
    tenantUrl: `http://127.0.0.1:${ports.tenant}`, scannerToken: 'bench', hostsOverride: { 'api.openai.com': `127.0.0.1:${ports.upstream}` },
    uploadIntervalMs: 200, ...(offload ? {} : { inspectOffload: false as const }),
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });
  const proxy = new URL(scanner.proxyUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const ask = (content: string) => new Promise<void>((resolve, reject) => {
    const req = request({
      host: proxy.hostname, port: Number(proxy.port), method: 'POST', path: 'http://api.openai.com/v1/chat/completions', agent,
      headers: { host: 'api.openai.com', 'content-type': 'application/json' },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }));
  });
  /** small calls due every SMALL_EVERY_MS for `seconds`; each latency from when it was due */
  const smallCalls = async (seconds: number): Promise<number[]> => {
    const started = performance.now();
    const calls: Array<Promise<number>> = [];
    for (let k = 0; k < (seconds * 1000) / SMALL_EVERY_MS; k++) {
      const due = started + k * SMALL_EVERY_MS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      calls.push(ask(`What is the status of order ${k}?`).then(() => performance.now() - due));
    }
    return Promise.all(calls);
  };
  try {
    await ask('warm up');
    await ask(LARGE);
    const aloneMs = await smallCalls(ALONE_S);
    let large = 0;
    let running = true;
    const noisy = (async () => {
      while (running) {
        await ask(LARGE);
        large += 1;
      }
    })();
    const t0 = performance.now();
    const loadedMs = await smallCalls(LOADED_S);
    running = false;
    await noisy;
    return { aloneMs, loadedMs, largePerS: large / ((performance.now() - t0) / 1000) };
  } finally {
    agent.destroy();
    await scanner.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  const { upstream, tenant } = servers();
  const ports = { upstream: await listen(upstream), tenant: await listen(tenant) };
  try {
    const loop = await measure(false, ports);
    const worker = await measure(true, ports);
    const rows: BenchResult[] = [];
    for (const [label, f] of [['inspected on the event loop', loop], ['inspected in the worker thread', worker]] as const) {
      for (const [p, name] of [[0.5, 'p50'], [0.99, 'p99']] as const) {
        const value = percentile(f.loadedMs, p);
        const baseline = percentile(f.aloneMs, p);
        rows.push({
          name: `small call ${name} beside 4 MB prompts sent back to back, ${label} (baseline: the small calls alone)`,
          value, unit: 'ms', baseline, ratio: value / baseline,
        });
      }
      rows.push({ name: `4 MB prompts answered per second, ${label}`, value: f.largePerS, unit: 'req/s' });
    }
    return rows;
  } finally {
    await Promise.all([close(upstream), close(tenant)]);
  }
}
