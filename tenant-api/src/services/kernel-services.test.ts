import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IngestResult, KillSessionOutput, ListQuarantinesOutput, ReleaseQuarantineOutput, ScannerPolicy, type KernelEnforcement, type Principal,
} from '@higgs/schema';
import { createRegistry, type ToolRegistry } from '@higgs/tools';
import { listAudit, verifyAuditChain } from '../stores/audit-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { buildTestApp, type TestApp } from '../testing/app-fixture.ts';
import { createTestTenant, eventId, openTestDb, type TestTenant } from '../testing/fixtures.ts';
import { createPolicyNotifier } from '../policy/policy-notifier.ts';
import { createHiggsServices } from './higgs-services.ts';

let db: SqlClient;
let registry: ToolRegistry;
beforeAll(async () => {
  db = await openTestDb();
  registry = createRegistry(createHiggsServices({ db, notifier: createPolicyNotifier() }));
}, 60_000);
afterAll(async () => { await db?.close(); });

const securityOf = (t: TestTenant): Principal => ({ ...t.admin, id: 'sec-oncall', name: 'Security on call', role: 'security' });

async function call(name: string, args: unknown, who: Principal): Promise<unknown> {
  const r = await registry.call(name, args, who);
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.output;
}

async function policyOf(app: TestApp, t: TestTenant): Promise<ScannerPolicy> {
  const res = await app.app.inject({ method: 'GET', url: '/v1/scanners/node-1/policy', headers: { authorization: `Bearer ${t.scannerToken}` } });
  expect(res.statusCode).toBe(200);
  return ScannerPolicy.parse(res.json());
}

