/**
 * TEST FIXTURE — an in-memory `HiggsServices` for this package's tests, so the
 * registry and MCP surfaces can be exercised before the tenant's real services
 * exist. Not exported from the package. Data is per tenant, like the real thing.
 */
import { randomUUID } from 'node:crypto';
import type {
  AuditRecord, Finding, Principal, Proposal, Quarantine, Role, Rule, ToolArgs, ToolOutput,
} from '@higgs/schema';
import { ToolError } from './errors.ts';
import type { HiggsServices, NewProposal, ProposalCompletion, ProposalDecision, ServiceContext } from './services.ts';

export interface MemoryServices extends HiggsServices {
  readonly tenantId: string;
  readonly rules: Rule[];
  readonly quarantines: Quarantine[];
  readonly proposals: Proposal[];
  readonly auditLog: Array<{ actor: string; action: string; target: string; details: Record<string, unknown> }>;
  readonly findings: Finding[];
  /** make the next call to this service method throw this error */
  failNext(method: keyof HiggsServices, error: unknown): void;
}

export function makePrincipal(tenantId: string, role: Role, overrides: Partial<Principal> = {}): Principal {
  const kind = role === 'agent' ? 'agent' : role === 'scanner' ? 'scanner' : 'human';
  return { id: `${role}-${randomUUID()}`, tenantId, name: `${role} user`, kind, role, ...overrides };
}

const T0 = '2025-01-01T00:00:00.000Z';

export function sampleFinding(overrides: Partial<Finding> = {}): Finding {
  return {
    id: `fnd-${randomUUID()}`,
    category: 'pii',
    severity: 'high',
    status: 'open',
    title: 'Email addresses sent to OpenAI from payments/checkout',
    assetId: 'asset-checkout',
    detector: 'pii.email',
    count: 3,
    firstSeen: T0,
    lastSeen: T0,
    evidence: {
      callIds: ['call-1'], sessionIds: ['sess-1'], users: ['alice'], valueHashes: ['a1b2c3d4e5f60718'],
      provider: 'openai', model: 'gpt-4o', host: 'api.openai.com', namespace: 'payments', app: 'checkout',
      piiType: 'email', maxInjectionScore: null,
    },
    ...overrides,
  };
}

