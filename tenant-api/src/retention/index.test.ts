import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { TenantError } from '../errors.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import { listAudit, verifyAuditChain } from '../stores/audit-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { createSqlTelemetryStore } from '../stores/sql-telemetry-store.ts';
import type { TelemetryStore } from '../stores/telemetry-store.ts';
import { batchOf, createTestTenant, llmCall, openTestDb } from '../testing/fixtures.ts';
import { RETENTION_ACTOR, RETENTION_FIRST_RUN_DELAY_MS, RETENTION_INTERVAL_MS, retentionCutoffDay, startRetention } from './index.ts';

let db: SqlClient;
beforeAll(async () => { db = await openTestDb(); }, 180_000);
afterAll(async () => { await db?.close(); });

/** A timer the test fires by hand, recording what was asked for. */
function manualTimer() {
  const pending: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  return {
    pending,
    setTimer(fn: () => void, ms: number) {
      const entry = { fn, ms, cancelled: false };
      pending.push(entry);
      return { cancel: () => { entry.cancelled = true; } };
    },
    fireLast() {
      const entry = pending.at(-1);
      if (!entry || entry.cancelled) throw new Error('no live timer');
      entry.fn();
    },
  };
}

async function daysStored(tenantId: string): Promise<string[]> {
  const { rows } = await db.query<{ day: string }>(
    `SELECT DISTINCT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM llm_calls WHERE tenant_id = $1 ORDER BY day`, [tenantId],
  );
  return rows.map((r) => r.day);
}

describe('telemetry retention', () => {
  it('computes the first kept day from the clock', () => {
    expect(retentionCutoffDay(new Date('2026-11-10T00:00:00Z'), 3)).toBe('2026-11-07');
    expect(retentionCutoffDay(new Date('2026-11-10T23:59:59Z'), 3)).toBe('2026-11-07');
    expect(retentionCutoffDay(new Date('2026-03-01T10:00:00Z'), 1)).toBe('2026-02-28');
  });

  it('drops the days older than the retention daily, and audits every run in every tenant', async () => {
    const a = await createTestTenant(db);
    const b = await createTestTenant(db);
    for (const t of [a, b]) {
      const calls = Array.from({ length: 10 }, (_, i) => llmCall({ ts: `2026-10-${String(21 + i).padStart(2, '0')}T12:00:00.000Z` }));
      await ingestBatch(db, { tenantId: t.tenantId, batch: batchOf(...calls) });
    }
    let clock = new Date('2026-10-30T08:00:00.000Z');
    const timer = manualTimer();
    const retention = startRetention({ db, telemetry: createSqlTelemetryStore(db), days: 3, now: () => clock, setTimer: timer.setTimer });
    try {
      expect(timer.pending.map((p) => p.ms)).toEqual([RETENTION_FIRST_RUN_DELAY_MS]);
      timer.fireLast();
      const first = await retention.runOnce();
      expect(first.before).toBe('2026-10-27');
      // other tests' tenants share the store: retention is system-wide, so only check that ours are in the list
      expect(first.daysDropped).toEqual(expect.arrayContaining(['2026-10-21', '2026-10-22', '2026-10-23', '2026-10-24', '2026-10-25', '2026-10-26']));
      expect(first.daysDropped).not.toContain('2026-10-27');
      expect(await daysStored(a.tenantId)).toEqual(['2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30']);
      expect(await daysStored(b.tenantId)).toEqual(['2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30']);

      await new Promise((r) => setTimeout(r, 0));
      expect(timer.pending.map((p) => p.ms)).toEqual([RETENTION_FIRST_RUN_DELAY_MS, RETENTION_INTERVAL_MS]);
      clock = new Date('2026-10-31T08:00:00.000Z');
      timer.fireLast();
      expect((await retention.runOnce()).before).toBe('2026-10-28');
      expect(await daysStored(a.tenantId)).toEqual(['2026-10-28', '2026-10-29', '2026-10-30']);

      for (const t of [a, b]) {
        const runs = (await listAudit(db, { tenantId: t.tenantId })).filter((r) => r.actor === RETENTION_ACTOR);
        expect(runs.map((r) => [r.action, r.ts, r.details.before, r.details.retentionDays])).toEqual([
          ['telemetry_retention', '2026-10-30T08:00:00.000Z', '2026-10-27', 3],
          ['telemetry_retention', '2026-10-31T08:00:00.000Z', '2026-10-28', 3],
        ]);
        expect(runs[1]?.details.daysDropped).toContain('2026-10-27');
        expect(await verifyAuditChain(db, { tenantId: t.tenantId })).toMatchObject({ ok: true });
      }
    } finally {
      await retention.close();
    }
    expect(timer.pending.at(-1)?.cancelled).toBe(true);
  });

  it('audits a failed run instead of losing it, and keeps scheduling', async () => {
    const t = await createTestTenant(db);
    const failing: TelemetryStore = {
      ...createSqlTelemetryStore(db),
      dropDaysBefore: () => Promise.reject(Object.assign(new Error('down'), { code: 'STORE_FAILED' })),
    };
    const timer = manualTimer();
    const errors: string[] = [];
    const retention = startRetention({
      db, telemetry: failing, days: 7, now: () => new Date('2026-10-30T00:00:00Z'), setTimer: timer.setTimer,
      logger: { info: () => undefined, error: (_c, m) => errors.push(m) },
    });
    try {
      timer.fireLast();
      expect(await retention.runOnce()).toEqual({ before: '2026-10-23', daysDropped: [], error: 'STORE_FAILED' });
      const [record] = (await listAudit(db, { tenantId: t.tenantId })).filter((r) => r.actor === RETENTION_ACTOR);
      expect(record).toMatchObject({ action: 'telemetry_retention_failed', details: { error: 'STORE_FAILED', before: '2026-10-23' } });
      expect(errors).toEqual(['telemetry retention failed']);
      await new Promise((r) => setTimeout(r, 0));
      expect(timer.pending.at(-1)?.ms).toBe(RETENTION_INTERVAL_MS);
    } finally {
      await retention.close();
    }
  });

  it('schedules nothing when retention is off (0 days)', async () => {
    const timer = manualTimer();
    const retention = startRetention({ db, telemetry: createSqlTelemetryStore(db), days: 0, setTimer: timer.setTimer });
    expect(timer.pending).toEqual([]);
    await retention.close();
  });

  it('reads HIGGS_RETENTION_DAYS, defaulting to 30 and naming the key when it is bad', () => {
    expect(loadConfig({}).retentionDays).toBe(30);
    expect(loadConfig({ HIGGS_RETENTION_DAYS: '7' }).retentionDays).toBe(7);
    expect(loadConfig({ HIGGS_RETENTION_DAYS: '0' }).retentionDays).toBe(0);
    for (const bad of ['-1', 'week', '1.5']) {
      const err = (() => { try { loadConfig({ HIGGS_RETENTION_DAYS: bad }); return null; } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(TenantError);
      expect((err as TenantError).code).toBe('CONFIG_INVALID');
      expect((err as TenantError).message).toContain('HIGGS_RETENTION_DAYS');
    }
  });
});