describe('kernel tools over PGlite', () => {
  it('kills a session once: the policy blocks it and names who ordered it, the audit has one record', async () => {
    const t = await createTestTenant(db);
    const sec = securityOf(t);
    const app = await buildTestApp(db, t);
    try {
      const before = await policyOf(app, t);
      const { kill } = KillSessionOutput.parse(await call('kill_session', { sessionId: 't-abc', reason: 'runaway agent' }, sec));
      expect(kill).toMatchObject({ sessionId: 't-abc', killedBy: 'sec-oncall', reason: 'runaway agent', known: false });
      const after = await policyOf(app, t);
      expect(Number(after.version)).toBeGreaterThan(Number(before.version));
      expect(after.blockedSessions).toEqual(['t-abc']);
      expect(after.orders).toEqual([{ primitive: 'session_kill', target: 't-abc', orderedBy: 'sec-oncall', orderedAt: kill.killedAt }]);

      // repeating the order changes nothing: same kill, no new audit record, no version bump
      const again = KillSessionOutput.parse(await call('kill_session', { sessionId: 't-abc', reason: 'twice' }, t.admin));
      expect(again.kill).toEqual(kill);
      expect((await policyOf(app, t)).version).toBe(after.version);
      expect((await listAudit(db, { tenantId: t.tenantId })).map((a) => [a.action, a.actor, a.target])).toEqual([['kill_session', 'sec-oncall', 't-abc']]);
    } finally {
      await app.close();
    }
  });

  it('refuses the agent and a viewer: the agent may only propose a kill or a release', async () => {
    const t = await createTestTenant(db);
    const viewer: Principal = { ...t.admin, id: 'v', role: 'viewer' };
    for (const who of [t.agent, viewer]) {
      await expect(call('kill_session', { sessionId: 't-x', reason: 'r' }, who)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(call('release_quarantine', { namespace: 'x', reason: 'r' }, who)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    expect(ListQuarantinesOutput.parse(await call('list_quarantines', {}, viewer)).quarantines).toEqual([]);
    expect(await listAudit(db, { tenantId: t.tenantId })).toEqual([]);
  });

  it('releases a quarantine by namespace or id, keeps who and why, and lists active and released ones', async () => {
    const t = await createTestTenant(db);
    const sec = securityOf(t);
    const app = await buildTestApp(db, t);
    try {
      await call('quarantine_namespace', { namespace: 'payments', reason: 'exfiltration' }, t.admin);
      await call('quarantine_namespace', { namespace: 'rag', reason: 'shadow' }, t.admin);
      const active = await policyOf(app, t);
      expect(active.quarantinedNamespaces).toEqual(['payments', 'rag']);
      expect(active.orders?.map((o) => [o.primitive, o.target, o.orderedBy])).toEqual([['quarantine', 'payments', 'admin'], ['quarantine', 'rag', 'admin']]);

      const { quarantine } = ReleaseQuarantineOutput.parse(await call('release_quarantine', { namespace: 'payments', reason: 'contained' }, sec));
      expect(quarantine).toMatchObject({ namespace: 'payments', active: false, releasedBy: 'sec-oncall', releaseReason: 'contained', createdBy: 'admin' });
      expect((await policyOf(app, t)).quarantinedNamespaces).toEqual(['rag']);
      await expect(call('release_quarantine', { namespace: 'payments', reason: 'again' }, sec)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(call('release_quarantine', { quarantineId: quarantine.id, reason: 'again' }, sec)).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(call('release_quarantine', { namespace: 'rag', quarantineId: quarantine.id, reason: 'both' }, sec)).rejects.toMatchObject({ code: 'INVALID_INPUT' });

      const rag = ListQuarantinesOutput.parse(await call('list_quarantines', { activeOnly: true }, sec)).quarantines;
      expect(rag.map((q) => q.namespace)).toEqual(['rag']);
      ReleaseQuarantineOutput.parse(await call('release_quarantine', { quarantineId: rag[0]!.id, reason: 'ok now' }, sec));
      const all = ListQuarantinesOutput.parse(await call('list_quarantines', {}, sec)).quarantines;
      expect(all.map((q) => [q.namespace, q.active, q.releasedBy, q.releaseReason])).toEqual([['payments', false, 'sec-oncall', 'contained'], ['rag', false, 'sec-oncall', 'ok now']]);
      expect((await policyOf(app, t)).quarantinedNamespaces).toEqual([]);
      const actions = (await listAudit(db, { tenantId: t.tenantId })).map((a) => `${a.action}:${a.target}`);
      expect(actions).toEqual(['quarantine_namespace:payments', 'quarantine_namespace:rag', 'release_quarantine:payments', 'release_quarantine:rag']);
    } finally {
      await app.close();
    }
  });

  it('audits each kernel enforcement report once, with the scanner as actor and who ordered it', async () => {
    const t = await createTestTenant(db);
    const other = await createTestTenant(db);
    const app = await buildTestApp(db, t);
    try {
      const report: KernelEnforcement = {
        id: eventId(), scannerId: 'node-1', ts: '2026-11-21T10:00:00.000Z', primitive: 'session_kill', target: 't-abc', count: 2,
        latencyUs: 310, orderedBy: 'sec-oncall', source: null,
      };
      const refused: KernelEnforcement = { ...report, id: eventId(), primitive: 'quarantine', target: 'payments', count: 1 };
      const post = (events: KernelEnforcement[], token = t.scannerToken) => app.app.inject({
        method: 'POST', url: '/v1/ingest', headers: { authorization: `Bearer ${token}` },
        payload: { scannerId: 'node-1', events: events.map((event) => ({ kind: 'kernel_enforcement', event })) },
      });
      await call('quarantine_namespace', { namespace: 'payments', reason: 'exfiltration' }, t.admin);
      const listed = async () => ListQuarantinesOutput.parse(await call('list_quarantines', {}, t.admin)).quarantines.map((q) => q.enforcement);
      expect(await listed()).toEqual(['recorded']);
      const first = await post([report, report, refused]);
      expect(first.statusCode).toBe(200);
      expect(IngestResult.parse(first.json())).toEqual({ accepted: 2, duplicates: 1 });
      expect(IngestResult.parse((await post([report])).json())).toEqual({ accepted: 0, duplicates: 1 });
      // another tenant may use the same event id: ids are per tenant
      expect(IngestResult.parse((await post([report], other.scannerToken)).json())).toEqual({ accepted: 1, duplicates: 0 });

      expect(await listed()).toEqual(['enforced']);
      const audit = (await listAudit(db, { tenantId: t.tenantId })).filter((a) => a.actor.startsWith('scanner:'));
      expect(audit.map((a) => [a.actor, a.action, a.target, a.details.orderedBy, a.details.count])).toEqual([
        ['scanner:node-1', 'kernel_session_killed', 't-abc', 'sec-oncall', 2],
        ['scanner:node-1', 'kernel_quarantine_enforced', 'payments', 'sec-oncall', 1],
      ]);
      expect(await verifyAuditChain(db, { tenantId: t.tenantId })).toMatchObject({ ok: true, records: 3 });
    } finally {
      await app.close();
    }
  });
});
