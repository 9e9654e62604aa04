import type { Principal } from '@higgs/schema';
import { countTokens, insertToken, upsertPrincipal } from '../stores/principals-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { insertBaseline, insertTenant, type GovernanceBaseline } from '../stores/tenants-repository.ts';
import { generateToken, hashToken } from './tokens.ts';

/** The three principals every tenant starts with. */
export const BUILTIN_PRINCIPALS = {
  admin: { id: 'admin', name: 'Administrator', kind: 'human', role: 'admin' },
  scanner: { id: 'scanner', name: 'Scanner', kind: 'scanner', role: 'scanner' },
  agent: { id: 'agent', name: 'Higgs agent', kind: 'agent', role: 'agent' },
} as const satisfies Record<string, Omit<Principal, 'tenantId'>>;

export interface BootstrapOptions {
  tenantId: string;
  name: string;
  /** applied once, when the tenant is created */
  baseline: GovernanceBaseline;
  /** registered (by hash) when given; otherwise one is generated if the principal has none */
  adminToken?: string | undefined;
  scannerToken?: string | undefined;
}

export interface BootstrapResult {
  created: boolean;
  /** the raw admin token when it was given or generated now; null when an earlier start made it */
  adminToken: string | null;
  scannerToken: string | null;
  agentPrincipal: Principal;
}

/** Creates the tenant, its principals and their tokens on first start; idempotent afterwards. */
export async function bootstrapTenant(db: SqlClient, options: BootstrapOptions): Promise<BootstrapResult> {
  const { tenantId } = options;
  return db.transaction(async (tx) => {
    const created = await insertTenant(tx, { tenantId, name: options.name });
    if (created) await insertBaseline(tx, { tenantId, baseline: options.baseline });
    for (const principal of Object.values(BUILTIN_PRINCIPALS)) await upsertPrincipal(tx, { tenantId, principal });

    const ensureToken = async (principalId: string, given: string | undefined): Promise<string | null> => {
      if (given !== undefined) {
        await insertToken(tx, { tenantId, principalId, tokenHash: hashToken(given), label: 'bootstrap: configured' });
        return given;
      }
      if (await countTokens(tx, { tenantId, principalId }) > 0) return null;
      const token = generateToken();
      await insertToken(tx, { tenantId, principalId, tokenHash: hashToken(token), label: 'bootstrap: generated' });
      return token;
    };
    return {
      created,
      adminToken: await ensureToken(BUILTIN_PRINCIPALS.admin.id, options.adminToken),
      scannerToken: await ensureToken(BUILTIN_PRINCIPALS.scanner.id, options.scannerToken),
      agentPrincipal: { ...BUILTIN_PRINCIPALS.agent, tenantId },
    };
  });
}
