import type { Finding } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../stores/migrate.ts';
import { openPglite, type SqlClient } from '../stores/sql-client.ts';
import { listFindings } from '../stores/findings-repository.ts';
import { insertTenant } from '../stores/tenants-repository.ts';
import { EVIDENCE_LIMIT, recordOccurrences, type Occurrence } from './findings-engine.ts';

/** Occurrences on three findings with repeated and out-of-order values, more call ids than the evidence keeps. */
function occurrences(): Occurrence[] {
  return Array.from({ length: 90 }, (_, i): Occurrence => {
    const key = i % 3;
    return {
      assetId: `ast_${key}`, category: key === 0 ? 'pii' : 'injection', detector: key === 0 ? 'pii.email' : `injection.${key}`,
      severity: 'high', title: `finding ${key} (${i})`,
      // out of order: later occurrences are not always later in time
      at: new Date(Date.UTC(2026, 10, 20, 10, 0, (i * 37) % 90)).toISOString(),
      sighting: {
        callId: i % 4 === 0 ? null : `c${i % 31}`, flowId: i % 7 === 0 ? `f${i}` : null, sessionId: `s${i % 5}`, userId: i % 2 === 0 ? null : `u${i % 9}`,
        valueHashes: i % 3 === 0 ? [`h${i % 11}`, `h${(i + 1) % 11}`] : [], provider: `p${i}`, model: null, host: `h${i}`, namespace: 'ns', app: `a${i}`,
        piiType: i % 6 === 0 ? (i % 12 === 0 ? 'email' : 'phone') : null, injectionScore: i % 5 === 0 ? (i * 13) % 100 : null,
      },
    };
  });
}

const withoutId = ({ id: _id, ...f }: Finding) => f;

describe('recordOccurrences', () => {
  let db: SqlClient;
  beforeAll(async () => {
    db = await openPglite('memory://');
    await migrate(db);
    for (const tenantId of ['t_batch', 't_single']) await insertTenant(db, { tenantId, name: tenantId });
  }, 120_000);
  afterAll(async () => {
    await db?.close();
  });

  it('gives, grouped per finding, the findings that recording the occurrences one at a time gives', async () => {
    const all = occurrences();
    // two batches: the second merges into findings the first created
    await db.transaction(async (tx) => {
      await recordOccurrences(tx, { tenantId: 't_batch', occurrences: all.slice(0, 40) });
      await recordOccurrences(tx, { tenantId: 't_batch', occurrences: all.slice(40) });
    });
    await db.transaction(async (tx) => {
      for (const o of all) await recordOccurrences(tx, { tenantId: 't_single', occurrences: [o] });
    });
    const list = async (tenantId: string) =>
      (await listFindings(db, { tenantId, filter: {}, limit: 10 })).findings
        .map(withoutId).sort((a, b) => a.detector.localeCompare(b.detector));
    const batch = await list('t_batch');
    expect(batch).toHaveLength(3);
    expect(batch).toEqual(await list('t_single'));
    const pii = batch.find((f) => f.detector === 'pii.email')!;
    expect(pii.count).toBe(30);
    expect(pii.title).toBe('finding 0 (0)');
    // newest first, distinct, at most EVIDENCE_LIMIT: occurrence 87 (c25) is the last pii one with a call id
    expect(pii.evidence.callIds).toHaveLength(EVIDENCE_LIMIT);
    expect(pii.evidence.callIds[0]).toBe('c25');
    expect(new Set(pii.evidence.callIds).size).toBe(EVIDENCE_LIMIT);
    expect(pii.evidence.app).toBe('a87');
    expect(pii.evidence.piiType).toBe('email');
    expect(pii.evidence.maxInjectionScore).toBe(Math.max(...all.filter((o, i) => i % 3 === 0 && o.sighting.injectionScore !== null)
      .map((o) => o.sighting.injectionScore!)));
  });
});
