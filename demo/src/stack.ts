/**
 * The whole Higgs stack on one machine: mock provider upstreams, the tenant on
 * its embedded store, the scanner's proxy in front of the upstreams, and
 * (optionally) the simulated workloads driving traffic through it. `npm start`
 * and the end-to-end tests boot exactly this.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startScanner, type ScannerHandle } from '@higgs/scanner';
import { createTenant, type Tenant } from '@higgs/tenant-api';
import { HOP_WORKLOADS, startThreeHops } from './hops/index.ts';
import { startMockUpstreams, type MockUpstreams } from './upstreams/index.ts';
import { DEMO_WORKLOADS, runWorkloads, workloadsFileContent, type CallOutcome, type DemoWorkload } from './workloads/index.ts';

/** The demo's governance baseline: two approved namespaces, both providers approved. */
export const DEMO_BASELINE = Object.freeze({ namespaces: ['support', 'rag'], providers: ['openai', 'anthropic'] });

export interface StackOptions {
  /** holds the tenant's PGlite data (`<dataDir>/tenant`), the scanner's CA and spool (`<dataDir>/scanner`) */
  dataDir: string;
  /** `memory://` keeps the tenant store in memory (tests) */
  tenantDataDir?: string;
  host?: string;
  tenantPort?: number;
  proxyPort?: number;
  policyPort?: number;
  /** drive the simulated workloads; default true */
  traffic?: boolean;
  trafficIntervalMs?: number;
  /** with traffic, also run the three-hop attribution path (frontdoor → orders-api → summariser → LLM); default true */
  hops?: boolean;
  workloads?: readonly DemoWorkload[];
  adminToken?: string;
  scannerToken?: string;
  anthropicApiKey?: string;
  uiDir?: string;
  logLevel?: 'silent' | 'error' | 'warn' | 'info';
  onOutcome?: (o: CallOutcome) => void;
}

export interface Stack {
  tenantUrl: string;
  briefingUrl: string;
  mcpUrl: string;
  proxyUrl: string;
  policyUrl: string;
  adminToken: string;
  scannerToken: string;
  upstreams: MockUpstreams;
  scanner: ScannerHandle;
  tenant: Tenant;
  workloadsFile: string;
  close(): Promise<void>;
}

const token = () => randomBytes(24).toString('base64url');

/** Starts the stack; `close()` stops every part, traffic first. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const host = opts.host ?? '127.0.0.1';
  const scannerDir = join(opts.dataDir, 'scanner');
  await mkdir(scannerDir, { recursive: true });
  // Tokens are handed to both sides here; the tenant stores only their hashes.
  const adminToken = opts.adminToken ?? token();
  const scannerToken = opts.scannerToken ?? token();

  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const upstreams = await startMockUpstreams({ host });
    closers.push(() => upstreams.close());

    const tenant = await createTenant({
      host,
      port: opts.tenantPort ?? 0,
      dataDir: opts.tenantDataDir ?? join(opts.dataDir, 'tenant'),
      adminToken,
      scannerToken,
      baseline: { namespaces: [...DEMO_BASELINE.namespaces], providers: [...DEMO_BASELINE.providers] },
      logLevel: opts.logLevel ?? 'silent',
      // the demo's teams, for cost_report by team
      cost: { teams: { apps: {}, namespaces: { support: 'customer-care', rag: 'knowledge', sandbox: 'research', web: 'web', orders: 'orders' } } },
      ...(opts.uiDir ? { uiDir: opts.uiDir } : {}),
      ...(opts.anthropicApiKey ? { anthropicApiKey: opts.anthropicApiKey } : {}),
    });
    closers.push(() => tenant.close());

    const hops = (opts.traffic ?? true) && (opts.hops ?? true);
    const workloads = opts.workloads ?? (hops ? [...DEMO_WORKLOADS, ...HOP_WORKLOADS] : DEMO_WORKLOADS);
    const workloadsFile = join(scannerDir, 'workloads.json');
    await writeFile(workloadsFile, workloadsFileContent(workloads));
    const upstreamAddr = `${upstreams.host}:${upstreams.port}`;
    const scanner = await startScanner({
      scannerId: 'local-node',
      dataDir: scannerDir,
      proxyHost: host,
      proxyPort: opts.proxyPort ?? 0,
      policyPort: opts.policyPort ?? 0,
      tenantUrl: tenant.url,
      scannerToken,
      // The demo's providers are the mocks: the proxy keeps SNI and Host, connects here.
      hostsOverride: { 'api.openai.com': upstreamAddr, 'api.anthropic.com': upstreamAddr },
      upstreamCaPem: [upstreams.caCertPem],
      workloadsFile,
      hashSalt: `demo-${scannerToken.slice(0, 8)}`,
      uploadIntervalMs: 250,
    });
    closers.push(() => scanner.close());

    if (opts.traffic ?? true) {
      const abort = new AbortController();
      const running = runWorkloads({
        proxyUrl: scanner.proxyUrl, caCertPem: scanner.caCertPem, intervalMs: opts.trafficIntervalMs ?? 2000, signal: abort.signal,
        workloads, ...(opts.onOutcome ? { onOutcome: opts.onOutcome } : {}),
      });
      closers.push(async () => {
        abort.abort();
        await running;
      });
    }

    if (hops) {
      // a user signs in to the frontdoor now and then; the summariser's LLM call is attributed to them through the trace
      const path = await startThreeHops({ proxyUrl: scanner.proxyUrl, caCertPem: scanner.caCertPem });
      closers.push(() => path.close());
      const users = ['dana@example.com', 'erin@example.com'];
      let n = 0;
      const timer = setInterval(() => {
        const user = users[(n += 1) % users.length]!;
        void fetch(`${path.frontdoorUrl}/orders/o-${1000 + n}/summary`, {
          method: 'POST', headers: { authorization: `Bearer ${path.tokenFor(user)}` },
        }).then((r) => r.arrayBuffer(), () => undefined);
      }, (opts.trafficIntervalMs ?? 2000) * 3);
      closers.push(async () => clearInterval(timer));
    }

    return {
      tenantUrl: tenant.url,
      briefingUrl: `${tenant.url}/#token=${adminToken}`,
      mcpUrl: `${tenant.url}/mcp`,
      proxyUrl: scanner.proxyUrl,
      policyUrl: scanner.policyUrl,
      adminToken,
      scannerToken,
      upstreams,
      scanner,
      tenant,
      workloadsFile,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
