/**
 * The demo stack with its workloads as cgroup pods (privileged): each pod a
 * real process in its own cgroup v2 directory, its calls attributed as
 * in-process, the sandbox's provider connects refused in the kernel while its
 * namespace is quarantined, and nothing of it left on stop.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ensureCgroup2, kernelAvailability } from '@higgs/scanner/workloads';
import { requireOrSkip, until } from '@higgs/evals/testing';
import { AuditLogOutput, ListQuarantinesOutput, ListSessionsOutput, QuarantineOutput, ReleaseQuarantineOutput } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type PodInfo, type Stack } from '../stack.ts';
import type { CallOutcome } from '../workloads/index.ts';

function whyNot(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const cg = ensureCgroup2();
  if ('reason' in cg) return cg.reason;
  const k = kernelAvailability();
  return k.available ? null : k.reasons.join('; ');
}
const run = requireOrSkip('BPF', whyNot());

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.runIf(run)('npm start with cgroup pods (root, cgroup v2, BPF)', () => {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const cgroupName = `higgs-demo-test-${suffix}`;
  const pinDir = `/sys/fs/bpf/higgs-demo-test-${suffix}`;
  // 127.0.5.0/24: the demo's pod tests only (the scanner's kernel tests use 127.0.9.x)
  const providerAddress = `127.0.5.${10 + Math.floor(Math.random() * 200)}`;
  const outcomes: CallOutcome[] = [];
  let dir: string;
  let stack: Stack;
  let pods: readonly PodInfo[];
  let stopped = false;

  const tool = async (name: string, args: Record<string, unknown>): Promise<unknown> => {
    const res = await fetch(`${stack.tenantUrl}/api/tools/${name}`, {
      method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(args),
    });
    expect(res.status, `${name}`).toBe(200);
    return res.json();
  };
  const sandboxAfter = (t: number, pred: (o: CallOutcome) => boolean) => () =>
    outcomes.find((o) => o.app === 'experiment' && Date.parse(o.at) >= t && pred(o));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'higgs-pods-'));
    stack = await startStack({
      dataDir: dir, tenantDataDir: 'memory://', trafficIntervalMs: 300, onOutcome: (o) => outcomes.push(o),
      pods: { cgroupName, pinDir, providerAddress },
    });
    pods = await stack.pods;
  }, 120_000);

  afterAll(async () => {
    if (!stopped) await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs every workload as its own process inside its own cgroup v2 directory', async () => {
    expect(stack.workloadMode.kind).toBe('pods');
    expect(pods.map((p) => `${p.namespace}/${p.app}`).sort()).toEqual(
      ['orders/orders-api', 'orders/summariser', 'rag/internal-rag', 'sandbox/experiment', 'support/support-bot', 'web/frontdoor'],
    );
    const root = (ensureCgroup2() as { root: string }).root;
    expect(new Set(pods.map((p) => p.pid)).size).toBe(pods.length);
    for (const p of pods) {
      expect(p.cgroup).toBe(join(root, cgroupName, p.namespace, p.app));
      // /proc/<pid>/cgroup: "0::<path under the v2 root>" is the unified hierarchy's line
      await until(`${p.app} in its cgroup`, () => {
        const line = readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
        return line === `0::/${relative(root, p.cgroup)}` ? true : undefined;
      }, 5_000);
    }
  });

  it('attributes every pod\'s calls to its namespace, app and user, the sandbox\'s through the kernel\'s TLS tap', async () => {
    for (const app of ['support-bot', 'internal-rag', 'experiment']) {
      await until(`an answered call of ${app}`, () => outcomes.find((o) => o.app === app && o.kind === 'ok'), 60_000);
    }
    for (const [namespace, app] of [['support', 'support-bot'], ['rag', 'internal-rag'], ['sandbox', 'experiment']] as const) {
      const session = await until(`a ${app} session`, async () => {
        await stack.scanner.flush();
        const out = ListSessionsOutput.parse(await tool('list_sessions', { namespace, app }));
        return out.sessions.find((s) => s.userId !== null);
      }, 30_000);
      const users = new Set(outcomes.filter((o) => o.app === app).map((o) => o.userId));
      expect(users.has(session.userId!), `${app}: ${session.userId}`).toBe(true);
    }
    // the three-hop path: the summariser's call belongs to the user who signed in to the frontdoor
    const traced = await until('a summariser session attributed through the trace', async () => {
      await stack.scanner.flush();
      const out = ListSessionsOutput.parse(await tool('list_sessions', { namespace: 'orders', app: 'summariser' }));
      return out.sessions.find((s) => s.userSource === 'trace');
    }, 60_000);
    expect(['dana@example.com', 'erin@example.com']).toContain(traced.userId);
    const kernel = stack.scanner.stats().kernel!;
    expect(kernel.tlsCalls).toBeGreaterThan(0);
    expect(kernel.flows).toBeGreaterThan(0);
    expect(stack.podProblems).toEqual([]);
  }, 150_000);

  it('quarantine_namespace sandbox refuses the sandbox\'s provider connects in the kernel; release restores them', async () => {
    const ordered = Date.now();
    QuarantineOutput.parse(await tool('quarantine_namespace', { namespace: 'sandbox', reason: 'shadow AI' }));
    const refused = await until('a refused sandbox connect', sandboxAfter(ordered, (o) => o.kind === 'error' && /EPERM/.test(o.message)), 60_000)
      .catch((err: Error) => {
        const seen = outcomes.filter((o) => o.app === 'experiment').slice(-5).map((o) => `${o.at} ${o.kind} ${o.kind === 'ok' ? '' : o.message}`);
        throw new Error(`${err.message}; ordered at ${new Date(ordered).toISOString()}, the sandbox's last outcomes:\n${seen.join('\n')}`);
      });
    expect(refused.kind).toBe('error');
    // the quarantine is the sandbox's alone: the proxied pods keep being answered
    const supportOk = await until('support-bot still answered', () => outcomes.find((o) => o.app === 'support-bot' && o.kind === 'ok' && Date.parse(o.at) > Date.parse(refused.at)), 30_000);
    expect(supportOk.namespace).toBe('support');
    // the scanner reports the first refusal; the tenant audits it with who ordered the quarantine
    const [enforced] = await until('the refusal in the audit chain', async () => {
      await stack.scanner.flush();
      const records = AuditLogOutput.parse(await tool('audit_log', { action: 'kernel_quarantine_enforced', limit: 50 })).records.filter((r) => r.target === 'sandbox');
      return records.length > 0 ? records : undefined;
    }, 30_000);
    expect(enforced).toMatchObject({ actor: 'scanner:local-node', details: { orderedBy: 'admin', source: { namespace: 'sandbox', app: 'experiment' } } });

    const released = Date.now();
    ReleaseQuarantineOutput.parse(await tool('release_quarantine', { namespace: 'sandbox', reason: 'reviewed' }));
    await until('an answered sandbox call after the release', sandboxAfter(released, (o) => o.kind === 'ok'), 60_000);
    const { quarantines } = ListQuarantinesOutput.parse(await tool('list_quarantines', {}));
    expect(quarantines.find((q) => q.namespace === 'sandbox')).toMatchObject({ active: false });
  }, 150_000);

  it('removes every pod process, its cgroups and its pins on stop', async () => {
    const root = (ensureCgroup2() as { root: string }).root;
    expect(existsSync(join(root, cgroupName))).toBe(true);
    expect(existsSync(pinDir)).toBe(true);
    stopped = true;
    await stack.close();
    expect(pods.filter((p) => alive(p.pid))).toEqual([]);
    expect(existsSync(join(root, cgroupName))).toBe(false);
    expect(existsSync(pinDir)).toBe(false);
  }, 60_000);
});
