/**
 * Tool contracts of the security area, spread into `ToolContracts` (tools.schema.ts):
 * the audit trail (audit_log, verify_audit_chain) and the tenant's principals
 * and API tokens (list_principals, create_principal, issue_token, revoke_token).
 */
import { z } from 'zod';
import { AuditRecord, Principal } from '../domain.schema.ts';
import { Role } from '../enums.ts';

const IsoTime = z.iso.datetime({ offset: true });
const Limit = z.number().int().min(1).max(200).default(50);
const Cursor = z.string().max(200).optional();
/** Principal ids are chosen by an admin and appear in audit records: keep them readable and safe to print. */
const PrincipalId = z.string().regex(/^[a-z0-9][a-z0-9._@-]{0,62}$/, 'lower-case letters, digits and . _ @ - (at most 63)');

export const AuditLogInput = z.object({
  actor: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(200).optional(),
  /** exact target, e.g. a rule or finding id */
  target: z.string().min(1).max(500).optional(),
  /** records at or after this time */
  from: IsoTime.optional(),
  /** records before this time */
  to: IsoTime.optional(),
  limit: Limit,
  cursor: Cursor,
});
/** Newest first; `nextCursor` pages towards the oldest. */
export const AuditLogOutput = z.object({ records: z.array(AuditRecord), nextCursor: z.string().nullable() });

export const VerifyAuditChainInput = z.object({});
export const AuditChainBreak = z.object({
  /** the first record that does not hold; null when records are missing from the end of the chain */
  id: z.string().nullable(),
  /** its sequence number: its 1-based position in the chain */
  seq: z.number().int().positive(),
  reason: z.enum(['hash_mismatch', 'broken_link', 'seq_gap', 'truncated', 'beyond_head']),
  /** what the chain says the value must be (the recomputed hash, the predecessor's hash, the next seq, the head's hash) */
  expected: z.string(),
  /** what the stored record holds */
  found: z.string(),
});
export const VerifyAuditChainOutput = z.object({
  ok: z.boolean(),
  /** records walked */
  records: z.number().int().nonnegative(),
  /** hash of the last record (the head), or the genesis hash for an empty chain */
  headHash: z.string(),
  firstBreak: AuditChainBreak.nullable(),
});

export const ApiTokenInfo = z.object({
  id: z.string(),
  principalId: z.string(),
  label: z.string(),
  createdAt: IsoTime,
  createdBy: z.string().nullable(),
  revokedAt: IsoTime.nullable(),
  revokedBy: z.string().nullable(),
});
export const PrincipalWithTokens = Principal.extend({ tokens: z.array(ApiTokenInfo) });

export const ListPrincipalsInput = z.object({});
export const ListPrincipalsOutput = z.object({ principals: z.array(PrincipalWithTokens) });

/** Human principals take a human role; `agent` and `scanner` are machine principals with the role of the same name. */
export const CreatePrincipalInput = z.object({
  id: PrincipalId,
  name: z.string().min(1).max(200),
  role: Role,
});
export const CreatePrincipalOutput = z.object({ principal: Principal });

export const IssueTokenInput = z.object({
  principalId: PrincipalId,
  label: z.string().min(1).max(200),
});
export const IssueTokenOutput = z.object({
  /** the bearer token: shown once, stored only as its sha256 */
  token: z.string(),
  info: ApiTokenInfo,
});

export const RevokeTokenInput = z.object({
  tokenId: z.string().min(1).max(100),
  reason: z.string().min(1).max(2000),
});
export const RevokeTokenOutput = z.object({ token: ApiTokenInfo });

export const securityToolContracts = {
  audit_log: { input: AuditLogInput, output: AuditLogOutput },
  verify_audit_chain: { input: VerifyAuditChainInput, output: VerifyAuditChainOutput },
  list_principals: { input: ListPrincipalsInput, output: ListPrincipalsOutput },
  create_principal: { input: CreatePrincipalInput, output: CreatePrincipalOutput },
  issue_token: { input: IssueTokenInput, output: IssueTokenOutput },
  revoke_token: { input: RevokeTokenInput, output: RevokeTokenOutput },
} as const;
