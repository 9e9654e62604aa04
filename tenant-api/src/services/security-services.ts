import type { Principal } from '@higgs/schema';
import { ToolError, type SecurityServices } from '@higgs/tools';
import { generateToken, hashToken } from '../auth/tokens.ts';
import { listAuditPage, verifyAuditChain } from '../stores/audit-repository.ts';
import {
  getPrincipal, getToken, insertToken, listPrincipals, listTokens, revokeToken, upsertPrincipal,
} from '../stores/principals-repository.ts';
import type { ServiceKit } from './service-kit.ts';

/** Machine roles name their own kind; every other role is a person's. */
function kindOf(role: Principal['role']): Principal['kind'] {
  return role === 'scanner' || role === 'agent' ? role : 'human';
}

/** The tenant's security services: the audit trail, principals and tokens. */
export function createSecurityServices(kit: ServiceKit): SecurityServices {
  const { db, tenantOf, audited, now } = kit;
  return {
    async listAuditRecords(ctx, input) {
      const { limit, cursor, ...filter } = input;
      return listAuditPage(db, { tenantId: tenantOf(ctx), filter, limit, cursor });
    },

    async verifyAuditChain(ctx) {
      return verifyAuditChain(db, { tenantId: tenantOf(ctx) });
    },

    async listPrincipals(ctx) {
      // the registry admits the agent to every read tool; who holds which token is for admins only
      if (ctx.principal.kind !== 'human' || ctx.principal.role !== 'admin') {
        throw new ToolError('FORBIDDEN', 'list_principals needs a person with the admin role');
      }
      const tenantId = tenantOf(ctx);
      const [principals, tokens] = await Promise.all([listPrincipals(db, { tenantId }), listTokens(db, { tenantId })]);
      return { principals: principals.map((p) => ({ ...p, tokens: tokens.filter((t) => t.principalId === p.id) })) };
    },

    async createPrincipal(ctx, input) {
      const tenantId = tenantOf(ctx);
      const principal: Principal = { id: input.id, tenantId, name: input.name, kind: kindOf(input.role), role: input.role };
      return audited(ctx, async (tx) => {
        if (!await upsertPrincipal(tx, { tenantId, principal })) {
          throw new ToolError('CONFLICT', `a principal with id ${input.id} exists`);
        }
        return {
          value: { principal },
          audit: { action: 'principal_created', target: principal.id, details: { role: principal.role, kind: principal.kind } },
          policyChanged: false,
        };
      });
    },

    async issueToken(ctx, input) {
      const tenantId = tenantOf(ctx);
      const token = generateToken();
      return audited(ctx, async (tx) => {
        if (!await getPrincipal(tx, { tenantId, id: input.principalId })) {
          throw new ToolError('NOT_FOUND', `principal ${input.principalId} not found`);
        }
        const info = await insertToken(tx, {
          tenantId, principalId: input.principalId, tokenHash: hashToken(token), label: input.label, createdBy: ctx.principal.id,
        });
        // 32 random bytes cannot collide with a stored hash; if they ever did, refusing beats sharing a token
        if (!info) throw new ToolError('CONFLICT', 'token collision; issue again');
        return {
          value: { token, info },
          // the audit record names the token by id: never the token, never its hash
          audit: { action: 'token_issued', target: info.id, details: { principalId: input.principalId, label: input.label } },
          policyChanged: false,
        };
      });
    },

    async revokeToken(ctx, input) {
      const tenantId = tenantOf(ctx);
      return audited(ctx, async (tx) => {
        const existing = await getToken(tx, { tenantId, id: input.tokenId });
        if (!existing) throw new ToolError('NOT_FOUND', `token ${input.tokenId} not found`);
        const revoked = await revokeToken(tx, { tenantId, id: input.tokenId, revokedBy: ctx.principal.id, at: now() });
        if (!revoked) return { value: { token: existing }, audit: null, policyChanged: false };
        return {
          value: { token: revoked },
          audit: { action: 'token_revoked', target: revoked.id, details: { principalId: revoked.principalId, reason: input.reason } },
          policyChanged: false,
        };
      });
    },
  };
}
