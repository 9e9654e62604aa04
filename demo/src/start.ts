/**
 * `npm start`: the whole stack on the embedded default, with live simulated
 * traffic, printing the URLs a newcomer needs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadLauncherConfig } from './config.ts';
import { startStack } from './stack.ts';

interface Credentials { adminToken: string; scannerToken: string }

/**
 * The launcher keeps the local stack's two tokens in <home>/credentials.json
 * (mode 0600), like a kubeconfig, so restarts print the same Briefing link;
 * the tenant itself stores only their hashes.
 */
async function loadCredentials(home: string): Promise<Credentials> {
  const file = join(home, 'credentials.json');
  try {
    const c = JSON.parse(await readFile(file, 'utf8')) as Partial<Credentials>;
    if (typeof c.adminToken === 'string' && typeof c.scannerToken === 'string') return { adminToken: c.adminToken, scannerToken: c.scannerToken };
  } catch {
    // first start, or an unreadable file: mint new tokens below
  }
  const fresh = { adminToken: randomBytes(24).toString('base64url'), scannerToken: randomBytes(24).toString('base64url') };
  await writeFile(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600 });
  return fresh;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  // a stop during start-up waits for the stack to be up, then takes it down (its pods, cgroups and pins too); a second one does not wait
  let stopRequested: string | null = null;
  const early = (signal: string) => {
    if (stopRequested) process.exit(130);
    stopRequested = signal;
    process.stdout.write(`\n${signal}: stopping Higgs once it is up (again to quit now)…\n`);
  };
  process.on('SIGINT', early);
  process.on('SIGTERM', early);
  const config = loadLauncherConfig();
  await mkdir(config.home, { recursive: true });
  const creds = await loadCredentials(config.home);
  const stack = await startStack({
    dataDir: config.home,
    host: config.host,
    tenantPort: config.tenantPort,
    proxyPort: config.proxyPort,
    policyPort: config.policyPort,
    traffic: config.traffic,
    trafficIntervalMs: config.trafficIntervalMs,
    logLevel: config.logLevel,
    // one launcher per machine owns these (a crashed run's are reclaimed at start)
    pods: config.pods === 'auto' ? { cgroupName: 'higgs-demo', pinDir: '/sys/fs/bpf/higgs-demo', providerAddress: '127.0.3.1' } : null,
    ...creds,
    ...(config.anthropicApiKey ? { anthropicApiKey: config.anthropicApiKey } : {}),
  });
  const readyMs = performance.now() - startedAt;
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  if (stopRequested) {
    await stack.close();
    process.exit(0);
  }

  const lines = [
    '',
    'Higgs is running on the embedded default (PGlite in ' + join(config.home, 'tenant') + ')',
    '',
    `  Briefing page     ${stack.briefingUrl}`,
    `  MCP endpoint      ${stack.mcpUrl}   (Authorization: Bearer ${stack.adminToken})`,
    `  Scanner proxy     ${stack.proxyUrl}   (HTTPS_PROXY; trust ${join(config.home, 'scanner', 'ca-cert.pem')})`,
    `  Policy endpoint   ${stack.policyUrl}?src_ip=127.0.1.1`,
    `  Tenant API        ${stack.tenantUrl}`,
    '',
    `  started in ${(readyMs / 1000).toFixed(1)} s; ${config.traffic ? 'simulated workloads are calling through the proxy' : 'demo traffic is off (HIGGS_DEMO_TRAFFIC=false)'}`,
    ...(config.traffic ? [`  workloads ${stack.workloadMode.kind === 'pods' ? 'in cgroup pods' : 'in-process, by source address'}: ${config.pods === 'off' ? 'HIGGS_DEMO_PODS=off' : stack.workloadMode.why}`] : []),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  if (config.traffic) void reportFirstFinding(stack.tenantUrl, stack.adminToken, startedAt);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping Higgs…\n`);
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** Prints when the Briefing first has a finding from live traffic: the start-up figure the README quotes. */
async function reportFirstFinding(tenantUrl: string, token: string, startedAt: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`${tenantUrl}/api/tools/list_findings`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ limit: 1 }),
      });
      if (res.ok && ((await res.json()) as { findings: unknown[] }).findings.length > 0) {
        process.stdout.write(`  first finding on the Briefing after ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`);
        return;
      }
    } catch {
      // the tenant is still coming up
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`higgs failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
