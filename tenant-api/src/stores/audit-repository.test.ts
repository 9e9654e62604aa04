import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRecord } from '@higgs/schema';
import { createTestTenant, openTestDb } from '../testing/fixtures.ts';
import { AUDIT_GENESIS_HASH, appendAudit, listAudit, verifyAuditChain } from './audit-repository.ts';
import type { SqlClient } from './sql-client.ts';

let db: SqlClient;
beforeAll(async () => { db = await openTestDb(); }, 60_000);
afterAll(async () => { await db?.close(); });

const entry = (n: number) => ({ actor: 'admin', action: 'add_inline_rule', target: `rul_${n}`, details: { n, nested: { b: 2, a: [1, 'x'] } } });

describe('audit chain', () => {
  it('links each record to the previous one and verifies', async () => {
    const { tenantId } = await createTestTenant(db);
    for (let n = 1; n <= 3; n += 1) await db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }));
    const records = await listAudit(db, { tenantId });
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0]?.prevHash).toBe(AUDIT_GENESIS_HASH);
    expect(records[1]?.prevHash).toBe(records[0]?.hash);
    expect(records[2]?.prevHash).toBe(records[1]?.hash);
    for (const r of records) expect(AuditRecord.parse(r)).toEqual(r);
    expect(await verifyAuditChain(db, { tenantId })).toEqual({ ok: true, records: 3 });
  });

  it('reports the first tampered record', async () => {
    const { tenantId } = await createTestTenant(db);
    for (let n = 1; n <= 5; n += 1) await db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }));
    await db.query(`UPDATE audit_log SET details = '{"n": 99}'::jsonb WHERE tenant_id = $1 AND seq = 3`, [tenantId]);
    expect(await verifyAuditChain(db, { tenantId })).toEqual({ ok: false, records: 5, firstBadSeq: 3, reason: 'hash_mismatch' });
  });

  it('reports a deleted record as a gap in the sequence', async () => {
    const { tenantId } = await createTestTenant(db);
    for (let n = 1; n <= 4; n += 1) await db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }));
    await db.query('DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 2', [tenantId]);
    expect(await verifyAuditChain(db, { tenantId })).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'seq_gap' });
  });

  it('keeps one unbroken chain under concurrent writers', async () => {
    const { tenantId } = await createTestTenant(db);
    await Promise.all(Array.from({ length: 12 }, (_, n) => db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }))));
    const records = await listAudit(db, { tenantId });
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await verifyAuditChain(db, { tenantId })).toEqual({ ok: true, records: 12 });
  });

  it('keeps tenants on separate chains', async () => {
    const a = await createTestTenant(db);
    const b = await createTestTenant(db);
    await db.transaction((tx) => appendAudit(tx, { tenantId: a.tenantId, entry: entry(1) }));
    await db.transaction((tx) => appendAudit(tx, { tenantId: b.tenantId, entry: entry(2) }));
    const [ra] = await listAudit(db, { tenantId: a.tenantId });
    const [rb] = await listAudit(db, { tenantId: b.tenantId });
    expect(ra?.seq).toBe(1);
    expect(rb?.seq).toBe(1);
    expect(rb?.target).toBe('rul_2');
    expect(await listAudit(db, { tenantId: a.tenantId })).toHaveLength(1);
  });
});
