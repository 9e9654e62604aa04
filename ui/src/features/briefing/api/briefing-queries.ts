/**
 * The Briefing's reads and actions, each one tool call through the page's
 * ApiClient. Components call these, never `callTool` with ad-hoc arguments.
 */
import type { Finding, Proposal, Quarantine, Rule, SuggestedAction, ToolInput, ToolOutput } from '@higgs/schema';
import type { z } from 'zod';
import type { ApiClient, MeResponse } from '../../../lib/api-client.ts';

export type BriefingSummary = ToolOutput<'briefing_summary'>;
export type SuggestedActionValue = z.infer<typeof SuggestedAction>;
export type NeedsDecisionItem = BriefingSummary['needsDecision'][number];

export const getMe = (api: ApiClient, signal?: AbortSignal): Promise<MeResponse> => api.me({ signal });

export const getSummary = (api: ApiClient, signal?: AbortSignal): Promise<BriefingSummary> =>
  api.callTool('briefing_summary', {}, { signal });

export const listPendingProposals = async (api: ApiClient, signal?: AbortSignal): Promise<Proposal[]> =>
  (await api.callTool('list_proposals', { status: 'pending' }, { signal })).proposals;

export const listActiveRules = async (api: ApiClient, signal?: AbortSignal): Promise<Rule[]> =>
  (await api.callTool('list_rules', {}, { signal })).rules;

/** What a finding's action created: shown in the row once it succeeded. */
export type ActionOutcome =
  | { kind: 'rule'; rule: Rule }
  | { kind: 'quarantine'; quarantine: Quarantine }
  /** any other proposable tool: what it was and the id of what it changed */
  | { kind: 'done'; tool: string; target: string };

/**
 * Runs the block a finding row offers, as the signed-in human (who may act
 * directly; the agent may only propose). The tenant's suggested arguments win;
 * the finding fills in what they leave out.
 */
export async function runSuggestedAction(api: ApiClient, finding: Finding, action: SuggestedActionValue): Promise<ActionOutcome> {
  switch (action.tool) {
    case 'block_from_finding': {
      const args = { findingId: finding.id, ...action.args } as ToolInput<'block_from_finding'>;
      return { kind: 'rule', rule: (await api.callTool('block_from_finding', args)).rule };
    }
    case 'quarantine_namespace': {
      const args = {
        namespace: finding.evidence.namespace ?? undefined,
        reason: `${finding.title} (finding ${finding.id})`,
        ...action.args,
      } as ToolInput<'quarantine_namespace'>;
      return { kind: 'quarantine', quarantine: (await api.callTool('quarantine_namespace', args)).quarantine };
    }
    case 'add_inline_rule':
      return { kind: 'rule', rule: (await api.callTool('add_inline_rule', action.args as ToolInput<'add_inline_rule'>)).rule };
    case 'kill_session': {
      const { kill } = await api.callTool('kill_session', action.args as ToolInput<'kill_session'>);
      return { kind: 'done', tool: 'Session killed', target: kill.sessionId };
    }
    case 'release_quarantine':
      return { kind: 'quarantine', quarantine: (await api.callTool('release_quarantine', action.args as ToolInput<'release_quarantine'>)).quarantine };
    case 'disable_rule':
      return { kind: 'rule', rule: (await api.callTool('disable_rule', action.args as ToolInput<'disable_rule'>)).rule };
    case 'set_governance_state': {
      const out = await api.callTool('set_governance_state', action.args as ToolInput<'set_governance_state'>);
      return { kind: 'done', tool: `Governance set to ${out.asset.governance}`, target: out.asset.id };
    }
    case 'update_finding_status': {
      const out = await api.callTool('update_finding_status', action.args as ToolInput<'update_finding_status'>);
      return { kind: 'done', tool: `Finding ${out.finding.status}`, target: out.finding.id };
    }
  }
}

/**
 * Approves a proposal bound to `shownHash`, the hash the page computed from the
 * arguments it displays (`argsHash` in lib/args-hash.ts): the tenant refuses
 * (APPROVAL_MISMATCH) if its stored arguments are not the ones shown.
 */
export const approveProposal = (api: ApiClient, proposal: Proposal, shownHash: string): Promise<ToolOutput<'approve_action'>> =>
  api.callTool('approve_action', { proposalId: proposal.id, argsHash: shownHash });

export const rejectProposal = (api: ApiClient, proposal: Proposal, reason: string): Promise<ToolOutput<'reject_action'>> =>
  api.callTool('reject_action', { proposalId: proposal.id, reason });
