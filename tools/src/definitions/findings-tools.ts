import { defineTool, READ_ANNOTATIONS } from '../define-tool.ts';
import type { ToolDefinition } from '../types.ts';

const CHANGES_STATE = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false } as const;

/** The findings tools: assets, their governance and risk, the topology, and the finding lifecycle. */
export const findingsTools: readonly ToolDefinition[] = [
  defineTool({
    name: 'get_asset',
    title: 'Get asset',
    description:
      'Look up one AI asset by id (a workload, provider endpoint, model, MCP server or tool, data source, inference '
      + 'endpoint): its domain, governance state and traffic counts, the findings on it (most severe first), its '
      + 'governance history (who changed the state, when and why) and its risk score with the contributing findings. '
      + 'Use it for "tell me about this asset" or before changing its governance state. Changes nothing.',
    annotations: READ_ANNOTATIONS,
    role: 'viewer',
    handler: (input, ctx) => ctx.services.getAsset(ctx, input),
  }),
  defineTool({
    name: 'explain_risk_score',
    title: 'Explain risk score',
    description:
      'Explain the risk score (0 = no open risk … 100) of one asset (`assetId`) or one application (`app`, with '
      + '`namespace` when the app name is used in several): the score and level, the Security Score (100 − score), '
      + 'every contributing open or acknowledged finding with its severity weight, exposure and recency, and the '
      + 'formula in words. Use it to answer "why is this risky" or "what would lower the score", and cite the factors. '
      + 'Changes nothing.',
    annotations: READ_ANNOTATIONS,
    role: 'viewer',
    handler: (input, ctx) => ctx.services.explainRiskScore(ctx, input),
  }),
  defineTool({
    name: 'topology',
    title: 'Topology',
    description:
      'Who calls what: workloads as nodes with the providers, models, MCP servers and tools they reach, each edge '
      + 'with a call count and first/last seen (`flow` edges were seen only at the network layer — shadow AI when the '
      + 'destination is unsanctioned). Filter by namespace or app of the calling workloads, or by the governance '
      + 'state of the destination. Nodes carry their open-finding count and worst severity. Changes nothing.',
    annotations: READ_ANNOTATIONS,
    role: 'viewer',
    handler: (input, ctx) => ctx.services.topology(ctx, input),
  }),
  defineTool({
    name: 'set_governance_state',
    title: 'Set governance state',
    description:
      'Move an asset to sanctioned (approved into the baseline), tolerated (known, not yet approved) or unsanctioned '
      + '(shadow AI), with the reason. The change is recorded in the asset\'s governance history and the audit trail; '
      + 'later traffic to the asset is judged by the new state (e.g. no more shadow findings once sanctioned). '
      + 'Requires the security role; the agent must use propose_action instead.',
    annotations: CHANGES_STATE,
    role: 'security',
    handler: (input, ctx) => ctx.services.setGovernanceState(ctx, input),
  }),
  defineTool({
    name: 'update_finding_status',
    title: 'Update finding status',
    description:
      'Set a finding to acknowledged (seen, being handled), resolved (fixed — it reopens if it happens again), '
      + 'suppressed (accepted risk or false positive: it keeps counting but leaves the open lists and the risk score) '
      + 'or back to open, with the reason. Audited. Requires the security role; the agent must use propose_action instead.',
    annotations: CHANGES_STATE,
    role: 'security',
    handler: (input, ctx) => ctx.services.updateFindingStatus(ctx, input),
  }),
];
