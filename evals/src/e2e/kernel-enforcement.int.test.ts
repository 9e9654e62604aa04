/**
 * Kernel enforcement end to end, on a real kernel (gated on HIGGS_REQUIRE_BPF):
 * the tools order, the tenant stores and audits and wakes the scanner's
 * long-poll, the scanner acts in the proxy and the kernel, and reports back
 * into the audit chain. One real client process streams two sessions through
 * the real proxy; a kill takes down exactly one. A real process in a workload
 * cgroup is cut off from provider addresses by a quarantine and back after the
 * release. The same again for a pod in a network namespace of its own.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { availability, findCgroup2Root, loadPrograms } from '@higgs/bpf';
import { AuditLogOutput, KillSessionOutput, ListQuarantinesOutput, QuarantineOutput, ReleaseQuarantineOutput } from '@higgs/schema';
import { startScanner, type ScannerHandle } from '@higgs/scanner';
import { createTenant, type Tenant } from '@higgs/tenant-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podNetwork, type PodNetwork } from '../testing/pod-network.ts';
import { requireOrSkip } from '../testing/require.ts';
import { until } from '../testing/until.ts';

const avail = availability();
const run = requireOrSkip('BPF', avail.available ? null : avail.reasons.join('; '));
const UPSTREAM = '127.0.9.5'; // the mock provider the proxy connects to: learned into the provider map
const PROVIDER = '127.0.9.6'; // a configured provider CIDR
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

// One client process, two concurrent streams through the proxy, one session each; prints what happens to each.
const STREAMER = `
const http = require('node:http');
const [proxyHost, proxyPort, ...traces] = process.argv.slice(1);
for (const [i, trace] of traces.entries()) {
  const req = http.request({ host: proxyHost, port: Number(proxyPort), method: 'POST', path: 'http://api.openai.com/v1/chat/completions',
    agent: new http.Agent({ keepAlive: false }),
    headers: { host: 'api.openai.com', 'content-type': 'application/json', traceparent: '00-' + trace + '-' + '1'.repeat(16) + '-01' } });
  req.on('response', (res) => {
    console.log(JSON.stringify({ i, event: 'status', status: res.statusCode }));
    res.on('data', (d) => console.log(JSON.stringify({ i, event: 'chunk', bytes: d.length, body: res.statusCode === 200 ? '' : d.toString() })));
    res.on('end', () => console.log(JSON.stringify({ i, event: 'end' })));
    res.on('error', (e) => console.log(JSON.stringify({ i, event: 'error', code: e.code ?? e.message })));
  });
  req.on('error', (e) => console.log(JSON.stringify({ i, event: 'error', code: e.code ?? e.message })));
  req.end(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'count slowly' }] }));
}`;

// A process in a cgroup that dials on each stdin line and prints "ok" or the error code.
const DIALER = `require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [host, port] = l.split(' ');
  const s = require('node:net').connect({ host, port: Number(port) });
  s.once('connect', () => { console.log('ok'); s.destroy(); });
  s.once('error', (e) => console.log(e.code));
});`;

type StreamEvent = { i: number; event: 'status' | 'chunk' | 'end' | 'error'; status?: number; code?: string; body?: string };

function streamer(proxy: URL, traces: string[]): { child: ChildProcess; events: StreamEvent[] } {
  const child = spawn(process.execPath, ['-e', STREAMER, proxy.hostname, proxy.port, ...traces], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: StreamEvent[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l) as StreamEvent));
  return { child, events };
}

function dialer(cgroup: string, netns?: string): { child: ChildProcess; dial(host: string, port: number): Promise<string> } {
  const child = netns
    ? spawn('nsenter', [`--net=${netns}`, process.execPath, '-e', DIALER], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, ['-e', DIALER], { stdio: ['pipe', 'pipe', 'inherit'] });
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


/** An OpenAI-shaped SSE stream that sends a chunk every 20 ms until the client goes away. */
function streamingUpstream(): HttpServer {
  return createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: `${n++} ` }, finish_reason: null }] })}\n\n`);
      }, 20);
      res.on('close', () => clearInterval(timer));
    });
  });
}

/** SIGKILLs a child process still running, and waits until it is gone. */
async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = once(c, 'exit');
  c.kill('SIGKILL');
  await exited;
}

/** The scanner leaves its pins in force (a restart adopts them): the test lifts and removes them. */
function removePins(pinDir: string): void {
  const pinned = loadPrograms({ pinDir, flows: false });
  pinned.quarantine.unload();
  pinned.close();
  rmSync(pinDir, { recursive: true, force: true });
}

/** A TCP listener that accepts and ignores: something to dial. */
async function listener(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.on('error', () => {}));
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

/**
 * What every suite here runs: the streaming mock provider on UPSTREAM, a tenant
 * (PGlite in memory), a scanner with kernel enforcement over `workloads`, and
 * an MCP client of the tenant's tools as the admin. `close()` takes it all down
 * and lifts the scanner's pins.
 */
interface KernelStack {
  tenant: Tenant;
  scanner: ScannerHandle;
  /** the mock provider's port on UPSTREAM */
  upstreamPort: number;
  tool(name: string, args: Record<string, unknown>): Promise<unknown>;
  audit(action: string): Promise<ReturnType<typeof AuditLogOutput.parse>['records']>;
  close(): Promise<void>;
}

async function startKernelStack(p: {
  name: string; workloads: Record<string, unknown>[]; providers: string[]; proxyReset: boolean; proxyHost?: string;
}): Promise<KernelStack> {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const pinDir = `/sys/fs/bpf/higgs-e2e-${p.name}-${suffix}`;
  const adminToken = randomBytes(24).toString('base64url');
  const scannerToken = randomBytes(24).toString('base64url');
  const dir = await mkdtemp(join(tmpdir(), `higgs-e2e-${p.name}-`));
  const upstream = streamingUpstream();
  upstream.listen(0, UPSTREAM);
  await once(upstream, 'listening');
  const tenant = await createTenant({ host: '127.0.0.1', port: 0, dataDir: 'memory://', adminToken, scannerToken, logLevel: 'silent' });
  const workloadsFile = join(dir, 'workloads.json');
  writeFileSync(workloadsFile, JSON.stringify({ workloads: p.workloads }));
  const scanner = await startScanner({
    scannerId: `node-${p.name}`, dataDir: join(dir, 'scanner'), ...(p.proxyHost ? { proxyHost: p.proxyHost } : {}), proxyPort: 0, policyPort: 0,
    tenantUrl: tenant.url, scannerToken, hostsOverride: { 'api.openai.com': `${UPSTREAM}:${(upstream.address() as { port: number }).port}` },
    workloadsFile, hashSalt: 'e2e', uploadIntervalMs: 100, logger: quiet, kernelEnforcement: { providers: p.providers, pinDir, proxyReset: p.proxyReset },
  });
  await scanner.waitForPolicy(() => true, 10_000);
  const mcp = new Client({ name: `e2e-kernel-${p.name}`, version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${tenant.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${adminToken}` } } }));
  const tool = async (name: string, args: Record<string, unknown>): Promise<unknown> => {
    const res = await mcp.callTool({ name, arguments: args });
    if (res.isError) throw new Error(`${name} failed: ${JSON.stringify(res.content)}`);
    return res.structuredContent;
  };
  return {
    tenant, scanner, tool, upstreamPort: (upstream.address() as { port: number }).port,
    audit: async (action) => AuditLogOutput.parse(await tool('audit_log', { action, limit: 50 })).records,
    async close() {
      await mcp.close().catch(() => undefined);
      await scanner.close();
      await tenant.close();
      upstream.closeAllConnections();
      upstream.close();
      removePins(pinDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe.runIf(run).each([
  { mode: 'kernel destroy only', proxyReset: false },
  { mode: 'proxy reset, then kernel', proxyReset: true },
])('kernel enforcement through the tools ($mode)', ({ proxyReset }) => {
  const base = `${findCgroup2Root()}/higgs-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
  const cgroups = { payments: `${base}/payments-api`, support: `${base}/support-bot` };
  const children: ChildProcess[] = [];
  let stack: KernelStack;
  let scanner: ScannerHandle;
  let provider: { server: Server; port: number };
  let other: { server: Server; port: number };
  const tool = (name: string, args: Record<string, unknown>) => stack.tool(name, args);
  const audit = (action: string) => stack.audit(action);

  beforeAll(async () => {
    for (const c of Object.values(cgroups)) mkdirSync(c, { recursive: true });
    provider = await listener(PROVIDER);
    other = await listener('127.0.0.1');
    stack = await startKernelStack({
      name: proxyReset ? 'reset' : 'kernel', providers: [`${PROVIDER}/32`], proxyReset,
      workloads: [{ namespace: 'payments', app: 'api', cgroup: cgroups.payments }, { namespace: 'support', app: 'bot', cgroup: cgroups.support }],
    });
    scanner = stack.scanner;
  });

  afterAll(async () => {
    for (const c of children) await stopChild(c);
    await stack?.close();
    provider?.server.close();
    other?.server.close();
    for (const c of Object.values(cgroups)) rmdirSync(c);
    rmdirSync(base);
  });

  it('kill_session resets only the target session while the other session of the same process keeps streaming', async () => {
    const [target, survivor] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
    const client = streamer(new URL(scanner.proxyUrl), [target, survivor]);
    children.push(client.child);
    const chunks = (i: number) => client.events.filter((e) => e.i === i && e.event === 'chunk').length;
    await until('both streams flowing', () => (chunks(0) >= 3 && chunks(1) >= 3 ? true : undefined));

    const { kill } = KillSessionOutput.parse(await tool('kill_session', { sessionId: `t-${target}`, reason: 'runaway agent' }));
    expect(kill).toMatchObject({ sessionId: `t-${target}`, killedBy: 'admin' });
    const error = await until('the target stream to fail', () => client.events.find((e) => e.i === 0 && e.event === 'error'));
    expect(['ECONNRESET', 'ECONNABORTED', 'aborted']).toContain(error.code);

    const atKill = chunks(1);
    await until('the survivor to keep streaming', () => (chunks(1) >= atKill + 10 ? true : undefined));
    expect(client.events.filter((e) => e.i === 1 && (e.event === 'error' || e.event === 'end'))).toEqual([]);

    // a new request of the killed session gets a clean provider-shaped refusal; the survivor's session is not blocked
    const again = streamer(new URL(scanner.proxyUrl), [target]);
    children.push(again.child);
    const status = await until('the refusal', () => again.events.find((e) => e.event === 'status'));
    expect(status.status).toBe(403);
    const body = await until('the refusal body', () => again.events.find((e) => e.event === 'chunk'));
    expect(JSON.parse(body.body!)).toMatchObject({ error: { message: expect.stringContaining('session terminated') } });

    await scanner.flush();
    const [record] = await until('the kill in the audit chain', async () => {
      const r = (await audit('kernel_session_killed')).filter((a) => a.target === `t-${target}`);
      return r.length > 0 ? r : undefined;
    });
    expect(record).toMatchObject({ actor: `scanner:node-${proxyReset ? 'reset' : 'kernel'}`, details: { orderedBy: 'admin', count: 1 } });
    client.child.kill('SIGKILL');
  });

  it('quarantine_namespace refuses the workload\'s provider connects in the kernel, nothing else, and release_quarantine restores them', async () => {
    const payments = dialer(cgroups.payments);
    const support = dialer(cgroups.support);
    children.push(payments.child, support.child);
    expect(await payments.dial(PROVIDER, provider.port)).toBe('ok');

    const ordered = performance.now();
    QuarantineOutput.parse(await tool('quarantine_namespace', { namespace: 'payments', reason: 'exfiltration' }));
    await until('the first refused connect', async () => ((await payments.dial(PROVIDER, provider.port)) === 'EPERM' ? true : undefined), 5_000, 0);
    const orderToRefusalMs = performance.now() - ordered;
    console.info(`quarantine: tool call to first refused connect ${orderToRefusalMs.toFixed(1)} ms`);
    expect(orderToRefusalMs).toBeLessThan(2_000); // the 100 ms target is measured by the bench, on a quieter run

    // the upstream the proxy connected to for api.openai.com was learned as a provider address
    expect(await payments.dial(UPSTREAM, stack.upstreamPort)).toBe('EPERM');
    expect(await payments.dial('127.0.0.1', other.port)).toBe('ok');
    expect(await support.dial(PROVIDER, provider.port)).toBe('ok');

    await scanner.flush();
    const [enforced] = await until('the refusal in the audit chain', async () => {
      await scanner.flush();
      const r = (await audit('kernel_quarantine_enforced')).filter((a) => a.target === 'payments');
      return r.length > 0 ? r : undefined;
    });
    expect(enforced).toMatchObject({ actor: `scanner:node-${proxyReset ? 'reset' : 'kernel'}`, details: { orderedBy: 'admin', source: { namespace: 'payments', app: 'api' } } });

    const { quarantine } = ReleaseQuarantineOutput.parse(await tool('release_quarantine', { namespace: 'payments', reason: 'contained' }));
    await until('the release', async () => ((await payments.dial(PROVIDER, provider.port)) === 'ok' ? true : undefined), 5_000, 0);
    const { quarantines } = ListQuarantinesOutput.parse(await tool('list_quarantines', {}));
    expect(quarantines).toEqual([expect.objectContaining({ id: quarantine.id, namespace: 'payments', active: false, createdBy: 'admin', releasedBy: 'admin', releaseReason: 'contained' })]);
  });
});

/**
 * A pod in a network namespace of its own (a veth pair to the node, an address
 * of its own), as Kubernetes runs pods: its end of a proxied connection lives
 * in its namespace's TCP hash, which a walk of the node's never sees. The
 * kernel-only kill (no proxy reset) must reach it there: the client's own
 * socket is destroyed (ECONNABORTED), not merely closed by the proxy.
 */
describe.runIf(run)('kernel enforcement of a pod in its own network namespace', () => {
  const suffix = randomBytes(3).toString('hex');
  // a provider the pod reaches through the node (its default route): an address of the node's, on its loopback
  const podProvider = `10.216.${1 + (parseInt(suffix, 16) % 250)}.6`;
  const cgroup = `${findCgroup2Root()}/higgs-e2e-ns-${process.pid}-${suffix}`;
  const children: ChildProcess[] = [];
  let net: PodNetwork | null = null;
  let stack: KernelStack;
  let provider: { server: Server; port: number };
  let other: { server: Server; port: number };
  const tool = (name: string, args: Record<string, unknown>) => stack.tool(name, args);

  beforeAll(async () => {
    mkdirSync(cgroup, { recursive: true });
    net = podNetwork({ secondOctet: 213, defaultRoute: true });
    execFileSync('ip', ['addr', 'add', `${podProvider}/32`, 'dev', 'lo']);
    provider = await listener(podProvider);
    other = await listener(net.nodeIp);
    stack = await startKernelStack({
      name: 'ns', proxyHost: net.nodeIp, providers: [`${PROVIDER}/32`, `${podProvider}/32`], proxyReset: false,
      workloads: [{ namespace: 'payments', app: 'api', ips: [net.podIp], cgroup }],
    });
  });

  afterAll(async () => {
    for (const c of children) await stopChild(c);
    await stack?.close();
    provider?.server.close();
    other?.server.close();
    try {
      execFileSync('ip', ['addr', 'del', `${podProvider}/32`, 'dev', 'lo']);
    } catch {
      // never added
    }
    net?.remove();
    rmdirSync(cgroup);
  });

  it('kill_session destroys the pod\'s own socket of the session from inside its namespace; its other session streams on', async () => {
    const [target, survivor] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
    const proxy = new URL(stack.scanner.proxyUrl);
    // nsenter enters the namespace and execs node in place: the pid is the client's
    const child = spawn('nsenter', [`--net=${net!.path}`, process.execPath, '-e', STREAMER, proxy.hostname, proxy.port, target, survivor], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    writeFileSync(`${cgroup}/cgroup.procs`, String(child.pid));
    const events: StreamEvent[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l) as StreamEvent));
    const chunks = (i: number) => events.filter((e) => e.i === i && e.event === 'chunk').length;
    await until('both streams flowing', () => (chunks(0) >= 3 && chunks(1) >= 3 ? true : undefined));

    KillSessionOutput.parse(await tool('kill_session', { sessionId: `t-${target}`, reason: 'runaway agent' }));
    // the client's own socket destroyed (Node reports ECONNABORTED, or ECONNRESET when its read sees the end first);
    // that the kernel did it, in the pod's namespace, is the audit's count below: no proxy reset here
    const error = await until('the target stream to fail', () => events.find((e) => e.i === 0 && e.event === 'error'));
    expect(['ECONNABORTED', 'ECONNRESET']).toContain(error.code);

    const atKill = chunks(1);
    await until('the survivor to keep streaming', () => (chunks(1) >= atKill + 10 ? true : undefined));
    expect(events.filter((e) => e.i === 1 && (e.event === 'error' || e.event === 'end'))).toEqual([]);

    await stack.scanner.flush();
    const [record] = await until('the kill in the audit chain', async () => {
      const r = (await stack.audit('kernel_session_killed')).filter((a) => a.target === `t-${target}`);
      return r.length > 0 ? r : undefined;
    });
    // no proxy reset: the count is the kernel's, one socket destroyed in the pod's namespace (0 if the walk missed it)
    expect(record).toMatchObject({ actor: 'scanner:node-ns', details: { orderedBy: 'admin', count: 1 } });
  });

  it('quarantine_namespace refuses the pod\'s provider connects made from its own namespace, nothing else, until release', async () => {
    const pod = dialer(cgroup, net!.path);
    children.push(pod.child);
    expect(await pod.dial(podProvider, provider.port)).toBe('ok');

    QuarantineOutput.parse(await tool('quarantine_namespace', { namespace: 'payments', reason: 'exfiltration' }));
    await until('the first refused connect', async () => ((await pod.dial(podProvider, provider.port)) === 'EPERM' ? true : undefined), 5_000, 0);
    // the node is still reachable from the pod, on an address that is no provider
    expect(await pod.dial(net!.nodeIp, other.port)).toBe('ok');

    ReleaseQuarantineOutput.parse(await tool('release_quarantine', { namespace: 'payments', reason: 'contained' }));
    await until('the release', async () => ((await pod.dial(podProvider, provider.port)) === 'ok' ? true : undefined), 5_000, 0);
  });
});
