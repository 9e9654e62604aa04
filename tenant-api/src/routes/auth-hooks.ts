import type { Principal, Role } from '@higgs/schema';
import { roleAllows } from '@higgs/tools';
import type { FastifyRequest } from 'fastify';
import { authenticate } from '../auth/tokens.ts';
import { TenantError } from '../errors.ts';
import type { SqlExecutor } from '../stores/sql-client.ts';

/**
 * Authenticates the request and checks who may use the route: scanner tokens
 * only reach /v1, human and agent tokens only /api and /mcp; a person must
 * also hold `least` in the tool registry's role order (`roleAllows`, the one
 * role table), so a route and a tool never disagree on what a role may do.
 * Machine principals are admitted by kind, as the registry does.
 *
 * @throws TenantError UNAUTHENTICATED, WRONG_TOKEN_KIND, FORBIDDEN
 */
export async function principalFor(
  db: SqlExecutor, request: FastifyRequest, allowed: readonly Principal['kind'][], least: Role = 'viewer',
): Promise<Principal> {
  const principal = await authenticate(db, request.headers.authorization);
  if (!allowed.includes(principal.kind)) {
    throw new TenantError('WRONG_TOKEN_KIND', `a ${principal.kind} token cannot be used here`);
  }
  if (principal.kind === 'human' && !roleAllows(principal.role, least)) {
    throw new TenantError('FORBIDDEN', `this route needs the ${least} role; you have ${principal.role}`);
  }
  return principal;
}

export const SCANNER_ONLY = ['scanner'] as const;
export const PEOPLE_AND_AGENT = ['human', 'agent'] as const;
