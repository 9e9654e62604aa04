import type { Rule } from '@higgs/schema';
import { toIso } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

interface RuleRow {
  id: string;
  name: string;
  action: Rule['action'];
  match: Rule['match'];
  enabled: boolean;
  created_by: string;
  created_at: Date | string;
  source_finding_id: string | null;
}

const COLUMNS = 'id, name, action, match, enabled, created_by, created_at, source_finding_id';

function toRule(row: RuleRow): Rule {
  return {
    id: row.id,
    name: row.name,
    action: row.action,
    match: row.match,
    enabled: row.enabled,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    sourceFindingId: row.source_finding_id,
  };
}

export async function insertRule(db: SqlExecutor, p: { tenantId: string; rule: Rule }): Promise<void> {
  const r = p.rule;
  await db.query(
    `INSERT INTO rules (tenant_id, id, name, action, match, enabled, created_by, created_at, source_finding_id)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::timestamptz, $9)`,
    [p.tenantId, r.id, r.name, r.action, JSON.stringify(r.match), r.enabled, r.createdBy, r.createdAt, r.sourceFindingId],
  );
}

/** Oldest first, so a scanner evaluates rules in the order they were made. */
export async function listRules(db: SqlExecutor, p: { tenantId: string; includeDisabled: boolean }): Promise<Rule[]> {
  const { rows } = await db.query<RuleRow>(
    `SELECT ${COLUMNS} FROM rules WHERE tenant_id = $1 AND (enabled OR $2) ORDER BY created_at, id`,
    [p.tenantId, p.includeDisabled],
  );
  return rows.map(toRule);
}

export async function countActiveRules(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM rules WHERE tenant_id = $1 AND enabled', [p.tenantId]);
  return rows[0]?.n ?? 0;
}

/**
 * Disables an enabled rule and returns it as it is now; null when the tenant
 * has no such rule. A rule already disabled is returned unchanged with
 * `changed: false`, so disabling twice writes one audit record.
 */
export async function disableRule(
  db: SqlExecutor, p: { tenantId: string; id: string },
): Promise<{ rule: Rule; changed: boolean } | null> {
  const { rows } = await db.query<RuleRow>(
    `UPDATE rules SET enabled = false WHERE tenant_id = $1 AND id = $2 AND enabled RETURNING ${COLUMNS}`,
    [p.tenantId, p.id],
  );
  if (rows[0]) return { rule: toRule(rows[0]), changed: true };
  const existing = await db.query<RuleRow>(`SELECT ${COLUMNS} FROM rules WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.id]);
  return existing.rows[0] ? { rule: toRule(existing.rows[0]), changed: false } : null;
}
