import { randomBytes } from 'node:crypto';
import type { Principal } from '@higgs/schema';
import { sha256Hex } from '../sha256.ts';
import { TenantError } from '../errors.ts';
import { findPrincipalByTokenHash } from '../stores/principals-repository.ts';
import type { SqlExecutor } from '../stores/sql-client.ts';

/** A new bearer token: 32 random bytes, base64url, with a recognisable prefix for secret scanners. */
export function generateToken(): string {
  return `hgs_${randomBytes(32).toString('base64url')}`;
}

/** What is stored for a token: its sha256, hex. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

/**
 * Resolves an `Authorization` header to its principal.
 * @throws TenantError UNAUTHENTICATED when the header is missing, malformed or the token unknown
 */
export async function authenticate(db: SqlExecutor, authorization: string | undefined): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) throw new TenantError('UNAUTHENTICATED', 'a bearer token is required');
  const principal = await findPrincipalByTokenHash(db, { tokenHash: hashToken(match[1]) });
  if (!principal) throw new TenantError('UNAUTHENTICATED', 'the bearer token is not valid');
  return principal;
}
