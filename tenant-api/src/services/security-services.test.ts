import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLogOutput, CreatePrincipalOutput, IssueTokenOutput, ListPrincipalsOutput, RevokeTokenOutput, VerifyAuditChainOutput,
  type Principal,
} from '@higgs/schema';
import { createRegistry, type ToolCallResult, type ToolRegistry } from '@higgs/tools';
import { authenticate, hashToken } from '../auth/tokens.ts';
import { TenantError } from '../errors.ts';
import { createPolicyNotifier } from '../policy/policy-notifier.ts';
import { listAudit } from '../stores/audit-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { createTestTenant, openTestDb } from '../testing/fixtures.ts';
import { createHiggsServices } from './higgs-services.ts';

let db: SqlClient;
let registry: ToolRegistry;
beforeAll(async () => {
  db = await openTestDb();
  registry = createRegistry(createHiggsServices({ db, notifier: createPolicyNotifier() }), { logger: { error: () => undefined } });
}, 180_000);
afterAll(async () => { await db?.close(); });

function ok(result: ToolCallResult): unknown {
  if (!result.ok) throw new Error(`tool failed: ${result.error.code} ${result.error.message}`);
  return result.output;
}

const person = (tenantId: string, id: string, role: Principal['role']): Principal => ({ id, tenantId, name: id, kind: 'human', role });

