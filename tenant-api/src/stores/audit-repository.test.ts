import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRecord } from '@higgs/schema';
import { createTestTenant, openTestDb } from '../testing/fixtures.ts';
import { AUDIT_GENESIS_HASH, appendAudit, computeAuditHash, listAudit, listAuditPage, verifyAuditChain } from './audit-repository.ts';
import type { SqlClient } from './sql-client.ts';

let db: SqlClient;
beforeAll(async () => { db = await openTestDb(); }, 180_000);
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
    expect(await verifyAuditChain(db, { tenantId })).toEqual({ ok: true, records: 3, headHash: records[2]?.hash, firstBreak: null });
  });

  it('reports the first tampered record', async () => {
    const { tenantId } = await createTestTenant(db);
    for (let n = 1; n <= 5; n += 1) await db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }));
    const third = (await listAudit(db, { tenantId }))[2]!;
    await db.query(`UPDATE audit_log SET details = '{"n": 99}'::jsonb WHERE tenant_id = $1 AND seq = 3`, [tenantId]);
    const result = await verifyAuditChain(db, { tenantId });
    expect(result).toMatchObject({ ok: false, records: 3 });
    expect(result.firstBreak).toMatchObject({ id: third.id, seq: 3, reason: 'hash_mismatch', found: third.hash });
    expect(result.firstBreak?.expected).toMatch(/^[0-9a-f]{64}$/);
    expect(result.firstBreak?.expected).not.toBe(third.hash);
  });

  it('reports a deleted record as a gap in the sequence', async () => {
    const { tenantId } = await createTestTenant(db);
    for (let n = 1; n <= 4; n += 1) await db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }));
    const third = (await listAudit(db, { tenantId }))[2]!;
    await db.query('DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 2', [tenantId]);
    expect((await verifyAuditChain(db, { tenantId })).firstBreak)
      .toEqual({ id: third.id, seq: 2, reason: 'seq_gap', expected: '2', found: '3' });
  });

  it('reports records cut from the end of the chain against the head', async () => {
    const { tenantId } = await createTestTenant(db);
    for (let n = 1; n <= 4; n += 1) await db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }));
    const records = await listAudit(db, { tenantId });
    await db.query('DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 4', [tenantId]);
    expect((await verifyAuditChain(db, { tenantId })).firstBreak)
      .toEqual({ id: null, seq: 4, reason: 'truncated', expected: records[3]!.hash, found: records[2]!.hash });
  });

  it('reports a rewritten last record even when its hash was recomputed', async () => {
    const { tenantId } = await createTestTenant(db);
    for (let n = 1; n <= 2; n += 1) await db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }));
    const [first, last] = await listAudit(db, { tenantId });
    const forged = computeAuditHash({ ...last!, target: 'rul_forged' }, first!.hash);
    await db.query('UPDATE audit_log SET target = $2, hash = $3 WHERE tenant_id = $1 AND seq = 2', [tenantId, 'rul_forged', forged]);
    expect((await verifyAuditChain(db, { tenantId })).firstBreak)
      .toEqual({ id: last!.id, seq: 2, reason: 'hash_mismatch', expected: last!.hash, found: forged });
  });

  it('keeps one unbroken chain under concurrent writers', async () => {
    const { tenantId } = await createTestTenant(db);
    await Promise.all(Array.from({ length: 12 }, (_, n) => db.transaction((tx) => appendAudit(tx, { tenantId, entry: entry(n) }))));
    const records = await listAudit(db, { tenantId });
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await verifyAuditChain(db, { tenantId })).toMatchObject({ ok: true, records: 12, firstBreak: null });
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

  it('pages newest first with filters on actor, action, target and time', async () => {
    const { tenantId } = await createTestTenant(db);
    const at = (n: number) => new Date(Date.UTC(2026, 10, 1, 0, n)).toISOString();
    for (let n = 1; n <= 7; n += 1) {
      await db.transaction((tx) => appendAudit(tx, {
        tenantId, at: at(n),
        entry: { actor: n % 2 ? 'alice' : 'bob', action: n <= 4 ? 'rule_added' : 'rule_disabled', target: `rul_${n % 3}`, details: {} },
      }));
    }
    const first = await listAuditPage(db, { tenantId, filter: {}, limit: 3 });
    expect(first.records.map((r) => r.seq)).toEqual([7, 6, 5]);
    const second = await listAuditPage(db, { tenantId, filter: {}, limit: 3, cursor: first.nextCursor! });
    expect(second.records.map((r) => r.seq)).toEqual([4, 3, 2]);
    const third = await listAuditPage(db, { tenantId, filter: {}, limit: 3, cursor: second.nextCursor! });
    expect(third).toMatchObject({ nextCursor: null });
    expect(third.records.map((r) => r.seq)).toEqual([1]);
    const seqs = async (filter: Parameters<typeof listAuditPage>[1]['filter']) =>
      (await listAuditPage(db, { tenantId, filter, limit: 50 })).records.map((r) => r.seq);
    expect(await seqs({ actor: 'bob' })).toEqual([6, 4, 2]);
    expect(await seqs({ action: 'rule_disabled', actor: 'alice' })).toEqual([7, 5]);
    expect(await seqs({ target: 'rul_0' })).toEqual([6, 3]);
    expect(await seqs({ from: at(3), to: at(5) })).toEqual([4, 3]);
    expect(await listAuditPage(db, { tenantId, filter: {}, limit: 2, cursor: 'not-a-cursor' })).toMatchObject({ records: [{ seq: 7 }, { seq: 6 }] });
  });
});
