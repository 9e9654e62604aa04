import type { Quarantine, QuarantineRecord } from '@higgs/schema';
import { toIso, toIsoOrNull } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

interface QuarantineRow {
  id: string;
  namespace: string;
  reason: string;
  created_by: string;
  created_at: Date | string;
  active: boolean;
  released_at: Date | string | null;
  enforcement: Quarantine['enforcement'];
  released_by: string | null;
  release_reason: string | null;
}

const COLUMNS = 'id, namespace, reason, created_by, created_at, active, released_at, enforcement, released_by, release_reason';

function toQuarantine(row: QuarantineRow): Quarantine {
  return {
    id: row.id,
    namespace: row.namespace,
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    active: row.active,
    releasedAt: toIsoOrNull(row.released_at),
    enforcement: row.enforcement,
  };
}

function toRecord(row: QuarantineRow): QuarantineRecord {
  return { ...toQuarantine(row), releasedBy: row.released_by, releaseReason: row.release_reason };
}

/**
 * Stores an active quarantine unless its namespace already has one (one active
 * quarantine per namespace, a unique index): true when stored. The insert is the
 * check, so two concurrent orders for a namespace store one quarantine.
 */
export async function insertActiveQuarantine(db: SqlExecutor, p: { tenantId: string; quarantine: Quarantine }): Promise<boolean> {
  const q = p.quarantine;
  const { rows } = await db.query(
    `INSERT INTO quarantines (tenant_id, id, namespace, reason, created_by, created_at, active, released_at, enforcement)
     VALUES ($1, $2, $3, $4, $5, $6::timestamptz, true, NULL, $7)
     ON CONFLICT (tenant_id, namespace) WHERE active DO NOTHING
     RETURNING id`,
    [p.tenantId, q.id, q.namespace, q.reason, q.createdBy, q.createdAt, q.enforcement],
  );
  return rows.length > 0;
}

export async function getActiveQuarantine(db: SqlExecutor, p: { tenantId: string; namespace: string }): Promise<Quarantine | null> {
  const { rows } = await db.query<QuarantineRow>(
    `SELECT ${COLUMNS} FROM quarantines WHERE tenant_id = $1 AND namespace = $2 AND active ORDER BY created_at LIMIT 1`,
    [p.tenantId, p.namespace],
  );
  return rows[0] ? toQuarantine(rows[0]) : null;
}

/** Quarantines created before `before` (all when omitted), oldest first. */
export async function listQuarantines(
  db: SqlExecutor, p: { tenantId: string; activeOnly: boolean; before?: string },
): Promise<Quarantine[]> {
  const { rows } = await db.query<QuarantineRow>(
    `SELECT ${COLUMNS} FROM quarantines
      WHERE tenant_id = $1 AND (active OR NOT $2) AND ($3::timestamptz IS NULL OR created_at < $3::timestamptz)
      ORDER BY created_at, id`,
    [p.tenantId, p.activeOnly, p.before ?? null],
  );
  return rows.map(toQuarantine);
}

/** One quarantine by id, active or released. */
export async function getQuarantine(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<QuarantineRecord | null> {
  const { rows } = await db.query<QuarantineRow>(`SELECT ${COLUMNS} FROM quarantines WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Every quarantine with who released it and why, oldest first; optionally one namespace's or only the active ones. */
export async function listQuarantineRecords(
  db: SqlExecutor, p: { tenantId: string; activeOnly: boolean; namespace?: string },
): Promise<QuarantineRecord[]> {
  const { rows } = await db.query<QuarantineRow>(
    `SELECT ${COLUMNS} FROM quarantines
      WHERE tenant_id = $1 AND (active OR NOT $2) AND ($3::text IS NULL OR namespace = $3)
      ORDER BY created_at, id`,
    [p.tenantId, p.activeOnly, p.namespace ?? null],
  );
  return rows.map(toRecord);
}

/**
 * Lifts the active quarantines of a namespace (normally one). Returns the
 * released records; empty when none was active, so a repeated release is a no-op.
 */
export async function releaseActiveQuarantines(
  db: SqlExecutor, p: { tenantId: string; namespace: string; releasedBy: string; releasedAt: string; reason: string },
): Promise<QuarantineRecord[]> {
  const { rows } = await db.query<QuarantineRow>(
    `UPDATE quarantines SET active = false, released_at = $3::timestamptz, released_by = $4, release_reason = $5
      WHERE tenant_id = $1 AND namespace = $2 AND active
      RETURNING ${COLUMNS}`,
    [p.tenantId, p.namespace, p.releasedAt, p.releasedBy, p.reason],
  );
  return rows.map(toRecord).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** The scanner reported the kernel refusing a connection of this namespace: its active quarantine is enforced there. */
export async function markQuarantineEnforced(db: SqlExecutor, p: { tenantId: string; namespace: string }): Promise<void> {
  await db.query(
    `UPDATE quarantines SET enforcement = 'enforced' WHERE tenant_id = $1 AND namespace = $2 AND active AND enforcement <> 'enforced'`,
    [p.tenantId, p.namespace],
  );
}
