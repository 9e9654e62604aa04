/**
 * Kernel observation end to end: real curl, Python urllib and Node https
 * clients, each in an observe-labelled cgroup "pod", call a local HTTPS mock
 * provider directly (no proxy, no scanner CA). The TLS uprobes capture their
 * plaintext, the scanner reassembles it into HTTP exchanges, parses them with
 * the same provider parsers as the proxy and uploads LlmCalls with
 * `tap: 'tls'` attributed to the pod by cgroup; the connects themselves
 * become NetworkFlows to the provider address.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availability, findCgroup2Root } from '@higgs/bpf';
import { startMockUpstreams, type MockUpstreams } from '@higgs/demo';
import { startScanner, type ScannerHandle } from '@higgs/scanner';
import type { EnforcementDecision, LlmCall, NetworkFlow, ScannerPolicy } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip } from '../testing/require.ts';
import { startRecordingTenant, type RecordingTenant } from '../testing/recording-tenant.ts';

const avail = availability();
const run = requireOrSkip('BPF', avail.available ? null : avail.reasons.join('; '));
const PROVIDER_IP = `127.0.9.${10 + Math.floor(Math.random() * 200)}`;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const policy: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [{ id: 'r_tap', name: 'no python markers', action: 'block', match: { promptContains: ['python-marker'] }, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00.000Z', sourceFindingId: null }],
};

describe.runIf(run)('TLS uprobes and flow tracing feed the scanner (observe-only, no proxy, no CA)', () => {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const base = join(findCgroup2Root() ?? '/nonexistent', `higgs-e2e-${suffix}`);
  const pod = join(base, 'notebook');
  const unlabelled = join(base, 'unlabelled');
  let dir: string;
  let tenant: RecordingTenant;
  let upstreams: MockUpstreams;
  let scanner: ScannerHandle;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'higgs-kobs-'));
    mkdirSync(pod, { recursive: true });
    mkdirSync(unlabelled, { recursive: true });
    tenant = await startRecordingTenant({ scannerId: 'node-k', policy });
    upstreams = await startMockUpstreams({ host: PROVIDER_IP, chunkDelayMs: 1 });
    const workloadsFile = join(dir, 'workloads.json');
    writeFileSync(workloadsFile, JSON.stringify({ workloads: [{ namespace: 'research', app: 'notebook', cgroup: pod, labels: { 'higgs.scan': 'enabled' } }] }));
    scanner = await startScanner({
      scannerId: 'node-k', dataDir: join(dir, 'scanner'), proxyPort: 0, policyPort: 0, tenantUrl: tenant.url, scannerToken: 't', hashSalt: 'salt',
      workloadsFile, uploadIntervalMs: 100, policyWaitMs: 1000, logger: quiet,
      kernelObservation: {
        tls: true, flows: true, redirect: false, providerAddresses: { [PROVIDER_IP]: 'api.openai.com' },
        pinDir: `/sys/fs/bpf/higgs-test-${suffix}`, cgroupRoot: base, idleMs: 500,
      },
    });
    expect(scanner.kernelUnavailable).toEqual([]);
  });

  afterAll(async () => {
    await scanner?.close();
    await upstreams?.close();
    await tenant?.close();
    rmSync(`/sys/fs/bpf/higgs-test-${suffix}`, { recursive: true, force: true });
    for (const d of [pod, unlabelled, base]) {
      try {
        rmdirSync(d);
      } catch {
        // still draining an exited process
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a command inside the pod's cgroup: the shell moves itself in, then execs the client. */
  async function inPod(cmd: string[], stdin?: string, cgroup = pod): Promise<string> {
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, 'sh', ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.end(stdin ?? '');
    const [code] = (await once(child, 'exit')) as [number];
    expect({ code, err }).toEqual({ code: 0, err: '' });
    return out;
  }

  const calls = () => tenant.ingested.flatMap((e) => (e.kind === 'llm_call' ? [e.event as LlmCall] : []));
  const flows = () => tenant.ingested.flatMap((e) => (e.kind === 'flow' ? [e.event as NetworkFlow] : []));
  async function callWith(marker: string): Promise<LlmCall> {
    await expect.poll(() => calls().find((c) => c.messages.some((m) => m.content.includes(marker))), { timeout: 8000, interval: 100 }).toBeDefined();
    return calls().find((c) => c.messages.some((m) => m.content.includes(marker)))!;
  }
  const body = (marker: string, stream = false) => JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: `say hi ${marker}` }] });
  const url = () => `https://${PROVIDER_IP}:${upstreams.port}/v1/chat/completions`;

  it('curl: a chat completion becomes an LlmCall with tap tls, attributed to the pod by cgroup, and a NetworkFlow', async () => {
    const out = await inPod(['/usr/bin/curl', '-sk', '--http1.1', '-H', 'host: api.openai.com', '-H', 'authorization: Bearer sk-test',
      '-H', 'content-type: application/json', '-d', body('curl-marker'), url()]);
    expect(out).toContain('chat.completion');
    const call = await callWith('curl-marker');
    expect(call).toMatchObject({
      tap: 'tls', provider: 'openai', endpoint: 'chat', host: 'api.openai.com', path: '/v1/chat/completions', parsed: true, model: 'gpt-4o-mini',
      status: 200, verdict: 'allow', source: { namespace: 'research', app: 'notebook', mode: 'observe' },
    });
    expect(call.response?.content).toBeTruthy();
    expect(call.uninspected).toBeUndefined();
    await expect.poll(() => flows().find((f) => f.comm === 'curl' && f.dstIp === PROVIDER_IP), { timeout: 5000 }).toMatchObject({
      dstPort: upstreams.port, dstHost: 'api.openai.com', provider: 'openai', state: 'SYN_SENT', source: { namespace: 'research', app: 'notebook' },
    });
  });

  it('Python urllib: a streamed (SSE, chunked) completion is reassembled and parsed', async () => {
    const script = `import ssl, sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method='POST', headers={'Host': 'api.openai.com', 'Authorization': 'Bearer sk-test', 'Content-Type': 'application/json'})
print(urllib.request.urlopen(req, context=ssl._create_unverified_context()).read().decode())`;
    const out = await inPod(['python3', '-c', script, url(), body('python-marker', true)]);
    expect(out).toContain('data: [DONE]');
    const call = await callWith('python-marker');
    expect(call).toMatchObject({ tap: 'tls', stream: true, parsed: true, status: 200, source: { namespace: 'research' } });
    expect(call.response?.content).toBeTruthy();
    // the block rule ran on the tap's call: recorded as an alert saying what it would have done (the tap cannot block)
    expect(call).toMatchObject({ verdict: 'alert', ruleIds: ['r_tap'] });
    await expect.poll(() => tenant.ingested.find((e) => e.kind === 'decision' && (e.event as EnforcementDecision).callId === call.id)?.event, { timeout: 5000 })
      .toMatchObject({ ruleId: 'r_tap', action: 'alert', primitive: 'inline', matchedField: 'tls_tap:would_block:prompt', source: { namespace: 'research' } });
  });

  it('Node https: the call is observed, and the scanner counts what it reassembled', async () => {
    const script = `const https = require('node:https');
const [url, body] = process.argv.slice(1);
const req = https.request(url, { method: 'POST', rejectUnauthorized: false, headers: { host: 'api.openai.com', authorization: 'Bearer sk-test', 'content-type': 'application/json' } }, (res) => { let d = ''; res.on('data', (c) => d += c); res.on('end', () => console.log(d)); });
req.end(body);`;
    const out = await inPod([process.execPath, '-e', script, url(), body('node-marker')]);
    expect(out).toContain('chat.completion');
    const call = await callWith('node-marker');
    expect(call).toMatchObject({ tap: 'tls', parsed: true, status: 200, source: { namespace: 'research', app: 'notebook' } });
    const k = scanner.stats().kernel!;
    expect(k.tlsCalls).toBeGreaterThanOrEqual(3);
    expect(k.flows).toBeGreaterThanOrEqual(3);
    expect(k).toHaveProperty('ringbufFull');
    expect(k).toHaveProperty('userDropped');
  });

  it('an unlabelled process: its HTTPS call is a NetworkFlow (shadow AI discovery) but no LlmCall, and its plaintext never leaves the kernel', async () => {
    const before = scanner.stats().kernel!;
    const out = await inPod(['/usr/bin/curl', '-sk', '--http1.1', '-H', 'host: api.openai.com', '-H', 'authorization: Bearer sk-test',
      '-H', 'content-type: application/json', '-d', body('unlabelled-marker'), url()], undefined, unlabelled);
    expect(out).toContain('chat.completion');
    await expect.poll(() => flows().find((f) => f.comm === 'curl' && f.dstIp === PROVIDER_IP && f.source.namespace === null), { timeout: 5000 }).toMatchObject({
      dstHost: 'api.openai.com', provider: 'openai', state: 'SYN_SENT', source: { namespace: null, app: null, mode: null },
    });
    // a labelled call after it: once it is recorded, anything of the unlabelled call would have been too
    await inPod(['/usr/bin/curl', '-sk', '--http1.1', '-H', 'host: api.openai.com', '-H', 'content-type: application/json', '-d', body('after-marker'), url()]);
    await callWith('after-marker');
    await new Promise((r) => setTimeout(r, 700)); // past idleMs: every session ended
    expect(JSON.stringify(tenant.ingested)).not.toContain('unlabelled-marker');
    expect(calls().filter((c) => c.source.namespace !== 'research')).toEqual([]);
    const after = scanner.stats().kernel!;
    // filtered in the kernel (at least the SSL_write and SSL_read of the request and answer) ...
    expect(after.tlsFiltered - before.tlsFiltered).toBeGreaterThanOrEqual(2);
    expect(calls().filter((c) => c.messages.some((m) => m.content.includes('after-marker')))).toHaveLength(1);
  });
});
