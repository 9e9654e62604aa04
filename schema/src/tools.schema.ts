/**
 * Input and output contracts of every tool. The tool registry (`@higgs/tools`)
 * binds handlers to them; the UI and the agent parse results with the same schemas.
 */
import { z } from 'zod';
import {
  Asset, AuditRecord, Finding, Obligation, PiiFlow, Proposal, ProposableTool, Quarantine, Rule, RuleMatch,
} from './domain.schema.ts';
import { AssetDomain, FindingCategory, FindingStatus, GovernanceState, RuleAction, Severity } from './enums.ts';
import { EnforcementDecision } from './observation.schema.ts';
import { attributionToolContracts } from './tools/attribution.schema.ts';
import { findingsToolContracts } from './tools/findings.schema.ts';
import { kernelToolContracts } from './tools/kernel.schema.ts';
import { knowledgeToolContracts } from './tools/knowledge.schema.ts';
import { securityToolContracts } from './tools/security.schema.ts';

const IsoTime = z.iso.datetime({ offset: true });
const Limit = z.number().int().min(1).max(200).default(50);
const Cursor = z.string().max(200).optional();

export const ListFindingsInput = z.object({
  category: FindingCategory.optional(),
  severity: Severity.optional(),
  status: FindingStatus.optional(),
  namespace: z.string().optional(),
  app: z.string().optional(),
  /** findings on this asset (ids from list_assets / get_asset) */
  assetId: z.string().min(1).optional(),
  /** findings whose evidence names this user */
  user: z.string().min(1).max(256).optional(),
  /** findings seen within [from, to): last seen at or after `from`, first seen before `to` */
  from: IsoTime.optional(),
  to: IsoTime.optional(),
  limit: Limit,
  cursor: Cursor,
});
export const ListFindingsOutput = z.object({ findings: z.array(Finding), nextCursor: z.string().nullable() });

export const GetFindingInput = z.object({ id: z.string().min(1) });
/** The block a finding row offers, named by its category ("Block PII egress", …). */
export const SuggestedAction = z.object({
  label: z.string(),
  tool: ProposableTool,
  args: z.record(z.string(), z.unknown()),
  /** what the rule would match, in words */
  effect: z.string(),
});
export const GetFindingOutput = z.object({
  finding: Finding,
  asset: Asset.nullable(),
  obligations: z.array(Obligation),
  suggestedAction: SuggestedAction.nullable(),
  remediation: z.string(),
});

// replay_session moved to the attribution area (tools/attribution.schema.ts) with the MCP tool calls
export { ReplaySessionInput, ReplaySessionOutput } from './tools/attribution.schema.ts';

export const ListAssetsInput = z.object({
  domain: AssetDomain.optional(),
  governance: GovernanceState.optional(),
  limit: Limit,
  cursor: Cursor,
});
export const ListAssetsOutput = z.object({ assets: z.array(Asset), nextCursor: z.string().nullable() });

export const AddInlineRuleInput = z.object({
  name: z.string().min(1).max(200),
  action: RuleAction,
  match: RuleMatch,
  reason: z.string().max(2000).default(''),
});
export const RuleOutput = z.object({ rule: Rule });

export const DisableRuleInput = z.object({
  ruleId: z.string().min(1).max(64),
  reason: z.string().min(1).max(2000),
});

export const BlockFromFindingInput = z.object({ findingId: z.string().min(1) });

export const QuarantineNamespaceInput = z.object({
  namespace: z.string().min(1).max(253),
  reason: z.string().min(1).max(2000),
});
export const QuarantineOutput = z.object({ quarantine: Quarantine });

export const ProposeActionInput = z.object({
  tool: ProposableTool,
  args: z.record(z.string(), z.unknown()),
  title: z.string().min(1).max(300),
  rationale: z.string().min(1).max(4000),
  findingId: z.string().optional(),
});
export const ProposalOutput = z.object({ proposal: Proposal });

