import type { ToolArgs, ToolOutput } from '@higgs/schema';
import type { ServiceContext } from '../services.ts';

/** The security operations of the `HiggsServices` port; scoped by `ctx.principal.tenantId`. */
export interface SecurityServices {
  /** The caller's tenant's audit records, newest first, filtered and paged. */
  listAuditRecords(ctx: ServiceContext, input: ToolArgs<'audit_log'>): Promise<ToolOutput<'audit_log'>>;
  /** Walks the caller's tenant's hash chain from the genesis and names the first record that does not hold. */
  verifyAuditChain(ctx: ServiceContext, input: ToolArgs<'verify_audit_chain'>): Promise<ToolOutput<'verify_audit_chain'>>;
  /** Principals and their tokens' metadata (never a token or its hash). */
  listPrincipals(ctx: ServiceContext, input: ToolArgs<'list_principals'>): Promise<ToolOutput<'list_principals'>>;
  /** Creates a principal (CONFLICT when the id exists); audited. */
  createPrincipal(ctx: ServiceContext, input: ToolArgs<'create_principal'>): Promise<ToolOutput<'create_principal'>>;
  /** Issues a bearer token for a principal; the raw token is returned once and only its sha256 is stored; audited. */
  issueToken(ctx: ServiceContext, input: ToolArgs<'issue_token'>): Promise<ToolOutput<'issue_token'>>;
  /** Revokes a token: it stops authenticating at once; audited. */
  revokeToken(ctx: ServiceContext, input: ToolArgs<'revoke_token'>): Promise<ToolOutput<'revoke_token'>>;
}
