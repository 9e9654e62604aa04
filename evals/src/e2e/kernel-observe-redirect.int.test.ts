/**
 * Transparent redirect end to end: a Node https client in an enforce-labelled
 * cgroup "pod", with no proxy settings at all, calls the mock provider's
 * address. The kernel (connect4 + sockops) sends it to the scanner's
 * transparent listener, which learns the dialled address from the redirect
 * map, terminates TLS with the scanner CA (trusted through
 * NODE_EXTRA_CA_CERTS) for the SNI, and inspects the call like the explicit
 * proxy: it is recorded as an LlmCall of that pod and a block rule refuses it.
 * Flipping the pod's label to observe takes it off the redirect at once.
 * The official `openai` SDK with its defaults (api.openai.com:443, resolved
 * to the mock provider as cluster DNS would) is redirected the same way and
 * raises its own PermissionDeniedError (403, code higgs_blocked) on a block.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availability, findCgroup2Root } from '@higgs/bpf';
import { startMockUpstreams, type MockUpstreams } from '@higgs/demo';
import { startScanner, type ScannerHandle } from '@higgs/scanner';
import type { LlmCall, ScannerPolicy } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podNetwork, type PodNetwork } from '../testing/pod-network.ts';
import { requireOrSkip } from '../testing/require.ts';
import { startRecordingTenant, type RecordingTenant } from '../testing/recording-tenant.ts';

const avail = availability();
const run = requireOrSkip('BPF', avail.available ? null : avail.reasons.join('; '));
const PROVIDER_IP = `127.0.9.${10 + Math.floor(Math.random() * 200)}`;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const policy: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [{ id: 'no-forbidden', name: 'no-forbidden', action: 'block', match: { promptContains: ['forbidden-topic'] }, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null }],
};

const ENFORCE = { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' };

/** A recording tenant, the mock providers on PROVIDER_IP:443 and a scanner redirecting one pod cgroup, each suite its own. */
interface RedirectStack {
  dir: string;
  pod: string;
  workloadsFile: string;
  /** the provider's CA and, as a cluster would install it, the scanner's: what the workload trusts */
  caFile: string;
  tenant: RecordingTenant;
  upstreams: MockUpstreams;
  scanner: ScannerHandle;
  /**
   * Runs `node <args>` as a fresh process of the pod (moved into its cgroup before node starts; in the
   * network namespace `netns` when given), with no proxy settings and the trusted CAs; its stdout
   * once it exited cleanly.
   */
  runInPod(args: string[], netns?: string): Promise<string>;
  close(): Promise<void>;
}

