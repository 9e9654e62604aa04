/**
 * Tool contracts of the findings area, spread into `ToolContracts` (tools.schema.ts):
 * assets and their governance, finding lifecycle, risk scores and the topology.
 * Definitions are in tools/src/definitions/findings-tools.ts, services in
 * tools/src/services/findings.ts.
 */
import { z } from 'zod';
import { Asset, Finding, GovernanceTransition } from '../domain.schema.ts';
import { AssetDomain, FindingCategory, FindingStatus, GovernanceState, Severity } from '../enums.ts';

const IsoTime = z.iso.datetime({ offset: true });

/** One finding's share of a risk score: severity × exposure × recency. */
export const RiskFactor = z.object({
  findingId: z.string(),
  title: z.string(),
  category: FindingCategory,
  severity: Severity,
  status: FindingStatus,
  count: z.number().int().positive(),
  lastSeen: IsoTime,
  /** critical 10, high 5, medium 2, low 1 */
  severityWeight: z.number(),
  /** 1 + log10(occurrences), at most 3 */
  exposure: z.number(),
  /** 0.5^(days since last seen / 7), at least 0.1 */
  recency: z.number(),
  /** severityWeight × exposure × recency */
  contribution: z.number(),
});
export type RiskFactor = z.infer<typeof RiskFactor>;

export const RiskLevel = z.enum(['none', 'low', 'medium', 'high', 'critical']);
export type RiskLevel = z.infer<typeof RiskLevel>;

/** A risk score with everything needed to cite it: the factors, the findings, the formula. */
export const RiskScore = z.object({
  subject: z.object({
    type: z.enum(['asset', 'app']),
    /** the asset id, or `namespace/app` for an application */
    id: z.string(),
    name: z.string(),
  }),
  /** 0 (no open risk) … 100; higher is riskier */
  score: z.number().min(0).max(100),
  /** 100 − score: the product's Security Score, where 100 means no risk */
  securityScore: z.number().min(0).max(100),
  level: RiskLevel,
  /** the sum of the contributions before saturation */
  total: z.number().nonnegative(),
  computedAt: IsoTime,
  /** open and acknowledged findings, largest contribution first (at most 50) */
  factors: z.array(RiskFactor),
  /** findings counted, including those beyond the 50 factors listed */
  findingsCounted: z.number().int().nonnegative(),
  formula: z.string(),
});
export type RiskScore = z.infer<typeof RiskScore>;

export const GetAssetInput = z.object({ id: z.string().min(1) });
export const GetAssetOutput = z.object({
  asset: Asset,
  /** findings on the asset, most severe and most recent first (at most 50) */
  findings: z.array(Finding),
  /** every governance change, oldest first */
  governanceHistory: z.array(GovernanceTransition),
  risk: RiskScore,
});

export const ExplainRiskScoreInput = z.object({
  /** the asset to score */
  assetId: z.string().min(1).optional(),
  /** the application to score: its app name (with `namespace` when the name is used in several namespaces) */
  app: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
}).refine((v) => (v.assetId === undefined) !== (v.app === undefined), { message: 'give exactly one of assetId or app' });
export const ExplainRiskScoreOutput = z.object({ risk: RiskScore });

export const TopologyInput = z.object({
  /** only the workloads of this namespace and what they reach */
  namespace: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  /** include tolerated / sanctioned / unsanctioned nodes only */
  governance: GovernanceState.optional(),
  /** at most this many edges, busiest first */
  limit: z.number().int().min(1).max(2000).default(500),
});
export const TopologyNode = z.object({
  id: z.string(),
  name: z.string(),
  domain: AssetDomain,
  kind: z.string(),
  governance: GovernanceState,
  namespace: z.string().nullable(),
  app: z.string().nullable(),
  callCount: z.number().int().nonnegative(),
  openFindings: z.number().int().nonnegative(),
  /** the most severe open finding on the node, null when none */
  maxSeverity: Severity.nullable(),
});
export const TopologyEdge = z.object({
  from: z.string(),
  to: z.string(),
  /** calls: workload → provider endpoint; model: workload → model; mcp: workload → MCP server; tool: MCP server → tool; flow: network-only */
  kind: z.enum(['calls', 'model', 'mcp', 'tool', 'flow']),
  count: z.number().int().positive(),
  firstSeen: IsoTime,
  lastSeen: IsoTime,
});
export const TopologyOutput = z.object({
  nodes: z.array(TopologyNode),
  edges: z.array(TopologyEdge),
  /** true when more edges matched than `limit` */
  truncated: z.boolean(),
});

export const SetGovernanceStateInput = z.object({
  assetId: z.string().min(1),
  state: GovernanceState,
  reason: z.string().min(1).max(2000),
});
export const SetGovernanceStateOutput = z.object({
  asset: Asset,
  /** null when the asset was already in that state (nothing changed) */
  transition: GovernanceTransition.nullable(),
});

export const UpdateFindingStatusInput = z.object({
  findingId: z.string().min(1),
  status: FindingStatus,
  reason: z.string().min(1).max(2000),
});
export const UpdateFindingStatusOutput = z.object({ finding: Finding });

export const findingsToolContracts = {
  get_asset: { input: GetAssetInput, output: GetAssetOutput },
  explain_risk_score: { input: ExplainRiskScoreInput, output: ExplainRiskScoreOutput },
  topology: { input: TopologyInput, output: TopologyOutput },
  set_governance_state: { input: SetGovernanceStateInput, output: SetGovernanceStateOutput },
  update_finding_status: { input: UpdateFindingStatusInput, output: UpdateFindingStatusOutput },
} as const;
