import { z } from 'zod';

/** The seven asset domains every observed thing belongs to. */
export const AssetDomain = z.enum(['agents', 'api', 'data', 'llm', 'mcp', 'runtime', 'supply']);
export type AssetDomain = z.infer<typeof AssetDomain>;

/** The seven risk categories a finding carries. */
export const FindingCategory = z.enum(['access', 'authentication', 'compliance', 'cve', 'injection', 'pii', 'shadow']);
export type FindingCategory = z.infer<typeof FindingCategory>;

export const Severity = z.enum(['critical', 'high', 'medium', 'low']);
export type Severity = z.infer<typeof Severity>;

export const FindingStatus = z.enum(['open', 'acknowledged', 'resolved', 'suppressed']);
export type FindingStatus = z.infer<typeof FindingStatus>;

/** sanctioned: in the baseline; tolerated: discovered, not yet approved; unsanctioned: shadow AI. */
export const GovernanceState = z.enum(['sanctioned', 'tolerated', 'unsanctioned']);
export type GovernanceState = z.infer<typeof GovernanceState>;

/** Human roles plus the two machine principals. */
export const Role = z.enum(['admin', 'security', 'platform', 'compliance', 'viewer', 'scanner', 'agent']);
export type Role = z.infer<typeof Role>;

export const RuleAction = z.enum(['block', 'redact', 'alert']);
export type RuleAction = z.infer<typeof RuleAction>;

/** What the scanner did with a call: allow, or the action of the rule that fired. */
export const Verdict = z.enum(['allow', 'block', 'redact', 'alert']);
export type Verdict = z.infer<typeof Verdict>;

export const Provider = z.enum([
  'openai', 'azure_openai', 'anthropic', 'bedrock', 'gemini', 'cohere', 'mistral', 'together', 'openai_compatible', 'mcp', 'unknown',
]);
export type Provider = z.infer<typeof Provider>;

/** Typed PII and secret kinds the detectors emit; a finding is raised per type. */
export const PiiType = z.enum([
  'email', 'phone', 'ssn', 'credit_card', 'iban', 'ip_address', 'person', 'address', 'passport', 'national_id', 'secret',
]);
export type PiiType = z.infer<typeof PiiType>;

/** The workload's opt-in: observe only, or observe and enforce. */
export const WorkloadMode = z.enum(['observe', 'enforce']);
export type WorkloadMode = z.infer<typeof WorkloadMode>;
