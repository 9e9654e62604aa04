import type { SessionKill } from '@higgs/schema';
import { toIso } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

interface SessionKillRow {
  session_id: string;
  reason: string;
  killed_by: string;
  killed_at: Date | string;
  known: boolean;
}

function toKill(row: SessionKillRow): SessionKill {
  return { sessionId: row.session_id, reason: row.reason, killedBy: row.killed_by, killedAt: toIso(row.killed_at), known: row.known };
}

const SELECT = `SELECT k.session_id, k.reason, k.killed_by, k.killed_at, (s.id IS NOT NULL) AS known
  FROM session_kills k LEFT JOIN sessions s ON s.tenant_id = k.tenant_id AND s.id = k.session_id`;

/**
 * Records a kill order and marks the session's verdict `block` when the tenant
 * knows it. Returns null when the session was already killed (the first order
 * stands: its principal and time are what the audit names).
 */
export async function insertSessionKill(
  db: SqlExecutor, p: { tenantId: string; sessionId: string; reason: string; killedBy: string; killedAt: string },
): Promise<SessionKill | null> {
  const { rows } = await db.query<{ session_id: string }>(
    `INSERT INTO session_kills (tenant_id, session_id, reason, killed_by, killed_at) VALUES ($1, $2, $3, $4, $5::timestamptz)
     ON CONFLICT (tenant_id, session_id) DO NOTHING RETURNING session_id`,
    [p.tenantId, p.sessionId, p.reason, p.killedBy, p.killedAt],
  );
  if (rows.length === 0) return null;
  await db.query(`UPDATE sessions SET verdict = 'block' WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.sessionId]);
  return getSessionKill(db, { tenantId: p.tenantId, sessionId: p.sessionId });
}

export async function getSessionKill(db: SqlExecutor, p: { tenantId: string; sessionId: string }): Promise<SessionKill | null> {
  const { rows } = await db.query<SessionKillRow>(`${SELECT} WHERE k.tenant_id = $1 AND k.session_id = $2`, [p.tenantId, p.sessionId]);
  return rows[0] ? toKill(rows[0]) : null;
}

/** Every kill order of the tenant, by session id: what the scanners' policy carries. */
export async function listSessionKills(db: SqlExecutor, p: { tenantId: string }): Promise<SessionKill[]> {
  const { rows } = await db.query<SessionKillRow>(`${SELECT} WHERE k.tenant_id = $1 ORDER BY k.session_id`, [p.tenantId]);
  return rows.map(toKill);
}
