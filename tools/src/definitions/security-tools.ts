import { defineTool, READ_ANNOTATIONS } from '../define-tool.ts';
import type { ToolDefinition } from '../types.ts';

/** Writes that add something and destroy nothing: not read-only, so the agent cannot call them. */
const ADD_ANNOTATIONS = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;

/**
 * The security tools: the tamper-evident audit trail (compliance and above read
 * it) and the tenant's principals and API tokens (admin only).
 */
export const securityTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'audit_log',
    title: 'Audit log',
    description:
      'Read the tenant\'s audit trail: every change a person or the agent made (rules, quarantines, kills, governance '
      + 'changes, finding status, proposals and their decisions, principals and tokens, retention runs), newest first. '
      + 'Filter by actor (principal id), action (e.g. rule_added, proposal_approved), exact target id, and a time range '
      + '(`from` inclusive, `to` exclusive); page with `cursor`/`nextCursor`. Use it for "who changed what, when". '
      + 'Use verify_audit_chain to check the records were not altered. Changes nothing.',
    annotations: READ_ANNOTATIONS,
    role: 'compliance',
    handler: (input, ctx) => ctx.services.listAuditRecords(ctx, input),
  }),
  defineTool({
    name: 'verify_audit_chain',
    title: 'Verify audit chain',
    description:
      'Check that the tenant\'s audit trail is intact: recomputes the hash chain (each record carries the hash of the '
      + 'previous one) from the first record to the head. Returns ok, the number of records, and when something was '
      + 'altered, deleted or inserted, the first record that breaks the chain: its id, its position (seq), the reason, '
      + 'and the expected versus the stored hash. Use it before relying on the audit trail as evidence. Changes nothing.',
    annotations: READ_ANNOTATIONS,
    role: 'compliance',
    handler: (input, ctx) => ctx.services.verifyAuditChain(ctx, input),
  }),
  defineTool({
    name: 'list_principals',
    title: 'List principals',
    description:
      'List who can reach this tenant: people (admin, security, platform, compliance, viewer) and machine principals '
      + '(scanner, agent), each with their API tokens\' id, label, creation and revocation (never the token itself). '
      + 'Admin only. Changes nothing.',
    annotations: READ_ANNOTATIONS,
    role: 'admin',
    handler: (input, ctx) => ctx.services.listPrincipals(ctx, input),
  }),
  defineTool({
    name: 'create_principal',
    title: 'Create principal',
    description:
      'Create a principal with a role: a person (admin, security, platform, compliance or viewer) or a machine '
      + 'principal (scanner for a node\'s scanner, agent for an agent). The id is chosen by you and appears in the audit '
      + 'trail. It cannot sign in until you issue_token for it. Admin only; audited.',
    annotations: ADD_ANNOTATIONS,
    role: 'admin',
    handler: (input, ctx) => ctx.services.createPrincipal(ctx, input),
  }),
  defineTool({
    name: 'issue_token',
    title: 'Issue API token',
    description:
      'Issue a new bearer token for a principal, with a label saying where it is used. The token is returned once, '
      + 'now: only its sha256 is stored, so hand it over and do not repeat it. Admin only; audited with the token id, '
      + 'never the token.',
    annotations: ADD_ANNOTATIONS,
    role: 'admin',
    handler: (input, ctx) => ctx.services.issueToken(ctx, input),
  }),
  defineTool({
    name: 'revoke_token',
    title: 'Revoke API token',
    description:
      'Revoke an API token by its id (from list_principals): it stops authenticating immediately, on every surface. '
      + 'Give the reason. Admin only; audited.',
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    role: 'admin',
    handler: (input, ctx) => ctx.services.revokeToken(ctx, input),
  }),
];