export function createMemoryServices(tenantId: string = `tenant-${randomUUID()}`): MemoryServices {
  const findings = [sampleFinding(), sampleFinding({ severity: 'critical', category: 'injection', detector: 'injection.score' })];
  const rules: Rule[] = [];
  const quarantines: Quarantine[] = [];
  const proposals: Proposal[] = [];
  const auditLog: MemoryServices['auditLog'] = [];
  const failures = new Map<keyof HiggsServices, unknown>();

  function scoped(ctx: ServiceContext, method: keyof HiggsServices): void {
    if (ctx.principal.tenantId !== tenantId) throw new ToolError('NOT_FOUND', 'no such tenant data');
    if (failures.has(method)) {
      const error = failures.get(method);
      failures.delete(method);
      throw error;
    }
  }
  const now = () => new Date().toISOString();
  const record = (ctx: ServiceContext, action: string, target: string, details: Record<string, unknown>) => {
    auditLog.push({ actor: ctx.principal.id, action, target, details });
  };
  const newRule = (ctx: ServiceContext, r: Pick<Rule, 'name' | 'action' | 'match' | 'sourceFindingId'>): Rule => {
    const rule: Rule = { id: `rule-${randomUUID()}`, enabled: true, createdBy: ctx.principal.id, createdAt: now(), ...r };
    rules.push(rule);
    record(ctx, 'rule.created', rule.id, { name: rule.name });
    return rule;
  };

  return {
    tenantId, rules, quarantines, proposals, auditLog, findings,
    failNext: (method, error) => failures.set(method, error),

    async briefingSummary(ctx) {
      scoped(ctx, 'briefingSummary');
      const open = findings.filter((f) => f.status === 'open');
      const byCategory = Object.fromEntries(
        (['access', 'authentication', 'compliance', 'cve', 'injection', 'pii', 'shadow'] as const)
          .map((c) => [c, open.filter((f) => f.category === c).length]),
      ) as ToolOutput<'briefing_summary'>['findingsByCategory'];
      return {
        counts: {
          assets: 1, sessions: 1, calls: 3, openFindings: open.length, enforcementActions: 0, evidencePacks: 0,
          activeRules: rules.filter((r) => r.enabled).length,
          pendingProposals: proposals.filter((p) => p.status === 'pending').length,
        },
        findingsByCategory: byCategory,
        needsDecision: open.map((finding) => ({ finding, suggestedAction: null })),
      };
    },
    async listFindings(ctx, input: ToolArgs<'list_findings'>) {
      scoped(ctx, 'listFindings');
      const matching = findings.filter((f) => (!input.severity || f.severity === input.severity)
        && (!input.category || f.category === input.category));
      return { findings: matching.slice(0, input.limit), nextCursor: null };
    },
    async getFinding(ctx, input) {
      scoped(ctx, 'getFinding');
      const finding = findings.find((f) => f.id === input.id);
      if (!finding) throw new ToolError('NOT_FOUND', `no finding ${input.id}`);
      return {
        finding, asset: null, obligations: [], remediation: 'Stop sending customer emails to the provider.',
        suggestedAction: { label: 'Block PII egress', tool: 'block_from_finding', args: { findingId: finding.id }, effect: 'blocks email in prompts' },
      };
    },
    async replaySession(ctx, input) {
      scoped(ctx, 'replaySession');
      throw new ToolError('NOT_FOUND', `no session ${input.sessionId}`);
    },
    async listAssets(ctx) {
      scoped(ctx, 'listAssets');
      return { assets: [], nextCursor: null };
    },
    async listRules(ctx, input) {
      scoped(ctx, 'listRules');
      return { rules: rules.filter((r) => input.includeDisabled || r.enabled) };
    },
    async listProposals(ctx, input) {
      scoped(ctx, 'listProposals');
      return { proposals: proposals.filter((p) => !input.status || p.status === input.status) };
    },
    async addInlineRule(ctx, input) {
      scoped(ctx, 'addInlineRule');
      return { rule: newRule(ctx, { name: input.name, action: input.action, match: input.match, sourceFindingId: null }) };
    },
    async blockFromFinding(ctx, input) {
      scoped(ctx, 'blockFromFinding');
      const finding = findings.find((f) => f.id === input.findingId);
      if (!finding) throw new ToolError('NOT_FOUND', `no finding ${input.findingId}`);
      const match = finding.evidence.piiType ? { piiTypes: [finding.evidence.piiType] } : { injectionScoreGte: 70 };
      return { rule: newRule(ctx, { name: `Block: ${finding.title}`, action: 'block', match, sourceFindingId: finding.id }) };
    },
    async quarantineNamespace(ctx, input) {
      scoped(ctx, 'quarantineNamespace');
      const quarantine: Quarantine = {
        id: `q-${randomUUID()}`, namespace: input.namespace, reason: input.reason, createdBy: ctx.principal.id,
        createdAt: now(), active: true, releasedAt: null, enforcement: 'recorded',
      };
      quarantines.push(quarantine);
      record(ctx, 'namespace.quarantined', input.namespace, { reason: input.reason });
      return { quarantine };
    },
    async generateCompliancePack(ctx, input) {
      scoped(ctx, 'generateCompliancePack');
      const audit: AuditRecord[] = [];
      return {
        pack: {
          id: `pack-${randomUUID()}`, generatedAt: now(), generatedBy: ctx.principal.id, range: input,
          calls: { total: 0, byProvider: {}, blocked: 0 }, piiFlows: [], rules, decisions: [], quarantines, audit,
          digest: '0'.repeat(64),
        },
      };
    },
    async createProposal(ctx, proposal: NewProposal) {
      scoped(ctx, 'createProposal');
      const stored: Proposal = {
        id: `prop-${randomUUID()}`, ...proposal, status: 'pending', proposedBy: ctx.principal.id, createdAt: now(),
        decidedBy: null, decidedAt: null, result: null,
      };
      proposals.push(stored);
      record(ctx, 'proposal.created', stored.id, { tool: stored.tool, argsHash: stored.argsHash });
      return structuredClone(stored);
    },
    async getProposal(ctx, id) {
      scoped(ctx, 'getProposal');
      const found = proposals.find((p) => p.id === id);
      return found ? structuredClone(found) : null;
    },
    async decideProposal(ctx, decision: ProposalDecision) {
      scoped(ctx, 'decideProposal');
      const found = proposals.find((p) => p.id === decision.id);
      if (!found || found.status !== 'pending') return null;
      Object.assign(found, { status: decision.status, result: decision.result, decidedBy: ctx.principal.id, decidedAt: now() });
      record(ctx, `proposal_${decision.status}`, found.id, { tool: found.tool, argsHash: found.argsHash });
      return structuredClone(found);
    },
    async completeProposal(ctx, completion: ProposalCompletion) {
      scoped(ctx, 'completeProposal');
      const found = proposals.find((p) => p.id === completion.id);
      if (!found || found.status !== 'approved' || found.result !== null) return null;
      Object.assign(found, { status: completion.status, result: completion.result });
      if (completion.status === 'failed') record(ctx, 'proposal_failed', found.id, { tool: found.tool, argsHash: found.argsHash, ...completion.result });
      return structuredClone(found);
    },
    async audit(ctx, entry) {
      scoped(ctx, 'audit');
      record(ctx, entry.action, entry.target, entry.details);
    },
    async getAsset(ctx, input) {
      scoped(ctx, 'getAsset');
      throw new ToolError('NOT_FOUND', `no asset ${input.id}`);
    },
    async explainRiskScore(ctx, input) {
      scoped(ctx, 'explainRiskScore');
      const id = input.assetId ?? input.app ?? '';
      return {
        risk: {
          subject: { type: input.assetId ? 'asset' : 'app', id, name: id }, score: 0, securityScore: 100, level: 'none', total: 0,
          computedAt: now(), factors: [], findingsCounted: 0, formula: 'in-memory fixture: no findings are scored',
        },
      };
    },
    async topology(ctx) {
      scoped(ctx, 'topology');
      return { nodes: [], edges: [], truncated: false };
    },
    async setGovernanceState(ctx, input) {
      scoped(ctx, 'setGovernanceState');
      throw new ToolError('NOT_FOUND', `no asset ${input.assetId}`);
    },
    async updateFindingStatus(ctx, input) {
      scoped(ctx, 'updateFindingStatus');
      const finding = findings.find((f) => f.id === input.findingId);
      if (!finding) throw new ToolError('NOT_FOUND', `no finding ${input.findingId}`);
      record(ctx, 'update_finding_status', finding.id, { from: finding.status, to: input.status, reason: input.reason });
      Object.assign(finding, { status: input.status, statusNote: { by: ctx.principal.id, at: now(), reason: input.reason } });
      return { finding: structuredClone(finding) };
    },
    async listAuditRecords(ctx, input) {
      scoped(ctx, 'listAuditRecords');
      const records: AuditRecord[] = auditLog.map((r, i) => ({
        ...r, id: `aud-${i + 1}`, seq: i + 1, ts: T0, prevHash: '0'.repeat(64), hash: '0'.repeat(64),
      })).filter((r) => (!input.actor || r.actor === input.actor) && (!input.action || r.action === input.action)
        && (!input.target || r.target === input.target)).reverse();
      return { records: records.slice(0, input.limit), nextCursor: null };
    },
    async verifyAuditChain(ctx) {
      scoped(ctx, 'verifyAuditChain');
      return { ok: true, records: auditLog.length, headHash: '0'.repeat(64), firstBreak: null };
    },
    async listPrincipals(ctx) {
      scoped(ctx, 'listPrincipals');
      return { principals: [] };
    },
    async createPrincipal(ctx, input) {
      scoped(ctx, 'createPrincipal');
      record(ctx, 'principal_created', input.id, { role: input.role });
      return { principal: makePrincipal(tenantId, input.role, { id: input.id, name: input.name }) };
    },
    async issueToken(ctx, input) {
      scoped(ctx, 'issueToken');
      const info = {
        id: `tok-${randomUUID()}`, principalId: input.principalId, label: input.label, createdAt: now(), createdBy: ctx.principal.id,
        revokedAt: null, revokedBy: null,
      };
      record(ctx, 'token_issued', info.id, { principalId: input.principalId });
      return { token: `hgs_${randomUUID()}`, info };
    },
    async revokeToken(ctx, input) {
      scoped(ctx, 'revokeToken');
      throw new ToolError('NOT_FOUND', `no token ${input.tokenId}`);
    },
    async listSessions(ctx) {
      scoped(ctx, 'listSessions');
      return { sessions: [], nextCursor: null };
    },
    async userTrack(ctx, input) {
      scoped(ctx, 'userTrack');
      return { userId: input.userId, events: [], nextCursor: null };
    },
    async dataTracks(ctx, input) {
      scoped(ctx, 'dataTracks');
      return { range: { from: input.from ?? T0, to: input.to ?? now() }, flows: [], totals: {} };
    },
    async costReport(ctx, input) {
      scoped(ctx, 'costReport');
      return {
        by: input.by, range: { from: input.from ?? T0, to: input.to ?? now() }, currency: 'USD' as const, rows: [], days: [],
        total: { calls: 0, costUsd: 0, unpricedCalls: 0 }, prices: { asOf: '2025-06-01', source: 'in-memory fixture', overridden: 0 },
      };
    },
    async killSession(ctx, input) {
      scoped(ctx, 'killSession');
      record(ctx, 'session_killed', input.sessionId, { reason: input.reason });
      return { kill: { sessionId: input.sessionId, reason: input.reason, killedBy: ctx.principal.id, killedAt: now(), known: false } };
    },
    async releaseQuarantine(ctx, input) {
      scoped(ctx, 'releaseQuarantine');
      const found = quarantines.find((q) => q.active && (q.namespace === input.namespace || q.id === input.quarantineId));
      if (!found) throw new ToolError('NOT_FOUND', `no active quarantine for ${input.namespace ?? input.quarantineId}`);
      Object.assign(found, { active: false, releasedAt: now() });
      record(ctx, 'namespace.released', found.namespace, { reason: input.reason });
      return { quarantine: { ...structuredClone(found), releasedBy: ctx.principal.id, releaseReason: input.reason } };
    },
    async listQuarantines(ctx) {
      scoped(ctx, 'listQuarantines');
      return { quarantines: quarantines.map((q) => ({ ...structuredClone(q), releasedBy: null, releaseReason: null })) };
    },
    async disableRule(ctx, input) {
      scoped(ctx, 'disableRule');
      const rule = rules.find((r) => r.id === input.ruleId);
      if (!rule) throw new ToolError('NOT_FOUND', `rule ${input.ruleId} not found`);
      if (rule.enabled) record(ctx, 'disable_rule', rule.id, { reason: input.reason });
      rule.enabled = false;
      return { rule: structuredClone(rule) };
    },
    async searchKnowledge(ctx) {
      scoped(ctx, 'searchKnowledge');
      return { chunks: [], embedder: 'none', index: 'in-process' };
    },
  };
}
