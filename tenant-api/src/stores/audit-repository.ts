import type { AuditRecord } from '@higgs/schema';
import { canonicalJson } from '@higgs/schema';
import { sha256Hex } from '../sha256.ts';
import { newId, toInt } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

/** prevHash of a tenant's first record. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

interface AuditRow {
  seq: number | string;
  id: string;
  ts_text: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    seq: toInt(row.seq),
    ts: row.ts_text,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** hash = sha256(prevHash + canonical JSON of the record without its hashes). */
export function computeAuditHash(record: Omit<AuditRecord, 'hash' | 'prevHash'>, prevHash: string): string {
  const { id, seq, ts, actor, action, target, details } = record;
  return sha256Hex(prevHash + canonicalJson({ id, seq, ts, actor, action, target, details }));
}

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

/**
 * Appends one record to the tenant's chain. Must run inside a transaction: the
 * tenant's head row is locked FOR UPDATE, so concurrent appends queue and the
 * chain cannot fork (the (tenant_id, seq) key refuses a fork outright).
 */
export async function appendAudit(db: SqlExecutor, p: { tenantId: string; entry: AuditEntry; at?: string }): Promise<AuditRecord> {
  await db.query(
    'INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING',
    [p.tenantId, AUDIT_GENESIS_HASH],
  );
  const { rows } = await db.query<{ seq: number | string; hash: string }>(
    'SELECT seq, hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE', [p.tenantId],
  );
  const head = rows[0];
  const prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
  // details round-trip through jsonb: hash what will be read back, not what was passed in
  const details = JSON.parse(canonicalJson(p.entry.details)) as Record<string, unknown>;
  const body = {
    id: newId('aud'),
    seq: toInt(head?.seq ?? 0) + 1,
    ts: p.at ?? new Date().toISOString(),
    actor: p.entry.actor,
    action: p.entry.action,
    target: p.entry.target,
    details,
  };
  const hash = computeAuditHash(body, prevHash);
  await db.query(
    `INSERT INTO audit_log (tenant_id, seq, id, ts, ts_text, actor, action, target, details, prev_hash, hash)
     VALUES ($1, $2, $3, $4::timestamptz, $5::text, $6, $7, $8, $9::jsonb, $10, $11)`,
    [p.tenantId, body.seq, body.id, body.ts, body.ts, body.actor, body.action, body.target, JSON.stringify(details), prevHash, hash],
  );
  await db.query('UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1', [p.tenantId, body.seq, hash]);
  return { ...body, prevHash, hash };
}

/** Records in seq order, optionally within [from, to). */
export async function listAudit(
  db: SqlExecutor, p: { tenantId: string; from?: string; to?: string; limit?: number },
): Promise<AuditRecord[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT seq, id, ts_text, actor, action, target, details, prev_hash, hash FROM audit_log
      WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR ts >= $2::timestamptz) AND ($3::timestamptz IS NULL OR ts < $3::timestamptz)
      ORDER BY seq LIMIT $4`,
    [p.tenantId, p.from ?? null, p.to ?? null, p.limit ?? 10_000],
  );
  return rows.map(toRecord);
}

export type AuditVerification =
  | { ok: true; records: number }
  | { ok: false; records: number; firstBadSeq: number; reason: 'hash_mismatch' | 'broken_link' | 'seq_gap' };

/**
 * Re-computes the tenant's chain from the genesis: the first record whose hash,
 * link to its predecessor or sequence number does not hold is reported.
 */
export async function verifyAuditChain(db: SqlExecutor, p: { tenantId: string }): Promise<AuditVerification> {
  const { rows } = await db.query<AuditRow>(
    `SELECT seq, id, ts_text, actor, action, target, details, prev_hash, hash FROM audit_log
      WHERE tenant_id = $1 ORDER BY seq`,
    [p.tenantId],
  );
  let prevHash = AUDIT_GENESIS_HASH;
  let expectedSeq = 1;
  for (const row of rows) {
    const record = toRecord(row);
    if (record.seq !== expectedSeq) return { ok: false, records: rows.length, firstBadSeq: expectedSeq, reason: 'seq_gap' };
    if (record.prevHash !== prevHash) return { ok: false, records: rows.length, firstBadSeq: record.seq, reason: 'broken_link' };
    if (computeAuditHash(record, prevHash) !== record.hash) {
      return { ok: false, records: rows.length, firstBadSeq: record.seq, reason: 'hash_mismatch' };
    }
    prevHash = record.hash;
    expectedSeq += 1;
  }
  return { ok: true, records: rows.length };
}
