import { toInt } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

/**
 * Bumps the tenant's monotonic policy version. Call it in the same transaction
 * as the rule / quarantine / verdict change, so the version and the policy agree.
 */
export async function bumpPolicyVersion(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ version: number | string }>(
    'UPDATE policy_versions SET version = version + 1 WHERE tenant_id = $1 RETURNING version',
    [p.tenantId],
  );
  return rows[0] ? toInt(rows[0].version) : 0;
}

export async function getPolicyVersion(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ version: number | string }>('SELECT version FROM policy_versions WHERE tenant_id = $1', [p.tenantId]);
  return rows[0] ? toInt(rows[0].version) : 0;
}
