import type { Principal } from '@higgs/schema';
import type { SqlExecutor } from './sql-client.ts';

interface PrincipalRow {
  tenant_id: string;
  id: string;
  name: string;
  kind: Principal['kind'];
  role: Principal['role'];
}

function toPrincipal(row: PrincipalRow): Principal {
  return { id: row.id, tenantId: row.tenant_id, name: row.name, kind: row.kind, role: row.role };
}

/** Creates the principal; an existing id is left as it is. */
export async function upsertPrincipal(db: SqlExecutor, p: { tenantId: string; principal: Omit<Principal, 'tenantId'> }): Promise<void> {
  await db.query(
    `INSERT INTO principals (tenant_id, id, name, kind, role) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, id) DO NOTHING`,
    [p.tenantId, p.principal.id, p.principal.name, p.principal.kind, p.principal.role],
  );
}

export async function getPrincipal(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<Principal | null> {
  const { rows } = await db.query<PrincipalRow>(
    'SELECT tenant_id, id, name, kind, role FROM principals WHERE tenant_id = $1 AND id = $2',
    [p.tenantId, p.id],
  );
  return rows[0] ? toPrincipal(rows[0]) : null;
}

/** Registers a token by its sha256; registering the same hash again is a no-op. */
export async function insertToken(db: SqlExecutor, p: { tenantId: string; principalId: string; tokenHash: string }): Promise<void> {
  await db.query(
    `INSERT INTO api_tokens (token_hash, tenant_id, principal_id) VALUES ($1, $2, $3)
     ON CONFLICT (token_hash) DO NOTHING`,
    [p.tokenHash, p.tenantId, p.principalId],
  );
}

export async function countTokens(db: SqlExecutor, p: { tenantId: string; principalId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM api_tokens WHERE tenant_id = $1 AND principal_id = $2',
    [p.tenantId, p.principalId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Resolves a bearer token's hash to its principal. The one lookup that is not
 * scoped by a tenant id: it is how the caller's tenant becomes known.
 */
export async function findPrincipalByTokenHash(db: SqlExecutor, p: { tokenHash: string }): Promise<Principal | null> {
  const { rows } = await db.query<PrincipalRow>(
    `SELECT pr.tenant_id, pr.id, pr.name, pr.kind, pr.role
       FROM api_tokens t JOIN principals pr ON pr.tenant_id = t.tenant_id AND pr.id = t.principal_id
      WHERE t.token_hash = $1`,
    [p.tokenHash],
  );
  return rows[0] ? toPrincipal(rows[0]) : null;
}
