import type { ApiTokenInfo, Principal } from '@higgs/schema';
import type { z } from 'zod';
import { newId, toIso, toIsoOrNull } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

type TokenInfo = z.infer<typeof ApiTokenInfo>;

interface PrincipalRow {
  tenant_id: string;
  id: string;
  name: string;
  kind: Principal['kind'];
  role: Principal['role'];
}

interface TokenRow {
  id: string;
  principal_id: string;
  label: string;
  created_at: Date | string;
  created_by: string | null;
  revoked_at: Date | string | null;
  revoked_by: string | null;
}

function toPrincipal(row: PrincipalRow): Principal {
  return { id: row.id, tenantId: row.tenant_id, name: row.name, kind: row.kind, role: row.role };
}

function toTokenInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id, principalId: row.principal_id, label: row.label, createdAt: toIso(row.created_at), createdBy: row.created_by,
    revokedAt: toIsoOrNull(row.revoked_at), revokedBy: row.revoked_by,
  };
}

const TOKEN_COLUMNS = 'id, principal_id, label, created_at, created_by, revoked_at, revoked_by';

/** Creates the principal; an existing id is left as it is. Returns whether it was created. */
export async function upsertPrincipal(
  db: SqlExecutor, p: { tenantId: string; principal: Omit<Principal, 'tenantId'> },
): Promise<boolean> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO principals (tenant_id, id, name, kind, role) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id`,
    [p.tenantId, p.principal.id, p.principal.name, p.principal.kind, p.principal.role],
  );
  return rows.length > 0;
}

export async function getPrincipal(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<Principal | null> {
  const { rows } = await db.query<PrincipalRow>(
    'SELECT tenant_id, id, name, kind, role FROM principals WHERE tenant_id = $1 AND id = $2',
    [p.tenantId, p.id],
  );
  return rows[0] ? toPrincipal(rows[0]) : null;
}

export async function listPrincipals(db: SqlExecutor, p: { tenantId: string }): Promise<Principal[]> {
  const { rows } = await db.query<PrincipalRow>(
    'SELECT tenant_id, id, name, kind, role FROM principals WHERE tenant_id = $1 ORDER BY id', [p.tenantId],
  );
  return rows.map(toPrincipal);
}

/**
 * Registers a token by its sha256; registering the same hash again is a no-op
 * (returns null). Only the hash is stored: the raw token is the caller's to show once.
 */
export async function insertToken(
  db: SqlExecutor, p: { tenantId: string; principalId: string; tokenHash: string; label?: string; createdBy?: string | null },
): Promise<TokenInfo | null> {
  const { rows } = await db.query<TokenRow>(
    `INSERT INTO api_tokens (token_hash, tenant_id, principal_id, id, label, created_by) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (token_hash) DO NOTHING RETURNING ${TOKEN_COLUMNS}`,
    [p.tokenHash, p.tenantId, p.principalId, newId('tok'), p.label ?? '', p.createdBy ?? null],
  );
  return rows[0] ? toTokenInfo(rows[0]) : null;
}

/** Live (unrevoked) tokens of the principal. */
export async function countTokens(db: SqlExecutor, p: { tenantId: string; principalId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM api_tokens WHERE tenant_id = $1 AND principal_id = $2 AND revoked_at IS NULL',
    [p.tenantId, p.principalId],
  );
  return rows[0]?.n ?? 0;
}

/** Every token's metadata (never its hash), oldest first. */
export async function listTokens(db: SqlExecutor, p: { tenantId: string }): Promise<TokenInfo[]> {
  const { rows } = await db.query<TokenRow>(
    `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at, id`, [p.tenantId],
  );
  return rows.map(toTokenInfo);
}

export async function getToken(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<TokenInfo | null> {
  const { rows } = await db.query<TokenRow>(
    `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.id],
  );
  return rows[0] ? toTokenInfo(rows[0]) : null;
}

/** Stamps the token revoked once; returns null when it does not exist or was already revoked. */
export async function revokeToken(
  db: SqlExecutor, p: { tenantId: string; id: string; revokedBy: string; at: string },
): Promise<TokenInfo | null> {
  const { rows } = await db.query<TokenRow>(
    `UPDATE api_tokens SET revoked_at = $3::timestamptz, revoked_by = $4
      WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING ${TOKEN_COLUMNS}`,
    [p.tenantId, p.id, p.at, p.revokedBy],
  );
  return rows[0] ? toTokenInfo(rows[0]) : null;
}

/**
 * Resolves a live bearer token's hash to its principal. The one lookup that is
 * not scoped by a tenant id: it is how the caller's tenant becomes known.
 */
export async function findPrincipalByTokenHash(db: SqlExecutor, p: { tokenHash: string }): Promise<Principal | null> {
  const { rows } = await db.query<PrincipalRow>(
    `SELECT pr.tenant_id, pr.id, pr.name, pr.kind, pr.role
       FROM api_tokens t JOIN principals pr ON pr.tenant_id = t.tenant_id AND pr.id = t.principal_id
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
    [p.tokenHash],
  );
  return rows[0] ? toPrincipal(rows[0]) : null;
}
