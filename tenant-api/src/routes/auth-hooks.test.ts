import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../auth/tokens.ts';
import { TenantError } from '../errors.ts';
import { insertToken, upsertPrincipal } from '../stores/principals-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { createTestTenant, openTestDb } from '../testing/fixtures.ts';
import { PEOPLE_AND_AGENT, principalFor, SCANNER_ONLY } from './auth-hooks.ts';

let db: SqlClient;
beforeAll(async () => { db = await openTestDb(); }, 180_000);
afterAll(async () => { await db?.close(); });

const request = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as FastifyRequest;

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  const err = await promise.then(() => null, (e: unknown) => e);
  if (err === null) return null;
  expect(err).toBeInstanceOf(TenantError);
  return (err as TenantError).code;
}

describe('route access', () => {
  it('applies the registry role order to people, and admits machines by kind', async () => {
    const t = await createTestTenant(db);
    const tokens: Record<string, string> = {};
    for (const [id, kind, role] of [
      ['vic', 'human', 'viewer'], ['cora', 'human', 'compliance'], ['pat', 'human', 'platform'], ['odd', 'human', 'agent'],
    ] as const) {
      await upsertPrincipal(db, { tenantId: t.tenantId, principal: { id, name: id, kind, role } });
      tokens[id] = `token-${id}-${t.tenantId}-0123456789`;
      await insertToken(db, { tenantId: t.tenantId, principalId: id, tokenHash: hashToken(tokens[id]) });
    }
    expect(await codeOf(principalFor(db, request(tokens.vic!), PEOPLE_AND_AGENT))).toBeNull();
    expect(await codeOf(principalFor(db, request(tokens.vic!), PEOPLE_AND_AGENT, 'compliance'))).toBe('FORBIDDEN');
    expect(await codeOf(principalFor(db, request(tokens.cora!), PEOPLE_AND_AGENT, 'compliance'))).toBeNull();
    // peers: platform does not satisfy compliance
    expect(await codeOf(principalFor(db, request(tokens.pat!), PEOPLE_AND_AGENT, 'compliance'))).toBe('FORBIDDEN');
    expect(await codeOf(principalFor(db, request(t.adminToken), PEOPLE_AND_AGENT, 'admin'))).toBeNull();
    // a person holding a machine role satisfies no route
    expect(await codeOf(principalFor(db, request(tokens.odd!), PEOPLE_AND_AGENT))).toBe('FORBIDDEN');
    expect(await codeOf(principalFor(db, request(t.scannerToken), SCANNER_ONLY))).toBeNull();
    expect(await codeOf(principalFor(db, request(t.scannerToken), PEOPLE_AND_AGENT))).toBe('WRONG_TOKEN_KIND');
    expect(await codeOf(principalFor(db, request(t.adminToken), SCANNER_ONLY))).toBe('WRONG_TOKEN_KIND');
    expect(await codeOf(principalFor(db, request('hgs_unknown_token_value'), PEOPLE_AND_AGENT))).toBe('UNAUTHENTICATED');
  });
});
