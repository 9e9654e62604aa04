/**
 * The whole Higgs stack on one machine: mock provider upstreams, the tenant on
 * its embedded store, the scanner's proxy in front of the upstreams, and
 * (optionally) the simulated workloads driving traffic through it. `npm start`
 * and the end-to-end tests boot exactly this.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startScanner, type ScannerHandle, type ScannerOptions } from '@higgs/scanner';
import { createTenant, type Tenant } from '@higgs/tenant-api';
import { HOP_ROLES, HOP_WORKLOADS, signUserToken, startThreeHops, type HopRole } from './hops/index.ts';
import { bundlePodEntry, planPods, spawnPod, startReaper, stopPods, type Pod, type PodsPlan, type PodSpec } from './pods/index.ts';
import { startMockUpstreams, type MockUpstreams } from './upstreams/index.ts';
import { DEMO_WORKLOADS, runWorkloads, workloadsFileContent, type CallOutcome, type DemoWorkload } from './workloads/index.ts';

/** The demo's governance baseline: two approved namespaces, both providers approved. */
export const DEMO_BASELINE = Object.freeze({ namespaces: ['support', 'rag'], providers: ['openai', 'anthropic'] });

/**
 * The pod with no proxy settings at all: as a cgroup pod, the sandbox
 * experiment (the shadow AI) calls the provider's address directly, and only
 * the kernel sees it — TLS tap, flows, quarantine. Only it is listed with its
 * cgroup in the workloads file: a listed pod is in the TLS tap's scope, and
 * the others' calls, already recorded by the proxy, would be recorded twice.
 */
const UNCONFIGURED = 'sandbox/experiment';

/** Where a launcher's cgroup pods and kernel state live. */
export interface PodsOptions {
  /** its directory under the cgroup v2 root, e.g. `higgs-demo` */
  cgroupName: string;
  /** its bpffs pin directory, removed on stop (and before start: a crashed run's) */
  pinDir: string;
  /** the address the unconfigured pod knows api.openai.com by (a provider mock listens there) */
  providerAddress: string;
}

