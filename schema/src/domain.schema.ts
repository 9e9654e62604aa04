import { z } from 'zod';
import {
  AssetDomain, FindingCategory, FindingStatus, GovernanceState, PiiType, Role, RuleAction, Severity,
} from './enums.ts';
import { ChatMessage, Detection, ToolUse, Usage } from './observation.schema.ts';

const IsoTime = z.iso.datetime({ offset: true });

export const Principal = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  kind: z.enum(['human', 'agent', 'scanner']),
  role: Role,
});
export type Principal = z.infer<typeof Principal>;

export const GovernanceTransition = z.object({
  from: GovernanceState.nullable(),
  to: GovernanceState,
  by: z.string(),
  at: IsoTime,
  reason: z.string(),
});
export type GovernanceTransition = z.infer<typeof GovernanceTransition>;

/** Anything Higgs observes: a workload, a provider endpoint, a model, an MCP server, a data source. */
export const Asset = z.object({
  id: z.string(),
  domain: AssetDomain,
  /** workload | provider | model | mcp_server | mcp_tool | data_source | inference_endpoint */
  kind: z.string(),
  name: z.string(),
  namespace: z.string().nullable(),
  app: z.string().nullable(),
  governance: GovernanceState,
  firstSeen: IsoTime,
  lastSeen: IsoTime,
  callCount: z.number().int().nonnegative(),
  attributes: z.record(z.string(), z.string()),
});
export type Asset = z.infer<typeof Asset>;

/** What a finding points at: ids to follow and hashes, never raw values. */
export const FindingEvidence = z.object({
  callIds: z.array(z.string()),
  sessionIds: z.array(z.string()),
  users: z.array(z.string()),
  valueHashes: z.array(z.string()),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  host: z.string().nullable(),
  namespace: z.string().nullable(),
  app: z.string().nullable(),
  piiType: PiiType.nullable(),
  maxInjectionScore: z.number().nullable(),
  /** Added in issue 5 (optional: older findings have none): network flows behind a finding seen only at the network layer. */
  flowIds: z.array(z.string()).optional(),
  /** Added in issue 5, optional likewise: the advisory behind a CVE finding. */
  cve: z.object({ id: z.string(), cvss: z.number().min(0).max(10).nullable(), component: z.string(), summary: z.string() }).optional(),
});
export type FindingEvidence = z.infer<typeof FindingEvidence>;

export const Finding = z.object({
  id: z.string(),
  category: FindingCategory,
  severity: Severity,
  status: FindingStatus,
  title: z.string(),
  /** the asset the finding is on (the calling workload for traffic findings) */
  assetId: z.string(),
  /** the detection rule; with assetId it is the de-duplication key */
  detector: z.string(),
  count: z.number().int().positive(),
  firstSeen: IsoTime,
  lastSeen: IsoTime,
  evidence: FindingEvidence,
  /**
   * Added in issue 5 (optional: findings stored before it have none). The last status change a
   * person made, with their reason; a recurrence that reopens a resolved finding keeps it.
   */
  statusNote: z.object({ by: z.string(), at: IsoTime, reason: z.string() }).nullable().optional(),
});
export type Finding = z.infer<typeof Finding>;

/** Conditions ANDed together; a list matches when any of its items does. */
export const RuleMatch = z.object({
  piiTypes: z.array(PiiType).min(1).optional(),
  injectionScoreGte: z.number().min(0).max(100).optional(),
  providers: z.array(z.string().min(1)).min(1).optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
  hosts: z.array(z.string().min(1)).min(1).optional(),
  namespaces: z.array(z.string().min(1)).min(1).optional(),
  apps: z.array(z.string().min(1)).min(1).optional(),
  users: z.array(z.string().min(1)).min(1).optional(),
  /** case-insensitive literals searched in the prompt text */
  promptContains: z.array(z.string().min(1)).min(1).optional(),
  /** a regular expression over the prompt text (RE2 syntax) */
  promptPattern: z.string().min(1).max(1024).optional(),
  toolNames: z.array(z.string().min(1)).min(1).optional(),
  // Added in issue 3, optional so policies written before it still parse. The response
  // conditions make a rule a response rule: its other conditions are decided on the request,
  // these on the provider's answer (streams hold back a bounded window, see scanner/README.md).
  /** case-insensitive literals searched in the response text */
  responseContains: z.array(z.string().min(1)).min(1).optional(),
  /** a regular expression over the response text (RE2 syntax) */
  responsePattern: z.string().min(1).max(1024).optional(),
  /** a regular expression over the inputs of the tool calls in the request (RE2 syntax) */
  toolInputPattern: z.string().min(1).max(1024).optional(),
  /** a regular expression over the tool results in the request (RE2 syntax) */
  toolOutputPattern: z.string().min(1).max(1024).optional(),
}).refine((m) => Object.values(m).some((v) => v !== undefined), { message: 'a rule must match on at least one field' });
export type RuleMatch = z.infer<typeof RuleMatch>;

