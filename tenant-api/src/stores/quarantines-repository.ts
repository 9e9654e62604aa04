import type { Quarantine } from '@higgs/schema';
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
}

const COLUMNS = 'id, namespace, reason, created_by, created_at, active, released_at, enforcement';

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

export async function insertQuarantine(db: SqlExecutor, p: { tenantId: string; quarantine: Quarantine }): Promise<void> {
  const q = p.quarantine;
  await db.query(
    `INSERT INTO quarantines (tenant_id, id, namespace, reason, created_by, created_at, active, released_at, enforcement)
     VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7, $8::timestamptz, $9)`,
    [p.tenantId, q.id, q.namespace, q.reason, q.createdBy, q.createdAt, q.active, q.releasedAt, q.enforcement],
  );
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