/** A workload pod as the stack reports it. */
export interface PodInfo {
  namespace: string;
  app: string;
  pid: number;
  cgroup: string;
}

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
  /**
   * Run the workloads as cgroup pods with the kernel primitives on when this
   * process may (root, cgroup v2, the bpf addon); otherwise in-process, with
   * the reason in `workloadMode`. Absent: in-process.
   */
  pods?: PodsOptions | null;
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
  /** how the workloads run, and why: in their own processes and cgroups, or in this process by source address */
  workloadMode: { kind: 'pods' | 'in-process'; why: string };
  /** resolves with the pods once every one is spawned (at once, empty, in-process) */
  pods: Promise<readonly PodInfo[]>;
  /** pods' unreadable reports and unexpected exits, in order (also logged unless `logLevel` is silent) */
  podProblems: readonly string[];
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
  const traffic = opts.traffic ?? true;
  // planned while the tenant starts: a crashed run's pods may need a moment to end
  const planning = opts.pods && traffic ? planPods(opts.pods.cgroupName) : null;
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

    const hops = traffic && (opts.hops ?? true);
    const workloads = opts.workloads ?? (hops ? [...DEMO_WORKLOADS, ...HOP_WORKLOADS] : DEMO_WORKLOADS);
    const planned = planning ? await planning : null;
    const plan: PodsPlan | null = planned && 'base' in planned ? planned : null;
    const workloadMode: Stack['workloadMode'] = plan
      ? { kind: 'pods', why: `root, cgroup v2 and BPF available: each workload is a process in its own cgroup under ${plan.base}; ${UNCONFIGURED} has no proxy settings and is seen by the kernel (TLS tap, flows, quarantine)` }
      : { kind: 'in-process', why: whyInProcess(opts, traffic, planned) };

    // the unconfigured pod's provider: its own address, so the kernel's provider map holds nothing else
    let direct: MockUpstreams | null = null;
    if (plan && opts.pods) {
      direct = await startMockUpstreams({ host: opts.pods.providerAddress });
      const d = direct;
      closers.push(() => d.close());
      // a crashed run's pins would be adopted; this run's quarantines come from the tenant's policy
      rmSync(opts.pods.pinDir, { recursive: true, force: true });
      const pinDir = opts.pods.pinDir;
      const reaper = startReaper(plan, pinDir);
      // runs after the scanner closes (closers run in reverse): nothing of this run stays in the kernel
      closers.push(async () => {
        rmSync(pinDir, { recursive: true, force: true });
        reaper.release();
      });
    }
    const cgroups = plan ? Object.fromEntries(workloads.filter((w) => key(w) === UNCONFIGURED).map((w) => [key(w), podDir(plan, w)])) : {};
    const workloadsFile = join(scannerDir, 'workloads.json');
    await writeFile(workloadsFile, workloadsFileContent(workloads, cgroups));
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
      ...(plan && opts.pods ? kernelOptions(opts.pods) : {}),
    });
    closers.push(() => scanner.close());

    const podProblems: string[] = [];
    let pods: Promise<readonly PodInfo[]> = Promise.resolve([]);
    if (plan && direct) {
      const running: Pod[] = [];
      const stopping = new AbortController();
      const starting = startPods({
        plan, bundleDir: join(opts.dataDir, 'pods'), workloads, hops, direct, scanner, running, intervalMs: opts.trafficIntervalMs ?? 2000, signal: stopping.signal,
        onOutcome: opts.onOutcome, onProblem: (text) => {
          podProblems.push(text);
          if ((opts.logLevel ?? 'silent') !== 'silent') process.stderr.write(`higgs demo: ${text}\n`);
        },
      });
      // stopped before the scanner, so their last calls still reach it
      closers.push(async () => {
        stopping.abort();
        await starting.catch(() => undefined);
        await stopPods(plan, running);
      });
      pods = starting.then((ps) => ps.map((p) => ({ namespace: p.namespace, app: p.app, pid: p.pid, cgroup: p.cgroup })));
      pods.catch(() => undefined);
    } else if (traffic) {
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

    if (hops && !plan) {
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
      workloadMode,
      pods,
      podProblems,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

const key = (w: { namespace: string; app: string }) => `${w.namespace}/${w.app}`;
const podDir = (plan: PodsPlan, w: { namespace: string; app: string }) => join(plan.base, w.namespace, w.app);

function whyInProcess(opts: StackOptions, traffic: boolean, planned: PodsPlan | { reason: string } | null): string {
  if (!traffic) return 'no demo traffic';
  if (!opts.pods) return 'cgroup pods not asked for';
  return planned && 'reason' in planned ? `cgroup pods unavailable: ${planned.reason}` : 'cgroup pods unavailable';
}

/**
 * The scanner's kernel side for the pods: quarantine and session kill
 * (kernel enforcement), flows and the TLS tap (observation). The provider map
 * holds only the unconfigured pod's provider address: the proxied pods reach
 * their provider through the proxy, which refuses a quarantined namespace
 * itself, and learning the mock upstream's 127.0.0.1 would refuse a
 * quarantined pod's connects to the tenant and the proxy too.
 */
function kernelOptions(p: PodsOptions): Pick<ScannerOptions, 'kernelEnforcement' | 'kernelObservation'> {
  return {
    kernelEnforcement: { providers: [`${p.providerAddress}/32`], pinDir: p.pinDir, learnProviders: false },
    kernelObservation: {
      // the pods are node: probing node's statically linked OpenSSL is enough, and leaves other programs' libssl alone
      tls: [process.execPath], flows: true, redirect: false,
      providerAddresses: { [p.providerAddress]: 'api.openai.com' }, pinDir: p.pinDir,
    },
  };
}

interface StartPods {
  plan: PodsPlan;
  /** where the pod entry is bundled */
  bundleDir: string;
  workloads: readonly DemoWorkload[];
  hops: boolean;
  direct: MockUpstreams;
  scanner: ScannerHandle;
  intervalMs: number;
  /** filled as pods spawn, so a stop during start-up stops them too */
  running: Pod[];
  /** aborted on stop: no more pods, no more sign-ins */
  signal: AbortSignal;
  onOutcome: ((o: CallOutcome) => void) | undefined;
  onProblem: (text: string) => void;
}

/**
 * Spawns one pod per workload, each making its scripted calls, the hop
 * workloads also serving their hop; wires each hop to the next as they
 * listen, and has a user sign in to the frontdoor now and then.
 */
async function startPods(o: StartPods): Promise<Pod[]> {
  // bundled after the stack is up, not beside the tenant's start: on 2 cores the two contend, and the ready time is what a user waits for
  const entry = await bundlePodEntry(o.bundleDir);
  if (o.signal.aborted) return o.running;
  const jwtSecret = randomBytes(32).toString('base64url');
  const ports = new Map<HopRole, number>();
  const byRole = new Map<HopRole, Pod>();
  // each hop calls the next one: orders-api → summariser, frontdoor → orders-api
  const nextOf: Partial<Record<HopRole, HopRole>> = { frontdoor: 'orders-api', 'orders-api': 'summariser' };
  const wire = () => {
    for (const [from, to] of Object.entries(nextOf) as Array<[HopRole, HopRole]>) {
      const port = ports.get(to);
      if (port !== undefined) byRole.get(from)?.send({ type: 'next', port });
    }
  };
  const roleOf = (w: DemoWorkload): HopRole | null => {
    const role = HOP_ROLES.find((r) => r === w.app);
    return o.hops && role && HOP_WORKLOADS.some((h) => key(h) === key(w)) ? role : null;
  };
  o.workloads.forEach((w, index) => {
    const role = roleOf(w);
    const spec: PodSpec = {
      workload: { ...w, labels: { ...w.labels } }, proxyUrl: o.scanner.proxyUrl, caCertPem: o.scanner.caCertPem,
      calls: {
        intervalMs: o.intervalMs, startDelayMs: Math.round((o.intervalMs * index) / o.workloads.length),
        direct: key(w) === UNCONFIGURED ? { host: o.direct.host, port: o.direct.port, caCertPem: o.direct.caCertPem } : null,
      },
      hop: role ? { role, jwtSecret } : null,
    };
    const pod = spawnPod(o.plan, entry, w, spec, {
      message: (msg) => {
        if (msg.type === 'outcome') {
          try {
            o.onOutcome?.(msg.outcome);
          } catch {
            // a faulty observer must not stop the traffic it observes
          }
        } else if (role) {
          ports.set(role, msg.port);
          wire();
        }
      },
      problem: o.onProblem,
    });
    o.running.push(pod);
    if (role) byRole.set(role, pod);
  });
  if (byRole.has('frontdoor')) driveFrontdoor(() => ports.get('frontdoor') ?? null, jwtSecret, o.intervalMs * 3, o.signal);
  return o.running;
}

/** A user signs in to the frontdoor now and then; the summariser's LLM call is attributed to them through the trace. */
function driveFrontdoor(port: () => number | null, secret: string, everyMs: number, signal: AbortSignal): void {
  const frontdoor = HOP_WORKLOADS.find((w) => w.app === 'frontdoor')!;
  const users = ['dana@example.com', 'erin@example.com'];
  let n = 0;
  const timer = setInterval(() => {
    const p = port();
    if (p === null) return;
    const user = users[(n += 1) % users.length]!;
    void fetch(`http://${frontdoor.ip}:${p}/orders/o-${1000 + n}/summary`, {
      method: 'POST', headers: { authorization: `Bearer ${signUserToken(secret, user)}` },
    }).then((r) => r.arrayBuffer(), () => undefined);
  }, everyMs);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
