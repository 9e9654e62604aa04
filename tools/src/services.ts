/**
 * The domain operations the tools call. The tenant implements this interface over
 * its stores; the tool registry never holds a store client. Every method is
 * scoped by `ctx.principal.tenantId` and must filter every query on it.
 */
import type { Principal, Proposal, ToolArgs, ToolOutput } from '@higgs/schema';
import type { AttributionServices } from './services/attribution.ts';
import type { FindingsServices } from './services/findings.ts';
import type { KernelServices } from './services/kernel.ts';
import type { KnowledgeServices } from './services/knowledge.ts';
import type { SecurityServices } from './services/security.ts';

export interface ServiceContext {
  principal: Principal;
}

export interface HiggsServices
  extends FindingsServices, AttributionServices, SecurityServices, KernelServices, KnowledgeServices {
  briefingSummary(ctx: ServiceContext): Promise<ToolOutput<'briefing_summary'>>;
  listFindings(ctx: ServiceContext, input: ToolArgs<'list_findings'>): Promise<ToolOutput<'list_findings'>>;
  getFinding(ctx: ServiceContext, input: ToolArgs<'get_finding'>): Promise<ToolOutput<'get_finding'>>;
  replaySession(ctx: ServiceContext, input: ToolArgs<'replay_session'>): Promise<ToolOutput<'replay_session'>>;
  listAssets(ctx: ServiceContext, input: ToolArgs<'list_assets'>): Promise<ToolOutput<'list_assets'>>;
  listRules(ctx: ServiceContext, input: ToolArgs<'list_rules'>): Promise<ToolOutput<'list_rules'>>;
  listProposals(ctx: ServiceContext, input: ToolArgs<'list_proposals'>): Promise<ToolOutput<'list_proposals'>>;

  /** Creates an active rule and writes the audit record. */
  addInlineRule(ctx: ServiceContext, input: ToolArgs<'add_inline_rule'>): Promise<ToolOutput<'add_inline_rule'>>;
  /** Disables an active rule (scanners drop it with the next policy) and writes the audit record. */
  disableRule(ctx: ServiceContext, input: ToolArgs<'disable_rule'>): Promise<ToolOutput<'disable_rule'>>;
  /** Turns the finding's matching pattern into an active rule across all apps. */
  blockFromFinding(ctx: ServiceContext, input: ToolArgs<'block_from_finding'>): Promise<ToolOutput<'block_from_finding'>>;
  quarantineNamespace(ctx: ServiceContext, input: ToolArgs<'quarantine_namespace'>): Promise<ToolOutput<'quarantine_namespace'>>;
  generateCompliancePack(
    ctx: ServiceContext, input: ToolArgs<'generate_compliance_pack'>,
  ): Promise<ToolOutput<'generate_compliance_pack'>>;

  /** Stores a pending proposal (argsHash computed by the caller) and audits it. */
  createProposal(ctx: ServiceContext, proposal: NewProposal): Promise<Proposal>;
  getProposal(ctx: ServiceContext, id: string): Promise<Proposal | null>;
  /**
   * Moves a pending proposal to a decided state exactly once (compare-and-set on
   * status = 'pending') and audits `proposal_<status>`; returns null when it was
   * no longer pending. Approval is a claim: `{ status: 'approved', result: null }`
   * before the action runs, so only the winner runs it.
   */
  decideProposal(ctx: ServiceContext, decision: ProposalDecision): Promise<Proposal | null>;
  /**
   * Records the outcome of a claimed proposal once: only one that is 'approved'
   * with a null result changes (to 'failed' when the action failed, auditing
   * `proposal_failed`); returns null when it was not claimed or already completed.
   */
  completeProposal(ctx: ServiceContext, completion: ProposalCompletion): Promise<Proposal | null>;

  /** Appends to the tenant's hash-chained audit trail. */
  audit(ctx: ServiceContext, entry: { action: string; target: string; details: Record<string, unknown> }): Promise<void>;
}

export interface NewProposal {
  tool: Proposal['tool'];
  args: Record<string, unknown>;
  argsHash: string;
  title: string;
  rationale: string;
  findingId: string | null;
  expiresAt: string;
}

export interface ProposalCompletion {
  id: string;
  status: 'approved' | 'failed';
  result: Record<string, unknown>;
}

export interface ProposalDecision {
  id: string;
  status: 'approved' | 'rejected' | 'expired' | 'failed';
  result: Record<string, unknown> | null;
}