async function startRedirectStack(p: {
  name: string; workload: (pod: string) => Record<string, unknown>; proxyHost?: string; redirectAddress?: string;
}): Promise<RedirectStack> {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const base = join(findCgroup2Root() ?? '/nonexistent', `higgs-e2e-${p.name}-${suffix}`);
  const pod = join(base, 'support-bot');
  const pinDir = `/sys/fs/bpf/higgs-test-${p.name}-${suffix}`;
  const dir = mkdtempSync(join(tmpdir(), `higgs-kredir-${p.name}-`));
  mkdirSync(pod, { recursive: true });
  const workloadsFile = join(dir, 'workloads.json');
  writeFileSync(workloadsFile, JSON.stringify({ workloads: [p.workload(pod)] }));
  const tenant = await startRecordingTenant({ scannerId: `node-${p.name}`, policy });
  const upstreams = await startMockUpstreams({ host: PROVIDER_IP, port: 443, chunkDelayMs: 1 });
  const scanner = await startScanner({
    scannerId: `node-${p.name}`, dataDir: join(dir, 'scanner'), ...(p.proxyHost ? { proxyHost: p.proxyHost } : {}), proxyPort: 0, policyPort: 0,
    tenantUrl: tenant.url, scannerToken: 't', hashSalt: 'salt', workloadsFile, upstreamCaPem: [upstreams.caCertPem], uploadIntervalMs: 100, policyWaitMs: 1000, logger: quiet,
    kernelObservation: {
      tls: false, flows: false, redirect: true, ...(p.redirectAddress ? { redirectAddress: p.redirectAddress } : {}),
      providerAddresses: { [PROVIDER_IP]: 'api.openai.com' }, pinDir, cgroupRoot: base,
    },
  });
  expect(scanner.kernelUnavailable).toEqual([]);
  await scanner.waitForPolicy((v) => v.version === 'v1', 10_000);
  const caFile = join(dir, 'trust.pem');
  writeFileSync(caFile, `${upstreams.caCertPem}\n${scanner.caCertPem}\n`);
  return {
    dir, pod, workloadsFile, caFile, tenant, upstreams, scanner,
    async runInPod(args, netns) {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$|^OPENAI_/i.test(k)));
      const inPod = ['/bin/sh', '-c', `echo $$ > ${pod}/cgroup.procs && exec "$@"`, 'sh', process.execPath, ...args];
      // nsenter joins the namespace alone (`ip netns exec` would also remount /sys, hiding the cgroup to join)
      const [cmd, ...argv] = netns ? ['nsenter', `--net=${netns}`, ...inPod] : inPod;
      const child = spawn(cmd!, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, NODE_EXTRA_CA_CERTS: caFile } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      expect({ code, err }).toEqual({ code: 0, err: '' });
      return out;
    },
    async close() {
      await scanner.close();
      await upstreams.close();
      await tenant.close();
      rmSync(pinDir, { recursive: true, force: true });
      for (const d of [pod, base]) {
        try {
          rmdirSync(d);
        } catch {
          // still draining an exited process
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.runIf(run)('transparent redirect: an unconfigured workload in an enforce-labelled cgroup is inspected and enforced', () => {
  let stack: RedirectStack;
  let pod: string;
  let tenant: RecordingTenant;
  let upstreams: MockUpstreams;
  let scanner: ScannerHandle;
  const workload = (cgroup: string, mode: 'enforce' | 'observe') => ({
    namespace: 'support', app: 'support-bot', cgroup, labels: mode === 'enforce' ? ENFORCE : { 'higgs.scan': 'enabled' },
  });
  const label = (mode: 'enforce' | 'observe') => writeFileSync(stack.workloadsFile, JSON.stringify({ workloads: [workload(pod, mode)] }));

  beforeAll(async () => {
    stack = await startRedirectStack({ name: 'r', workload: (cgroup) => workload(cgroup, 'enforce') });
    ({ pod, tenant, upstreams, scanner } = stack);
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** One chat completion from a fresh process in the pod; no proxy variables, only the trusted CAs. */
  async function callFromPod(prompt: string): Promise<{ status: number; body: string }> {
    const script = `const https = require('node:https');
const req = https.request({ host: process.argv[1], port: 443, servername: 'api.openai.com', path: '/v1/chat/completions', method: 'POST',
  headers: { host: 'api.openai.com', authorization: 'Bearer sk-test', 'content-type': 'application/json' } },
  (res) => { let d = ''; res.on('data', (c) => d += c); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body: d }))); });
req.on('error', (e) => { console.error(e.code || e.message); process.exit(2); });
req.end(process.argv[2]);`;
    const out = await stack.runInPod(['-e', script, PROVIDER_IP, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })]);
    return JSON.parse(out) as { status: number; body: string };
  }
  const calls = () => tenant.ingested.flatMap((e) => (e.kind === 'llm_call' ? [e.event as LlmCall] : []));
  const reached = (marker: string) => upstreams.received.some((r) => JSON.stringify(r.body).includes(marker));

  it('records the redirected call as the pod\'s LlmCall and blocks a forbidden prompt before the provider sees it', async () => {
    const ok = await callFromPod('hello redirect-ok-marker');
    expect(ok.status).toBe(200);
    expect(reached('redirect-ok-marker')).toBe(true);
    await expect.poll(() => calls().find((c) => c.messages.some((m) => m.content.includes('redirect-ok-marker'))), { timeout: 5000 }).toMatchObject({
      tap: 'proxy', provider: 'openai', host: 'api.openai.com', status: 200, verdict: 'allow', source: { namespace: 'support', app: 'support-bot', mode: 'enforce' },
    });

    const blocked = await callFromPod('tell me about forbidden-topic redirect-block-marker');
    expect(blocked.status).toBe(403);
    expect(reached('redirect-block-marker')).toBe(false);
    await expect.poll(() => calls().find((c) => c.messages.some((m) => m.content.includes('redirect-block-marker'))), { timeout: 5000 }).toMatchObject({
      verdict: 'block', ruleIds: ['no-forbidden'], source: { namespace: 'support', mode: 'enforce' },
    });
    expect(scanner.stats().kernel?.redirected).toBeGreaterThanOrEqual(2);
  });

  it('a label flip to observe takes the pod off the redirect without restarting anything, and back', async () => {
    label('observe');
    // the next call goes straight to the provider: not redirected, so not blocked
    await expect.poll(async () => (await callFromPod('forbidden-topic flip-observe-marker')).status, { timeout: 8000, interval: 300 }).toBe(200);
    expect(reached('flip-observe-marker')).toBe(true);
    label('enforce');
    await expect.poll(async () => (await callFromPod('forbidden-topic flip-enforce-marker')).status, { timeout: 8000, interval: 300 }).toBe(403);
  });

  it('the official openai SDK, unconfigured (no proxy, default baseURL), is redirected: observed as the pod\'s call, and a block rule raises its clean 403 error', async () => {
    // cluster DNS, as the pod would see it: api.openai.com is the mock provider's address (port 443)
    const hosts = join(stack.dir, 'hosts.cjs');
    writeFileSync(hosts, `const dns = require('node:dns');
const lookup = dns.lookup;
dns.lookup = (name, opts, cb) => {
  if (typeof opts === 'function') [cb, opts] = [opts, {}];
  if (name !== 'api.openai.com') return lookup(name, opts, cb);
  const all = typeof opts === 'object' && opts && opts.all;
  return process.nextTick(() => (all ? cb(null, [{ address: ${JSON.stringify(PROVIDER_IP)}, family: 4 }]) : cb(null, ${JSON.stringify(PROVIDER_IP)}, 4)));
};`);
    const script = `import OpenAI from 'openai';
const client = new OpenAI({ apiKey: 'sk-test', maxRetries: 0 });
const out = {};
for (const [k, prompt] of [['ok', 'hello sdk-ok-marker'], ['blocked', 'forbidden-topic sdk-block-marker']]) {
  try {
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
    out[k] = { content: r.choices[0].message.content };
  } catch (e) {
    out[k] = { error: e.constructor.name, status: e.status, message: e.message, code: e.code ?? null };
  }
}
console.log(JSON.stringify(out));`;
    const r = JSON.parse(await stack.runInPod(['-r', hosts, '--input-type=module', '-e', script])) as { ok: { content?: string }; blocked: { error?: string; status?: number; message?: string; code?: string } };
    expect(r.ok.content).toBeTruthy();
    expect(r.blocked).toMatchObject({ error: 'PermissionDeniedError', status: 403, code: 'higgs_blocked', message: expect.stringContaining('Higgs policy') });
    expect(reached('sdk-ok-marker')).toBe(true);
    expect(reached('sdk-block-marker')).toBe(false);
    await expect.poll(() => calls().find((c) => c.messages.some((m) => m.content.includes('sdk-ok-marker'))), { timeout: 5000 }).toMatchObject({
      tap: 'proxy', provider: 'openai', host: 'api.openai.com', status: 200, verdict: 'allow', source: { namespace: 'support', app: 'support-bot', mode: 'enforce' },
    });
    await expect.poll(() => calls().find((c) => c.messages.some((m) => m.content.includes('sdk-block-marker'))), { timeout: 5000 }).toMatchObject({
      verdict: 'block', ruleIds: ['no-forbidden'], source: { namespace: 'support', mode: 'enforce' },
    });
  });
});

/**
 * The same redirect for a pod in a network namespace of its own (a veth pair,
 * an address of its own), as Kubernetes runs pods, with the scanner deployed
 * as the chart deploys it: listening on every address (0.0.0.0). The redirect
 * must send the pod to an address it reaches the node on: 0.0.0.0 or
 * 127.0.0.1 would be the pod's own loopback, where nothing listens.
 */
describe.runIf(run)('transparent redirect of a pod in its own network namespace, to the node\'s address', () => {
  let net: PodNetwork | null = null;
  let stack: RedirectStack;

  beforeAll(async () => {
    net = podNetwork({ secondOctet: 215 });
    const podIp = net.podIp;
    stack = await startRedirectStack({
      name: 'ns', proxyHost: '0.0.0.0', redirectAddress: net.nodeIp,
      workload: (cgroup) => ({ namespace: 'support', app: 'support-bot', cgroup, ips: [podIp], labels: ENFORCE }),
    });
  });

  afterAll(async () => {
    await stack?.close();
    net?.remove();
  });

  it('records the pod\'s unconfigured call as its LlmCall from its own address, and blocks a forbidden prompt', async () => {
    // the provider's address is the node's loopback: from the pod only the redirect can reach it
    const script = `const https = require('node:https');
const call = (prompt) => new Promise((resolve) => {
  const req = https.request({ host: process.argv[1], port: 443, servername: 'api.openai.com', path: '/v1/chat/completions', method: 'POST',
    headers: { host: 'api.openai.com', authorization: 'Bearer sk-test', 'content-type': 'application/json' } },
    (res) => { let d = ''; res.on('data', (c) => d += c); res.on('end', () => resolve({ status: res.statusCode })); });
  req.on('error', (e) => resolve({ error: e.code || e.message }));
  req.end(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }));
});
(async () => console.log(JSON.stringify([await call('hello pod-ok-marker'), await call('forbidden-topic pod-block-marker')])))();`;
    expect(JSON.parse(await stack.runInPod(['-e', script, PROVIDER_IP], net!.path))).toEqual([{ status: 200 }, { status: 403 }]);
    expect(stack.upstreams.received.some((r) => JSON.stringify(r.body).includes('pod-ok-marker'))).toBe(true);
    expect(stack.upstreams.received.some((r) => JSON.stringify(r.body).includes('pod-block-marker'))).toBe(false);
    const calls = () => stack.tenant.ingested.flatMap((e) => (e.kind === 'llm_call' ? [e.event as LlmCall] : []));
    await expect.poll(() => calls().find((c) => c.messages.some((m) => m.content.includes('pod-ok-marker'))), { timeout: 5000 }).toMatchObject({
      tap: 'proxy', host: 'api.openai.com', status: 200, verdict: 'allow', source: { ip: net!.podIp, namespace: 'support', app: 'support-bot', mode: 'enforce' },
    });
    await expect.poll(() => calls().find((c) => c.messages.some((m) => m.content.includes('pod-block-marker'))), { timeout: 5000 }).toMatchObject({
      verdict: 'block', ruleIds: ['no-forbidden'], source: { ip: net!.podIp, namespace: 'support', mode: 'enforce' },
    });
  });
});
