import type { Principal } from '@higgs/schema';
import type { FastifyRequest } from 'fastify';
import { authenticate } from '../auth/tokens.ts';
import { TenantError } from '../errors.ts';
import type { SqlExecutor } from '../stores/sql-client.ts';

/**
 * Authenticates the request and checks its principal kind: scanner tokens only
 * reach /v1, human and agent tokens only /api and /mcp.
 */
export async function principalFor(
  db: SqlExecutor, request: FastifyRequest, allowed: readonly Principal['kind'][],
): Promise<Principal> {
  const principal = await authenticate(db, request.headers.authorization);
  if (!allowed.includes(principal.kind)) {
    throw new TenantError('WRONG_TOKEN_KIND', `a ${principal.kind} token cannot be used here`);
  }
  return principal;
}

export const SCANNER_ONLY = ['scanner'] as const;
export const PEOPLE_AND_AGENT = ['human', 'agent'] as const;
