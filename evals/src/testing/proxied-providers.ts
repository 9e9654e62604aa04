/**
 * One setup for the provider e2e suites: a recording tenant, the demo mock
 * upstreams (real wire formats, TLS) standing in for the providers' hosts, the
 * scanner's MITM proxy in front of them with one enforce-labelled workload, and
 * the clients' ways through the proxy — an undici dispatcher and a `fetch` for
 * the fetch-based SDKs, and a Bedrock client on a CONNECT agent (the AWS SDK's
 * Node handler takes an agent, not a proxy URL).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { startMockUpstreams, type MockUpstreams } from '@higgs/demo';
import { startScanner, type ScannerHandle } from '@higgs/scanner';
import type { EnforcementDecision, IngestEvent, LlmCall, ScannerPolicy } from '@higgs/schema';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { fetch as undiciFetch, ProxyAgent } from 'undici';
import { ConnectProxyAgent } from './connect-proxy-agent.ts';
import { startRecordingTenant, type RecordingTenant } from './recording-tenant.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** An enabled inline rule as the tenant would publish it. */
export const testRule = (id: string, action: 'block' | 'redact', match: Record<string, unknown>) => ({
  id, name: id, action, match, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null,
});

/** A call's prompt contains `text`. */
export const promptIs = (text: string) => (c: LlmCall) => c.messages.some((m) => m.content.includes(text));

export interface ProxiedProviders {
  tenant: RecordingTenant;
  upstreams: MockUpstreams;
  scanner: ScannerHandle;
  /** every event the scanner uploaded, in order */
  ingested: IngestEvent[];
  dispatcher: ProxyAgent;
  /** undici's fetch through the proxy; also takes a Request object (Mistral's HTTP client hands one over) */
  proxiedFetch: typeof fetch;
  bedrock: BedrockRuntimeClient;
  /**
   * The last recorded call matching `predicate`. A call is recorded when the
   * proxy sees the upstream response end, which can come just after an SDK
   * has stopped reading (a `[DONE]` sentinel, a cut stream): poll briefly.
   */
  lastCall(predicate: (c: LlmCall) => boolean): Promise<LlmCall>;
  decisionsOf(callId: string): EnforcementDecision[];
  close(): Promise<void>;
}

/** Starts the stack with `hosts` routed to the mock upstreams and `policy` published by the tenant. */
export async function startProxiedProviders(p: { name: string; policy: ScannerPolicy; hosts: readonly string[] }): Promise<ProxiedProviders> {
  const dir = mkdtempSync(join(tmpdir(), `higgs-${p.name}-`));
  const tenant = await startRecordingTenant({ scannerId: 'node-1', policy: p.policy });
  const upstreams = await startMockUpstreams({ chunkDelayMs: 1 });
  const target = `127.0.0.1:${upstreams.port}`;
  const workloadsFile = join(dir, 'workloads.json');
  writeFileSync(workloadsFile, JSON.stringify({ workloads: [
    { namespace: 'support', app: 'support-bot', ips: ['127.0.0.1'], labels: { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' } },
  ] }));
  const scanner = await startScanner({
    scannerId: 'node-1', dataDir: join(dir, 'scanner'), proxyPort: 0, policyPort: 0,
    tenantUrl: tenant.url, scannerToken: 'scanner-token', hashSalt: 'salt',
    hostsOverride: Object.fromEntries(p.hosts.map((h) => [h, target])),
    upstreamCaPem: [upstreams.caCertPem], workloadsFile, uploadIntervalMs: 60_000, policyWaitMs: 1000, logger: quiet,
  });
  await scanner.waitForPolicy((policy) => policy.version === p.policy.version, 10_000);

  const dispatcher = new ProxyAgent({ uri: scanner.proxyUrl, requestTls: { ca: [scanner.caCertPem] } });
  // Node 20's global fetch bundles an older undici than ProxyAgent: the SDKs get undici's own fetch with the dispatcher
  const proxiedFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    if (input instanceof Request) {
      const body = input.body ? await input.arrayBuffer() : undefined;
      return undiciFetch(input.url, { method: input.method, headers: [...input.headers], body, signal: input.signal, ...(init as object), dispatcher } as never);
    }
    return undiciFetch(input as never, { ...(init as object), dispatcher } as never);
  }) as unknown as typeof fetch;
  const bedrock = new BedrockRuntimeClient({
    region: 'us-east-1',
    // static, fake: the mock checks a SigV4 header is present, nothing leaves loopback
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new ConnectProxyAgent(new URL(scanner.proxyUrl), { ca: scanner.caCertPem }) }),
  });
  const ingested = tenant.ingested;

  return {
    tenant, upstreams, scanner, ingested, dispatcher, proxiedFetch, bedrock,
    async lastCall(predicate) {
      for (let attempt = 0; attempt < 50; attempt++) {
        await scanner.flush();
        const call = ingested.flatMap((e) => (e.kind === 'llm_call' ? [e.event] : [])).filter(predicate).at(-1);
        if (call) return call;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('no matching call was recorded');
    },
    decisionsOf: (callId) => ingested.flatMap((e) => (e.kind === 'decision' && e.event.callId === callId ? [e.event] : [])),
    async close() {
      bedrock.destroy();
      await dispatcher.close();
      await scanner.close();
      await upstreams.close();
      await tenant.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