export const ApproveActionInput = z.object({
  proposalId: z.string().min(1),
  /** the hash of the arguments the human was shown; a changed argument needs a new approval */
  argsHash: z.string().min(1),
});
export const ApproveActionOutput = z.object({ proposal: Proposal, result: z.record(z.string(), z.unknown()) });

export const RejectActionInput = z.object({ proposalId: z.string().min(1), reason: z.string().max(2000).default('') });

export const ListProposalsInput = z.object({ status: Proposal.shape.status.optional() });
export const ListProposalsOutput = z.object({ proposals: z.array(Proposal) });

export const ListRulesInput = z.object({ includeDisabled: z.boolean().default(false) });
export const ListRulesOutput = z.object({ rules: z.array(Rule) });

export const BriefingSummaryInput = z.object({});
export const BriefingSummaryOutput = z.object({
  counts: z.object({
    assets: z.number().int(),
    sessions: z.number().int(),
    calls: z.number().int(),
    openFindings: z.number().int(),
    enforcementActions: z.number().int(),
    evidencePacks: z.number().int(),
    activeRules: z.number().int(),
    pendingProposals: z.number().int(),
  }),
  findingsByCategory: z.record(FindingCategory, z.number().int()),
  /** open findings, most severe first, each with the block its row offers */
  needsDecision: z.array(z.object({ finding: Finding, suggestedAction: SuggestedAction.nullable() })),
});

export const GenerateCompliancePackInput = z.object({ from: IsoTime, to: IsoTime });
export const CompliancePack = z.object({
  id: z.string(),
  generatedAt: IsoTime,
  generatedBy: z.string(),
  range: z.object({ from: IsoTime, to: IsoTime }),
  calls: z.object({ total: z.number().int(), byProvider: z.record(z.string(), z.number().int()), blocked: z.number().int() }),
  piiFlows: z.array(PiiFlow),
  rules: z.array(Rule),
  decisions: z.array(EnforcementDecision),
  quarantines: z.array(Quarantine),
  audit: z.array(AuditRecord),
  /** sha256 over the canonical JSON of everything above */
  digest: z.string(),
});
export const GenerateCompliancePackOutput = z.object({ pack: CompliancePack });

/** name → contract, for every tool this version serves. */
export const ToolContracts = {
  briefing_summary: { input: BriefingSummaryInput, output: BriefingSummaryOutput },
  list_findings: { input: ListFindingsInput, output: ListFindingsOutput },
  get_finding: { input: GetFindingInput, output: GetFindingOutput },
  list_assets: { input: ListAssetsInput, output: ListAssetsOutput },
  list_rules: { input: ListRulesInput, output: ListRulesOutput },
  list_proposals: { input: ListProposalsInput, output: ListProposalsOutput },
  add_inline_rule: { input: AddInlineRuleInput, output: RuleOutput },
  disable_rule: { input: DisableRuleInput, output: RuleOutput },
  block_from_finding: { input: BlockFromFindingInput, output: RuleOutput },
  quarantine_namespace: { input: QuarantineNamespaceInput, output: QuarantineOutput },
  propose_action: { input: ProposeActionInput, output: ProposalOutput },
  approve_action: { input: ApproveActionInput, output: ApproveActionOutput },
  reject_action: { input: RejectActionInput, output: ProposalOutput },
  generate_compliance_pack: { input: GenerateCompliancePackInput, output: GenerateCompliancePackOutput },
  ...findingsToolContracts,
  ...attributionToolContracts,
  ...securityToolContracts,
  ...kernelToolContracts,
  ...knowledgeToolContracts,
} as const;
export type ToolName = keyof typeof ToolContracts;
export type ToolInput<N extends ToolName> = z.input<(typeof ToolContracts)[N]['input']>;
export type ToolOutput<N extends ToolName> = z.infer<(typeof ToolContracts)[N]['output']>;
/** A tool's input after parsing, defaults applied: what handlers and services receive. */
export type ToolArgs<N extends ToolName> = z.infer<(typeof ToolContracts)[N]['input']>;
