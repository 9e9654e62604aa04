export { canonicalJson } from './canonical-json.ts';
export {
  AssetDomain, FindingCategory, FindingStatus, GovernanceState, PiiType, Provider, Role, RuleAction, Severity, Verdict, WorkloadMode,
} from './enums.ts';
export {
  Attribution, ChatMessage, Detection, EnforcementDecision, EventId, KernelEnforcement, LlmCall, NetworkFlow, ToolCall, ToolUse, Usage,
  WorkloadRef,
} from './observation.schema.ts';
export {
  Asset, AuditRecord, Finding, FindingEvidence, GovernanceTransition, Obligation, PiiFlow, Principal, ProposableTool, Proposal, Quarantine,
  Rule, RuleMatch, Session, SessionExchange,
} from './domain.schema.ts';
export { ApiError, IngestBatch, IngestEvent, IngestResult, KernelOrder, ScannerPolicy } from './wire.schema.ts';
export {
  AddInlineRuleInput, ApproveActionInput, ApproveActionOutput, BlockFromFindingInput, BriefingSummaryInput, BriefingSummaryOutput,
  CompliancePack, DisableRuleInput, GenerateCompliancePackInput, GenerateCompliancePackOutput, GetFindingInput, GetFindingOutput, ListAssetsInput,
  ListAssetsOutput, ListFindingsInput, ListFindingsOutput, ListProposalsInput, ListProposalsOutput, ListRulesInput, ListRulesOutput,
  ProposalOutput, ProposeActionInput, QuarantineNamespaceInput, QuarantineOutput, RejectActionInput, ReplaySessionInput,
  ReplaySessionOutput, RuleOutput, SuggestedAction, ToolContracts,
} from './tools.schema.ts';
export type { ToolArgs, ToolInput, ToolName, ToolOutput } from './tools.schema.ts';
export {
  AttributedSession, CostDimension, CostReportInput, CostReportOutput, CostRow, DataFlow, DataTracksInput, DataTracksOutput,
  ListSessionsInput, ListSessionsOutput, ReplayStep, SessionToolCall, TrackEvent, UserSource, UserTrackInput, UserTrackOutput,
} from './tools/attribution.schema.ts';
export {
  ExplainRiskScoreInput, ExplainRiskScoreOutput, GetAssetInput, GetAssetOutput, RiskFactor, RiskLevel, RiskScore,
  SetGovernanceStateInput, SetGovernanceStateOutput, TopologyEdge, TopologyInput, TopologyNode, TopologyOutput,
  UpdateFindingStatusInput, UpdateFindingStatusOutput,
} from './tools/findings.schema.ts';
export { AgentRef, ChatEvent, ChatRequest } from './agent.schema.ts';
export {
  ApiTokenInfo, AuditChainBreak, AuditLogInput, AuditLogOutput, CreatePrincipalInput, CreatePrincipalOutput, IssueTokenInput,
  IssueTokenOutput, ListPrincipalsInput, ListPrincipalsOutput, PrincipalWithTokens, RevokeTokenInput, RevokeTokenOutput,
  VerifyAuditChainInput, VerifyAuditChainOutput,
} from './tools/security.schema.ts';
export {
  KillSessionInput, KillSessionOutput, ListQuarantinesInput, ListQuarantinesOutput, QuarantineRecord, ReleaseQuarantineInput,
  ReleaseQuarantineOutput, SessionKill,
} from './tools/kernel.schema.ts';
export {
  KnowledgeChunk, KnowledgeTopic, SearchKnowledgeInput, SearchKnowledgeOutput,
} from './tools/knowledge.schema.ts';
