/**
 * The StateStore contract (the `SqlClient` seam and the repositories over it):
 * every implementation runs this suite — PGlite in state-store.test.ts, a real
 * PostgreSQL server in postgres/postgres-state-store.int.test.ts. The harness
 * hands over an empty database; the suite migrates it. Each test makes its own tenant.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../auth/tokens.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import { batchOf, createTestTenant, llmCall } from '../testing/fixtures.ts';
import { appendAudit, verifyAuditChain } from './audit-repository.ts';
import { listFindings } from './findings-repository.ts';
import { insertActiveQuarantine, listQuarantines } from './quarantines-repository.ts';
import { listSkippedMigrations, migrate } from './migrate.ts';
import { toInt, toIso } from './rows.ts';
import type { SqlClient } from './sql-client.ts';

export interface StateHarness {
  /** an empty database */
  db: SqlClient;
  /** whether the server offers pgvector: when not, its migration must be skipped with a reason */
  hasVector: boolean;
  close(): Promise<void>;
}

/** The migrations that need pgvector (`-- requires-extension: vector`): applied together, or skipped together with the reason. */
const VECTOR_MIGRATIONS = readdirSync(new URL('./migrations/', import.meta.url))
  .filter((f) => /requires-extension:\s*vector\b/.test(readFileSync(new URL(`./migrations/${f}`, import.meta.url), 'utf8')))
  .sort()
  .map((name) => ({ version: Number(name.slice(0, 4)), name }));

