import type { SqlExecutor } from './sql-client.ts';

export interface GovernanceBaseline {
  namespaces: string[];
  providers: string[];
  /** the egress allowlist (hosts or `*.suffix`), written at bootstrap; read with getDestinationAllowlist */
  destinations?: string[] | undefined;
}

/** True when the tenant row exists. */
export async function tenantExists(db: SqlExecutor, p: { tenantId: string }): Promise<boolean> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM tenants WHERE id = $1', [p.tenantId]);
  return rows.length > 0;
}

/** Creates the tenant with its policy version counter and audit head; no-op when it exists. */
export async function insertTenant(db: SqlExecutor, p: { tenantId: string; name: string }): Promise<boolean> {
  const { rows } = await db.query<{ id: string }>(
    'INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id',
    [p.tenantId, p.name],
  );
  if (rows.length === 0) return false;
  await db.query('INSERT INTO policy_versions (tenant_id, version) VALUES ($1, 0)', [p.tenantId]);
  return true;
}

export async function insertBaseline(db: SqlExecutor, p: { tenantId: string; baseline: GovernanceBaseline }): Promise<void> {
  const entries = [
    ...p.baseline.namespaces.map((value) => ['namespace', value] as const),
    ...p.baseline.providers.map((value) => ['provider', value] as const),
    ...(p.baseline.destinations ?? []).map((value) => ['destination', value] as const),
  ];
  for (const [kind, value] of entries) {
    await db.query(
      'INSERT INTO governance_baseline (tenant_id, kind, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [p.tenantId, kind, value],
    );
  }
}

export async function getBaseline(db: SqlExecutor, p: { tenantId: string }): Promise<GovernanceBaseline> {
  const { rows } = await db.query<{ kind: string; value: string }>(
    'SELECT kind, value FROM governance_baseline WHERE tenant_id = $1 ORDER BY value',
    [p.tenantId],
  );
  return {
    namespaces: rows.filter((r) => r.kind === 'namespace').map((r) => r.value),
    providers: rows.filter((r) => r.kind === 'provider').map((r) => r.value),
  };
}

/**
 * Every tenant's id: for system maintenance (retention) that acts on all
 * tenants and records what it did in each tenant's own audit trail.
 */
export async function listTenantIds(db: SqlExecutor): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM tenants ORDER BY id');
  return rows.map((r) => r.id);
}
