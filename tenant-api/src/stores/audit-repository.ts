import type { AuditRecord } from '@higgs/schema';
import { canonicalJson } from '@higgs/schema';
import { sha256Hex } from '../sha256.ts';
import { decodeCursor, encodeCursor, newId, toInt } from './rows.ts';
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
 * tenant's head row is locked (ON CONFLICT DO UPDATE takes the row lock, as
 * FOR UPDATE would), so concurrent appends queue and the chain cannot fork (the
 * (tenant_id, seq) key refuses a fork outright).
 *
 * Two statements, not four: every destructive tool call pays for its audit
 * record inside its transaction, and on PGlite each statement costs ~0.5 ms.
 */
export async function appendAudit(db: SqlExecutor, p: { tenantId: string; entry: AuditEntry; at?: string }): Promise<AuditRecord> {
  // creates the head on the tenant's first record; locks it and reads it on every record
  const { rows } = await db.query<{ seq: number | string; hash: string }>(
    `INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2)
       ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_heads.seq
     RETURNING seq, hash`,
    [p.tenantId, AUDIT_GENESIS_HASH],
  );
  const head = rows[0]!;
  const prevHash = head.hash;
  // details round-trip through jsonb: hash what will be read back, not what was passed in
  const details = JSON.parse(canonicalJson(p.entry.details)) as Record<string, unknown>;
  const body = {
    id: newId('aud'),
    seq: toInt(head.seq) + 1,
    ts: p.at ?? new Date().toISOString(),
    actor: p.entry.actor,
    action: p.entry.action,
    target: p.entry.target,
    details,
  };
  const hash = computeAuditHash(body, prevHash);
  await db.query(
    `WITH appended AS (
       INSERT INTO audit_log (tenant_id, seq, id, ts, ts_text, actor, action, target, details, prev_hash, hash)
       VALUES ($1, $2, $3, $4::timestamptz, $5::text, $6, $7, $8, $9::jsonb, $10, $11)
     )
     UPDATE audit_heads SET seq = $2, hash = $11 WHERE tenant_id = $1`,
    [p.tenantId, body.seq, body.id, body.ts, body.ts, body.actor, body.action, body.target, JSON.stringify(details), prevHash, hash],
  );
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

/** One page of the tenant's records, newest first, filtered; the cursor is the last seq returned. */
export async function listAuditPage(db: SqlExecutor, p: {
  tenantId: string;
  filter: { actor?: string | undefined; action?: string | undefined; target?: string | undefined; from?: string | undefined; to?: string | undefined };
  limit: number;
  cursor?: string | undefined;
}): Promise<{ records: AuditRecord[]; nextCursor: string | null }> {
  const { filter } = p;
  const decoded = p.cursor === undefined ? null : decodeCursor(p.cursor);
  // an unreadable cursor is the caller's data, not a reason to fail: it reads from the newest record
  const beforeSeq = decoded && typeof decoded[0] === 'number' && Number.isSafeInteger(decoded[0]) ? decoded[0] : null;
  const { rows } = await db.query<AuditRow>(
    `SELECT seq, id, ts_text, actor, action, target, details, prev_hash, hash FROM audit_log
      WHERE tenant_id = $1
        AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR target = $4)
        AND ($5::timestamptz IS NULL OR ts >= $5::timestamptz) AND ($6::timestamptz IS NULL OR ts < $6::timestamptz)
        AND ($7::bigint IS NULL OR seq < $7::bigint)
      ORDER BY seq DESC LIMIT $8`,
    [p.tenantId, filter.actor ?? null, filter.action ?? null, filter.target ?? null, filter.from ?? null, filter.to ?? null,
      beforeSeq, p.limit + 1],
  );
  const records = rows.slice(0, p.limit).map(toRecord);
  const last = records.at(-1);
  return { records, nextCursor: rows.length > p.limit && last ? encodeCursor([last.seq]) : null };
}

export interface AuditChainBreak {
  /** the first record that does not hold; null when records are missing from the end */
  id: string | null;
  /** its position in the chain (1-based; the seq it should have) */
  seq: number;
  reason: 'hash_mismatch' | 'broken_link' | 'seq_gap' | 'truncated' | 'beyond_head';
  expected: string;
  found: string;
}

export interface AuditVerification {
  ok: boolean;
  records: number;
  /** the last record's hash, or the genesis hash for an empty chain */
  headHash: string;
  firstBreak: AuditChainBreak | null;
}

/** Rows read per round trip while walking a chain: bounded memory for any length. */
const VERIFY_PAGE = 2000;

/**
 * Re-computes the tenant's chain from the genesis and reports the first record
 * whose sequence number, link to its predecessor or own hash does not hold.
 * Then checks the chain against the tenant's head (seq and hash kept apart
 * from the records): records cut from the end, a rewritten last record with a
 * recomputed hash, or records appended behind the writer's back are caught there.
 */
export async function verifyAuditChain(db: SqlExecutor, p: { tenantId: string }): Promise<AuditVerification> {
  let prevHash = AUDIT_GENESIS_HASH;
  let expectedSeq = 1;
  let records = 0;
  const fail = (firstBreak: AuditChainBreak): AuditVerification => ({ ok: false, records, headHash: prevHash, firstBreak });
  for (;;) {
    const { rows } = await db.query<AuditRow>(
      `SELECT seq, id, ts_text, actor, action, target, details, prev_hash, hash FROM audit_log
        WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
      [p.tenantId, expectedSeq, VERIFY_PAGE],
    );
    for (const row of rows) {
      const record = toRecord(row);
      records += 1;
      if (record.seq !== expectedSeq) {
        return fail({ id: record.id, seq: expectedSeq, reason: 'seq_gap', expected: String(expectedSeq), found: String(record.seq) });
      }
      if (record.prevHash !== prevHash) {
        return fail({ id: record.id, seq: record.seq, reason: 'broken_link', expected: prevHash, found: record.prevHash });
      }
      const computed = computeAuditHash(record, prevHash);
      if (computed !== record.hash) {
        return fail({ id: record.id, seq: record.seq, reason: 'hash_mismatch', expected: computed, found: record.hash });
      }
      prevHash = record.hash;
      expectedSeq += 1;
    }
    if (rows.length < VERIFY_PAGE) break;
  }
  const { rows: heads } = await db.query<{ seq: number | string; hash: string }>(
    'SELECT seq, hash FROM audit_heads WHERE tenant_id = $1', [p.tenantId],
  );
  const head = heads[0];
  const headSeq = head ? toInt(head.seq) : 0;
  const headHash = head?.hash ?? AUDIT_GENESIS_HASH;
  if (headSeq > records) {
    return fail({ id: null, seq: records + 1, reason: 'truncated', expected: headHash, found: prevHash });
  }
  if (headSeq < records) {
    const { rows: extra } = await db.query<{ id: string; hash: string }>(
      'SELECT id, hash FROM audit_log WHERE tenant_id = $1 AND seq = $2', [p.tenantId, headSeq + 1],
    );
    return fail({ id: extra[0]?.id ?? null, seq: headSeq + 1, reason: 'beyond_head', expected: headHash, found: extra[0]?.hash ?? prevHash });
  }
  if (headHash !== prevHash) {
    const { rows: last } = await db.query<{ id: string }>(
      'SELECT id FROM audit_log WHERE tenant_id = $1 AND seq = $2', [p.tenantId, records],
    );
    return fail({ id: last[0]?.id ?? null, seq: records, reason: 'hash_mismatch', expected: headHash, found: prevHash });
  }
  return { ok: true, records, headHash, firstBreak: null };
}