export const Rule = z.object({
  id: z.string(),
  name: z.string().min(1).max(200),
  action: RuleAction,
  match: RuleMatch,
  enabled: z.boolean(),
  createdBy: z.string(),
  createdAt: IsoTime,
  sourceFindingId: z.string().nullable(),
});
export type Rule = z.infer<typeof Rule>;

export const Quarantine = z.object({
  id: z.string(),
  namespace: z.string(),
  reason: z.string(),
  createdBy: z.string(),
  createdAt: IsoTime,
  active: z.boolean(),
  releasedAt: IsoTime.nullable(),
  /** recorded in the control plane; kernel enforcement is reported by the scanner */
  enforcement: z.enum(['recorded', 'enforced', 'unavailable']),
});
export type Quarantine = z.infer<typeof Quarantine>;

export const Session = z.object({
  id: z.string(),
  traceId: z.string().nullable(),
  userId: z.string().nullable(),
  namespace: z.string().nullable(),
  app: z.string().nullable(),
  firstSeen: IsoTime,
  lastSeen: IsoTime,
  callCount: z.number().int().nonnegative(),
  verdict: z.enum(['allow', 'block']),
});
export type Session = z.infer<typeof Session>;

/** One call of a replayed session, with the redactions the scanner applied. */
export const SessionExchange = z.object({
  callId: z.string(),
  ts: IsoTime,
  provider: z.string(),
  model: z.string().nullable(),
  endpoint: z.string(),
  system: z.string().nullable(),
  messages: z.array(ChatMessage),
  response: z.string().nullable(),
  toolCalls: z.array(ToolUse),
  usage: Usage.nullable(),
  status: z.number(),
  verdict: z.string(),
  ruleIds: z.array(z.string()),
  detections: z.array(Detection),
  injectionScore: z.number(),
});
export type SessionExchange = z.infer<typeof SessionExchange>;

/** The destructive operations a proposal can carry. */
export const ProposableTool = z.enum([
  'add_inline_rule', 'block_from_finding', 'quarantine_namespace',
  'disable_rule', 'release_quarantine', 'kill_session', 'set_governance_state', 'update_finding_status',
]);
export type ProposableTool = z.infer<typeof ProposableTool>;

export const Proposal = z.object({
  id: z.string(),
  tool: ProposableTool,
  args: z.record(z.string(), z.unknown()),
  /** sha256 of the canonical JSON of tool + args: an approval is bound to exactly these */
  argsHash: z.string(),
  title: z.string(),
  rationale: z.string(),
  findingId: z.string().nullable(),
  status: z.enum(['pending', 'approved', 'rejected', 'expired', 'failed']),
  proposedBy: z.string(),
  createdAt: IsoTime,
  expiresAt: IsoTime,
  decidedBy: z.string().nullable(),
  decidedAt: IsoTime.nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
});
export type Proposal = z.infer<typeof Proposal>;

export const AuditRecord = z.object({
  id: z.string(),
  seq: z.number().int().positive(),
  ts: IsoTime,
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/** A compliance obligation a finding touches, cited from the tenant's control map. */
export const Obligation = z.object({
  framework: z.string(),
  control: z.string(),
  why: z.string(),
});
export type Obligation = z.infer<typeof Obligation>;

/** PII of one type leaving one workload for one provider/model: the row of Data Tracks and compliance packs. */
export const PiiFlow = z.object({
  piiType: z.string(),
  namespace: z.string().nullable(),
  app: z.string().nullable(),
  provider: z.string(),
  model: z.string().nullable(),
  count: z.number().int(),
  firstSeen: IsoTime,
  lastSeen: IsoTime,
});
export type PiiFlow = z.infer<typeof PiiFlow>;