describe('principals and tokens', () => {
  it('creates a principal, issues a token shown once and stored as its sha256, and revokes it', async () => {
    const t = await createTestTenant(db);
    const created = CreatePrincipalOutput.parse(ok(await registry.call('create_principal', { id: 'carol', name: 'Carol', role: 'compliance' }, t.admin)));
    expect(created.principal).toEqual({ id: 'carol', tenantId: t.tenantId, name: 'Carol', kind: 'human', role: 'compliance' });

    const issued = IssueTokenOutput.parse(ok(await registry.call('issue_token', { principalId: 'carol', label: 'laptop' }, t.admin)));
    expect(issued.token).toMatch(/^hgs_[A-Za-z0-9_-]{43}$/);
    expect(await authenticate(db, `Bearer ${issued.token}`)).toMatchObject({ id: 'carol', tenantId: t.tenantId, role: 'compliance' });
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM api_tokens WHERE tenant_id = $1 AND id = $2', [t.tenantId, issued.info.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.token_hash).toBe(hashToken(issued.token));
    expect(JSON.stringify(rows)).not.toContain(issued.token);

    const listed = ListPrincipalsOutput.parse(ok(await registry.call('list_principals', {}, t.admin)));
    const carol = listed.principals.find((p) => p.id === 'carol');
    expect(carol?.tokens).toEqual([issued.info]);
    expect(listed.principals.map((p) => p.id)).toEqual(['admin', 'agent', 'carol', 'scanner']);
    expect(JSON.stringify(listed)).not.toContain(hashToken(issued.token));

    const revoked = RevokeTokenOutput.parse(ok(await registry.call('revoke_token', { tokenId: issued.info.id, reason: 'laptop lost' }, t.admin)));
    expect(revoked.token).toMatchObject({ id: issued.info.id, revokedBy: 'admin' });
    expect(revoked.token.revokedAt).not.toBeNull();
    const refused = await authenticate(db, `Bearer ${issued.token}`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TenantError);
    expect((refused as TenantError).code).toBe('UNAUTHENTICATED');

    const audit = await listAudit(db, { tenantId: t.tenantId });
    expect(audit.map((r) => [r.actor, r.action, r.target])).toEqual([
      ['admin', 'principal_created', 'carol'], ['admin', 'token_issued', issued.info.id], ['admin', 'token_revoked', issued.info.id],
    ]);
    const auditText = JSON.stringify(audit);
    expect(auditText).not.toContain(issued.token);
    expect(auditText).not.toContain(hashToken(issued.token));
  });

  it('derives machine kinds from machine roles, refuses duplicates and unknown principals', async () => {
    const t = await createTestTenant(db);
    const bot = CreatePrincipalOutput.parse(ok(await registry.call('create_principal', { id: 'node-7', name: 'Node 7', role: 'scanner' }, t.admin)));
    expect(bot.principal.kind).toBe('scanner');
    const again = await registry.call('create_principal', { id: 'node-7', name: 'Other', role: 'viewer' }, t.admin);
    expect(again).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(await registry.call('issue_token', { principalId: 'nobody', label: 'x' }, t.admin)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await registry.call('revoke_token', { tokenId: 'tok_nope', reason: 'x' }, t.admin)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await registry.call('create_principal', { id: 'Bad Id', name: 'x', role: 'viewer' }, t.admin)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    // a failed change leaves no audit record
    expect((await listAudit(db, { tenantId: t.tenantId })).map((r) => r.action)).toEqual(['principal_created']);
  });

  it('lets only admins manage principals, and compliance or above read the audit trail', async () => {
    const t = await createTestTenant(db);
    for (const role of ['viewer', 'compliance', 'platform', 'security'] as const) {
      const p = person(t.tenantId, `${role}-1`, role);
      for (const [tool, args] of [['list_principals', {}], ['create_principal', { id: 'x', name: 'x', role: 'admin' }],
        ['issue_token', { principalId: 'admin', label: 'x' }], ['revoke_token', { tokenId: 'tok_x', reason: 'x' }]] as const) {
        expect(await registry.call(tool, args, p), `${role} ${tool}`).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      }
      const canAudit = role === 'compliance' || role === 'security';
      expect((await registry.call('audit_log', {}, p)).ok, `${role} audit_log`).toBe(canAudit);
      expect((await registry.call('verify_audit_chain', {}, p)).ok, `${role} verify_audit_chain`).toBe(canAudit);
    }
    expect(await registry.call('issue_token', { principalId: 'admin', label: 'x' }, t.agent)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // read-only, so the registry admits the agent; the service does not
    expect(await registry.call('list_principals', {}, t.agent)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await registry.call('create_principal', { id: 'x', name: 'x', role: 'admin' }, t.scanner)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });
});

describe('audit trail tools', () => {
  it('audit_log filters by actor, action and target, newest first, with a cursor', async () => {
    const t = await createTestTenant(db);
    for (const id of ['p1', 'p2', 'p3']) ok(await registry.call('create_principal', { id, name: id, role: 'viewer' }, t.admin));
    const issued = IssueTokenOutput.parse(ok(await registry.call('issue_token', { principalId: 'p2', label: 'ci' }, t.admin)));
    const compliance = person(t.tenantId, 'auditor', 'compliance');

    const page1 = AuditLogOutput.parse(ok(await registry.call('audit_log', { limit: 2 }, compliance)));
    expect(page1.records.map((r) => r.action)).toEqual(['token_issued', 'principal_created']);
    expect(page1.records.map((r) => r.target)).toEqual([issued.info.id, 'p3']);
    const page2 = AuditLogOutput.parse(ok(await registry.call('audit_log', { limit: 2, cursor: page1.nextCursor }, compliance)));
    expect(page2.records.map((r) => r.target)).toEqual(['p2', 'p1']);
    expect(page2.nextCursor).toBeNull();

    const byAction = AuditLogOutput.parse(ok(await registry.call('audit_log', { action: 'principal_created', target: 'p2' }, compliance)));
    expect(byAction.records.map((r) => r.seq)).toEqual([2]);
    const byActor = AuditLogOutput.parse(ok(await registry.call('audit_log', { actor: 'someone-else' }, compliance)));
    expect(byActor.records).toEqual([]);
    const future = AuditLogOutput.parse(ok(await registry.call('audit_log', { from: '2999-01-01T00:00:00Z' }, compliance)));
    expect(future.records).toEqual([]);
  });

  it('verify_audit_chain names exactly the record tampered with in the database', async () => {
    const t = await createTestTenant(db);
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5']) ok(await registry.call('create_principal', { id, name: id, role: 'viewer' }, t.admin));
    const intact = VerifyAuditChainOutput.parse(ok(await registry.call('verify_audit_chain', {}, t.admin)));
    expect(intact).toMatchObject({ ok: true, records: 5, firstBreak: null });

    const records = await listAudit(db, { tenantId: t.tenantId });
    const victim = records[3]!;
    // someone with database access rewrites who was created
    await db.query(`UPDATE audit_log SET target = 'a9' WHERE tenant_id = $1 AND id = $2`, [t.tenantId, victim.id]);
    const broken = VerifyAuditChainOutput.parse(ok(await registry.call('verify_audit_chain', {}, t.admin)));
    expect(broken.ok).toBe(false);
    expect(broken.firstBreak).toMatchObject({ id: victim.id, seq: 4, reason: 'hash_mismatch', found: victim.hash });
    expect(broken.firstBreak?.expected).not.toBe(victim.hash);

    // another tenant's chain is untouched by this and unaffected in its verdict
    const other = await createTestTenant(db);
    ok(await registry.call('create_principal', { id: 'b1', name: 'b1', role: 'viewer' }, other.admin));
    expect(VerifyAuditChainOutput.parse(ok(await registry.call('verify_audit_chain', {}, other.admin)))).toMatchObject({ ok: true, records: 1 });
  });
});