export function describeStateStoreContract(name: string, open: () => Promise<StateHarness>): void {
  describe(`StateStore contract: ${name}`, () => {
    let h: StateHarness;
    let firstRun: number[];
    beforeAll(async () => {
      h = await open();
      firstRun = await migrate(h.db);
    }, 120_000);
    afterAll(async () => {
      await h?.close();
    });

    it('applies every numbered migration once; pgvector is applied or skipped with its reason, never silently', async () => {
      expect(firstRun[0]).toBe(1);
      expect(await migrate(h.db)).toEqual([]);
      const skipped = await listSkippedMigrations(h.db);
      expect(VECTOR_MIGRATIONS.map((m) => m.name)).toEqual(expect.arrayContaining(['0002_vector.sql', '0006_knowledge.sql']));
      if (h.hasVector) {
        for (const m of VECTOR_MIGRATIONS) expect(firstRun).toContain(m.version);
        expect(skipped).toEqual([]);
        const { rows } = await h.db.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname = 'vector'`);
        expect(rows).toHaveLength(1);
      } else {
        for (const m of VECTOR_MIGRATIONS) expect(firstRun).not.toContain(m.version);
        expect(skipped).toEqual(VECTOR_MIGRATIONS.map((m) => ({ ...m, reason: expect.stringContaining('vector extension') })));
      }
    });

    it('round-trips parameters of every column type the repositories use', async () => {
      const text = `it's "quoted" \\ back é 漢字 😀`;
      const { rows } = await h.db.query<{ t: string; j: unknown; a: string[]; ts: Date | string; big: number | string; r: number }>(
        'SELECT $1::text AS t, $2::jsonb AS j, $3::text[] AS a, $4::timestamptz AS ts, $5::bigint AS big, $6::real AS r',
        [text, JSON.stringify({ a: [1, 'x'], b: null }), ['x', "y'"], '2026-11-20T10:00:00.123Z', 9007199254740991, 0.5],
      );
      const row = rows[0]!;
      expect(row.t).toBe(text);
      expect(row.j).toEqual({ a: [1, 'x'], b: null });
      expect(row.a).toEqual(['x', "y'"]);
      expect(toIso(row.ts)).toBe('2026-11-20T10:00:00.123Z');
      expect(toInt(row.big)).toBe(9007199254740991);
      expect(row.r).toBe(0.5);
    });

    it('commits a transaction that resolves and rolls back one that throws', async () => {
      const { tenantId } = await createTestTenant(h.db);
      await h.db.transaction((tx) => tx.query('UPDATE policy_versions SET version = 7 WHERE tenant_id = $1', [tenantId]));
      await expect(h.db.transaction(async (tx) => {
        await tx.query('UPDATE policy_versions SET version = 8 WHERE tenant_id = $1', [tenantId]);
        throw new Error('abort');
      })).rejects.toThrow('abort');
      const { rows } = await h.db.query<{ version: number | string }>('SELECT version FROM policy_versions WHERE tenant_id = $1', [tenantId]);
      expect(rows.map((r) => toInt(r.version))).toEqual([7]);
    });

    it('keeps one unbroken audit chain under concurrent writers', async () => {
      const { tenantId } = await createTestTenant(h.db);
      await Promise.all(Array.from({ length: 12 }, (_, n) => h.db.transaction((tx) => appendAudit(tx, {
        tenantId, entry: { actor: 'admin', action: 'add_inline_rule', target: `rul_${n}`, details: { n } },
      }))));
      expect(await verifyAuditChain(h.db, { tenantId })).toMatchObject({ ok: true, records: 12, firstBreak: null });
    });

    it('stores one active quarantine per namespace when orders race', async () => {
      const { tenantId } = await createTestTenant(h.db);
      const order = (n: number) => h.db.transaction((tx) => insertActiveQuarantine(tx, {
        tenantId,
        quarantine: {
          id: `qtn_race_${n}`, namespace: 'payments', reason: 'race', createdBy: 'admin', createdAt: new Date().toISOString(),
          active: true, releasedAt: null, enforcement: 'recorded',
        },
      }));
      const stored = await Promise.all(Array.from({ length: 6 }, (_, n) => order(n)));
      expect(stored.filter(Boolean)).toHaveLength(1);
      expect(await listQuarantines(h.db, { tenantId, activeOnly: true })).toHaveLength(1);
    });

    it('migration 0009 releases the duplicate active quarantines an earlier race left, keeping the oldest', async () => {
      const { tenantId } = await createTestTenant(h.db);
      const file = readdirSync(new URL('./migrations/', import.meta.url)).find((f) => f.startsWith('0009_'))!;
      await h.db.exec('DROP INDEX quarantines_one_active');
      for (const [id, at] of [['qtn_b', '2026-11-02T00:00:00Z'], ['qtn_a', '2026-11-01T00:00:00Z'], ['qtn_c', '2026-11-03T00:00:00Z']]) {
        await h.db.query(
          `INSERT INTO quarantines (tenant_id, id, namespace, reason, created_by, created_at, active, released_at, enforcement)
           VALUES ($1, $2, 'payments', 'race', 'admin', $3::timestamptz, true, NULL, 'recorded')`, [tenantId, id, at],
        );
      }
      await h.db.exec(readFileSync(new URL(`./migrations/${file}`, import.meta.url), 'utf8'));
      const all = await listQuarantines(h.db, { tenantId, activeOnly: false });
      expect(all.map((q) => [q.id, q.active])).toEqual([['qtn_a', true], ['qtn_b', false], ['qtn_c', false]]);
    });

    it('authenticates tokens, ingests a batch into findings, and keeps tenants apart', async () => {
      const a = await createTestTenant(h.db);
      const b = await createTestTenant(h.db);
      expect(await authenticate(h.db, `Bearer ${a.adminToken}`)).toMatchObject({ tenantId: a.tenantId, role: 'admin' });
      const call = llmCall({ detections: [{ type: 'email', field: 'prompt', hash: 'aaaa1111' }] as ReturnType<typeof llmCall>['detections'] });
      expect(await ingestBatch(h.db, { tenantId: a.tenantId, batch: batchOf(call) })).toEqual({ accepted: 1, duplicates: 0 });
      expect(await ingestBatch(h.db, { tenantId: a.tenantId, batch: batchOf(call) })).toEqual({ accepted: 0, duplicates: 1 });
      const mine = await listFindings(h.db, { tenantId: a.tenantId, filter: {}, limit: 50 });
      expect(mine.findings.length).toBeGreaterThan(0);
      expect(mine.findings.every((f) => f.evidence.callIds.includes(call.id))).toBe(true);
      expect((await listFindings(h.db, { tenantId: b.tenantId, filter: {}, limit: 50 })).findings).toEqual([]);
    });
  });
}
