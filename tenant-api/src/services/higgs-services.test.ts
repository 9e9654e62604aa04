import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BriefingSummaryOutput, GetFindingOutput, GenerateCompliancePackOutput, ListFindingsOutput, Proposal, Rule,
} from '@higgs/schema';
import { ToolError, createRegistry, type HiggsServices, type ServiceContext } from '@higgs/tools';
import { canonicalJson } from '@higgs/schema';
import { sha256Hex } from '../sha256.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import { createPolicyNotifier } from '../policy/policy-notifier.ts';
import { listAudit, verifyAuditChain } from '../stores/audit-repository.ts';
import { getPolicyVersion } from '../stores/policy-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { batchOf, createTestTenant, llmCall, openTestDb } from '../testing/fixtures.ts';
import { createHiggsServices } from './higgs-services.ts';

let db: SqlClient;
let services: HiggsServices;
beforeAll(async () => {
  db = await openTestDb();
  services = createHiggsServices({ db, notifier: createPolicyNotifier() });
}, 60_000);
afterAll(async () => { await db?.close(); });

const sanctioned = { namespaces: ['payments'], providers: ['openai'] };
const det = (type: 'ssn' | 'email' | 'credit_card', hash: string) => ({ type, field: 'prompt' as const, hash });

async function tenantWithTraffic() {
  const t = await createTestTenant(db, sanctioned);
  await ingestBatch(db, {
    tenantId: t.tenantId,
    batch: batchOf(
      llmCall({ ts: '2026-11-20T10:00:00.000Z', detections: [det('ssn', 'aaaa1111')] }),
      llmCall({ ts: '2026-11-20T10:01:00.000Z', detections: [det('email', 'bbbb2222')], verdict: 'block', status: 403 }),
      llmCall({ ts: '2026-11-20T10:02:00.000Z', detections: [det('credit_card', 'cccc3333')], provider: 'anthropic', host: 'api.anthropic.com', model: 'claude-x' }),
      llmCall({ ts: '2026-11-20T10:03:00.000Z', injectionScore: 90, source: { ip: '10.1.1.1', namespace: 'marketing', app: 'copybot', mode: null } }),
    ),
  });
  const ctx: ServiceContext = { principal: t.admin };
  return { ...t, ctx };
}

async function expectToolError(promise: Promise<unknown>, code: string) {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ToolError);
  expect((err as ToolError).code).toBe(code);
}

describe('HiggsServices over PGlite', () => {
  it('summarises the briefing with the most severe open findings first', async () => {
    const { ctx } = await tenantWithTraffic();
    const summary = BriefingSummaryOutput.parse(await services.briefingSummary(ctx));
    expect(summary.counts).toMatchObject({ calls: 4, sessions: 1, activeRules: 0, pendingProposals: 0, evidencePacks: 0 });
    expect(summary.counts.assets).toBe(6); // 2 workloads, 2 providers, 2 models
    // the card number sent to anthropic (outside the baseline) is also a compliance gap on that provider
    expect(summary.findingsByCategory).toMatchObject({ pii: 3, injection: 1, shadow: 2, access: 0, compliance: 1 });
    expect(summary.counts.openFindings).toBe(7);
    const severities = summary.needsDecision.map((n) => n.finding.severity);
    expect(severities).toEqual([...severities].sort((a, b) => ['critical', 'high', 'medium', 'low'].indexOf(a) - ['critical', 'high', 'medium', 'low'].indexOf(b)));
    const ssn = summary.needsDecision.find((n) => n.finding.detector === 'pii.ssn');
    expect(ssn?.suggestedAction).toMatchObject({ label: 'Block PII egress', tool: 'block_from_finding', args: { findingId: ssn?.finding.id } });
    const shadow = summary.needsDecision.find((n) => n.finding.detector === 'shadow.namespace');
    expect(shadow?.suggestedAction).toMatchObject({ label: 'Quarantine namespace', tool: 'quarantine_namespace', args: { namespace: 'marketing' } });
  });

  it('pages through findings with a keyset cursor and filters', async () => {
    const { ctx } = await tenantWithTraffic();
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const out = ListFindingsOutput.parse(await services.listFindings(ctx, { limit: 2, cursor }));
      seen.push(...out.findings.map((f) => f.id));
      if (!out.nextCursor) break;
      cursor = out.nextCursor;
    }
    const all = await services.listFindings(ctx, { limit: 200 });
    expect(seen).toEqual(all.findings.map((f) => f.id));
    expect(new Set(seen).size).toBe(7);
    const pii = await services.listFindings(ctx, { category: 'pii', severity: 'critical', limit: 50 });
    expect(pii.findings.map((f) => f.detector).sort()).toEqual(['pii.credit_card', 'pii.ssn']);
    const marketing = await services.listFindings(ctx, { namespace: 'marketing', limit: 50 });
    expect(marketing.findings.map((f) => f.detector).sort()).toEqual(['injection.prompt', 'shadow.namespace']);
  });

  it('explains a finding with obligations from the control map', async () => {
    const { ctx } = await tenantWithTraffic();
    const card = (await services.listFindings(ctx, { category: 'pii', limit: 50 })).findings.find((f) => f.detector === 'pii.credit_card');
    const out = GetFindingOutput.parse(await services.getFinding(ctx, { id: card?.id ?? '' }));
    expect(out.asset?.name).toBe('payments/checkout');
    expect(out.obligations.map((o) => `${o.framework} ${o.control}`)).toEqual(expect.arrayContaining(['PCI DSS Req. 3', 'PCI DSS Req. 4', 'GDPR Art. 32']));
    expect(out.suggestedAction?.tool).toBe('block_from_finding');
    expect(out.remediation).toContain('credit_card');
    await expectToolError(services.getFinding(ctx, { id: 'fnd_missing' }), 'NOT_FOUND');
  });

  it('turns a PII finding into one block rule, bumps the policy and audits it', async () => {
    const { ctx, tenantId } = await tenantWithTraffic();
    const ssn = (await services.listFindings(ctx, { category: 'pii', limit: 50 })).findings.find((f) => f.detector === 'pii.ssn');
    const before = await getPolicyVersion(db, { tenantId });
    const { rule } = await services.blockFromFinding(ctx, { findingId: ssn?.id ?? '' });
    expect(Rule.parse(rule)).toMatchObject({
      name: 'Block PII egress: ssn', action: 'block', match: { piiTypes: ['ssn'] }, enabled: true, createdBy: 'admin', sourceFindingId: ssn?.id,
    });
    expect(await getPolicyVersion(db, { tenantId })).toBe(before + 1);
    expect((await services.listRules(ctx, { includeDisabled: false })).rules.map((r) => r.id)).toEqual([rule.id]);
    expect((await services.getFinding(ctx, { id: ssn?.id ?? '' })).finding.status).toBe('acknowledged');
    // approving the same block again does not stack a second rule
    expect((await services.blockFromFinding(ctx, { findingId: ssn?.id ?? '' })).rule.id).toBe(rule.id);
    expect((await services.listRules(ctx, { includeDisabled: true })).rules).toHaveLength(1);
    const audit = await listAudit(db, { tenantId });
    expect(audit.map((a) => [a.actor, a.action, a.target])).toEqual([['admin', 'block_from_finding', rule.id]]);
  });

  it('blocks injection by score and refuses to block a shadow finding', async () => {
    const { ctx } = await tenantWithTraffic();
    const findings = (await services.listFindings(ctx, { limit: 50 })).findings;
    const injection = findings.find((f) => f.category === 'injection');
    const { rule } = await services.blockFromFinding(ctx, { findingId: injection?.id ?? '' });
    expect(rule.match).toEqual({ injectionScoreGte: 50 });
    const shadow = findings.find((f) => f.category === 'shadow');
    await expectToolError(services.blockFromFinding(ctx, { findingId: shadow?.id ?? '' }), 'INVALID_INPUT');
  });

  it('refuses a rule whose pattern RE2 cannot run (the scanner would skip it), naming the field; accepts what RE2 runs', async () => {
    const { ctx } = await tenantWithTraffic();
    for (const [field, source] of [['promptPattern', '(?<=password: )\\S+'], ['responsePattern', '(a)\\1'], ['toolInputPattern', 'x(?=y)'], ['toolOutputPattern', '[']] as const) {
      const refused = services.addInlineRule(ctx, { name: 'bad', action: 'block', match: { [field]: source }, reason: '' });
      await expect(refused).rejects.toThrow(ToolError);
      await expect(refused).rejects.toThrow(new RegExp(`^${field} is not a pattern RE2 runs`));
    }
    const { rule } = await services.addInlineRule(ctx, { name: 'good', action: 'block', match: { promptPattern: '(?i)api[_-]?key\\s*=\\s*\\w{16,}', toolOutputPattern: '\\bBEGIN [A-Z ]+ KEY\\b' }, reason: '' });
    expect(rule.match.promptPattern).toBe('(?i)api[_-]?key\\s*=\\s*\\w{16,}');
    expect((await services.listRules(ctx, { includeDisabled: false })).rules.map((r) => r.name)).toEqual(['good']);
  });

  it('disables a rule once, bumps the policy, audits it, and keeps it listed as disabled', async () => {
    const { ctx, tenantId } = await tenantWithTraffic();
    const { rule } = await services.addInlineRule(ctx, { name: 'no gpt-4o', action: 'block', match: { models: ['gpt-4o'] }, reason: '' });
    const before = await getPolicyVersion(db, { tenantId });
    const { rule: disabled } = await services.disableRule(ctx, { ruleId: rule.id, reason: 'false positives' });
    expect(disabled).toMatchObject({ id: rule.id, enabled: false });
    expect(await getPolicyVersion(db, { tenantId })).toBe(before + 1);
    expect((await services.listRules(ctx, { includeDisabled: false })).rules).toEqual([]);
    expect((await services.listRules(ctx, { includeDisabled: true })).rules.map((r) => [r.id, r.enabled])).toEqual([[rule.id, false]]);
    // disabling again changes nothing: no second record, no policy bump
    await services.disableRule(ctx, { ruleId: rule.id, reason: 'again' });
    expect(await getPolicyVersion(db, { tenantId })).toBe(before + 1);
    const audit = await listAudit(db, { tenantId });
    expect(audit.map((a) => [a.action, a.target])).toEqual([['add_inline_rule', rule.id], ['disable_rule', rule.id]]);
    expect(audit[1]?.details).toMatchObject({ reason: 'false positives' });
    // another tenant cannot touch it
    const other = await createTestTenant(db, sanctioned);
    await expectToolError(services.disableRule({ principal: other.admin }, { ruleId: rule.id, reason: 'x' }), 'NOT_FOUND');
  });

  it('records a namespace quarantine once', async () => {
    const { ctx, tenantId } = await tenantWithTraffic();
    const { quarantine } = await services.quarantineNamespace(ctx, { namespace: 'marketing', reason: 'shadow AI' });
    expect(quarantine).toMatchObject({ namespace: 'marketing', active: true, enforcement: 'recorded', createdBy: 'admin' });
    const again = await services.quarantineNamespace(ctx, { namespace: 'marketing', reason: 'again' });
    expect(again.quarantine.id).toBe(quarantine.id);
    expect((await listAudit(db, { tenantId })).map((a) => a.action)).toEqual(['quarantine_namespace']);
  });

  it('decides a proposal exactly once', async () => {
    const { tenantId, agent, admin } = await tenantWithTraffic();
    const proposal = await services.createProposal({ principal: agent }, {
      tool: 'quarantine_namespace', args: { namespace: 'marketing', reason: 'shadow' }, argsHash: 'h1', title: 'Quarantine marketing',
      rationale: 'unsanctioned', findingId: null, expiresAt: '2099-01-01T00:00:00.000Z',
    });
    expect(Proposal.parse(proposal)).toMatchObject({ status: 'pending', proposedBy: 'agent' });
    expect(await services.getProposal({ principal: admin }, proposal.id)).toEqual(proposal);
    const [first, second] = await Promise.all([
      services.decideProposal({ principal: admin }, { id: proposal.id, status: 'approved', result: { ok: 1 } }),
      services.decideProposal({ principal: admin }, { id: proposal.id, status: 'rejected', result: null }),
    ]);
    const winners = [first, second].filter((p) => p !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.decidedBy).toBe('admin');
    expect((await services.listProposals({ principal: admin }, { status: 'pending' })).proposals).toHaveLength(0);
    expect((await listAudit(db, { tenantId })).map((a) => [a.actor, a.action])).toEqual([
      ['agent', 'propose_action'], ['admin', `proposal_${winners[0]?.status}`],
    ]);
    expect(await verifyAuditChain(db, { tenantId })).toMatchObject({ ok: true });
  });

  it('runs a proposal approved twice at the same moment once, through the real registry', async () => {
    const { tenantId, agent, admin } = await tenantWithTraffic();
    const registry = createRegistry(services);
    const security = { ...admin, id: 'sec', name: 'Security', role: 'security' as const };
    const proposed = await registry.call('propose_action', {
      tool: 'add_inline_rule', args: { name: 'no ssn', action: 'block', match: { piiTypes: ['ssn'] } }, title: 'Block SSN', rationale: 'SSNs leave',
    }, agent);
    if (!proposed.ok) throw new Error(proposed.error.message);
    const { proposal } = proposed.output as { proposal: Proposal };

    const approve = (who: typeof admin) => registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, who);
    const results = await Promise.all([approve(admin), approve(security)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });

    const { rules } = await services.listRules({ principal: admin }, { includeDisabled: true });
    expect(rules.map((r) => r.name)).toEqual(['no ssn']);
    expect(await services.getProposal({ principal: admin }, proposal.id)).toMatchObject({ status: 'approved', result: { rule: { id: rules[0]?.id } } });
    const actions = (await listAudit(db, { tenantId })).map((a) => a.action);
    expect(actions).toEqual(['propose_action', 'proposal_approved', 'add_inline_rule']);
    expect(await verifyAuditChain(db, { tenantId })).toMatchObject({ ok: true, records: 3 });
  });

  it('records the outcome of a claimed proposal once, in its own tenant only', async () => {
    const { tenantId, agent, admin } = await tenantWithTraffic();
    const other = await createTestTenant(db, sanctioned);
    const proposal = await services.createProposal({ principal: agent }, {
      tool: 'quarantine_namespace', args: { namespace: 'marketing', reason: 'shadow' }, argsHash: 'h1', title: 'Quarantine marketing',
      rationale: 'unsanctioned', findingId: null, expiresAt: '2099-01-01T00:00:00.000Z',
    });
    const failure = { id: proposal.id, status: 'failed' as const, result: { error: { code: 'CONFLICT', message: 'already' } } };
    expect(await services.completeProposal({ principal: admin }, failure)).toBeNull(); // not claimed yet
    await services.decideProposal({ principal: admin }, { id: proposal.id, status: 'approved', result: null });
    expect(await services.completeProposal({ principal: { ...other.admin, id: 'admin' } }, failure)).toBeNull();
    expect(await services.completeProposal({ principal: admin }, failure)).toMatchObject({ status: 'failed', result: failure.result, decidedBy: 'admin' });
    expect(await services.completeProposal({ principal: admin }, { id: proposal.id, status: 'approved', result: { ok: 1 } })).toBeNull();
    expect(await services.getProposal({ principal: admin }, proposal.id)).toMatchObject({ status: 'failed', result: failure.result });
    expect((await listAudit(db, { tenantId })).map((a) => a.action)).toEqual(['propose_action', 'proposal_approved', 'proposal_failed']);
    expect(await verifyAuditChain(db, { tenantId })).toMatchObject({ ok: true, records: 3 });
  });

  it('generates a compliance pack with a verifiable digest', async () => {
    const { ctx, tenantId } = await tenantWithTraffic();
    const ssn = (await services.listFindings(ctx, { category: 'pii', limit: 50 })).findings.find((f) => f.detector === 'pii.ssn');
    await services.blockFromFinding(ctx, { findingId: ssn?.id ?? '' });
    const { pack } = GenerateCompliancePackOutput.parse(
      await services.generateCompliancePack(ctx, { from: '2026-11-20T00:00:00.000Z', to: '2099-01-01T00:00:00.000Z' }),
    );
    expect(pack.calls).toEqual({ total: 4, blocked: 1, byProvider: { anthropic: 1, openai: 3 } });
    expect(pack.piiFlows.map((f) => `${f.piiType}:${f.app}:${f.provider}:${f.count}`)).toEqual([
      'credit_card:checkout:anthropic:1', 'email:checkout:openai:1', 'ssn:checkout:openai:1',
    ]);
    expect(pack.rules).toHaveLength(1);
    expect(pack.audit.map((a) => a.action)).toEqual(['block_from_finding']);
    const { digest, ...body } = pack;
    expect(digest).toBe(sha256Hex(canonicalJson(body)));
    expect((await services.briefingSummary(ctx)).counts.evidencePacks).toBe(1);
    expect((await listAudit(db, { tenantId })).at(-1)?.action).toBe('generate_compliance_pack');
    await expectToolError(services.generateCompliancePack(ctx, { from: '2026-11-21T00:00:00Z', to: '2026-11-20T00:00:00Z' }), 'INVALID_INPUT');
  });

  it("never shows one tenant's data to another", async () => {
    const a = await tenantWithTraffic();
    const b = await createTestTenant(db, sanctioned);
    const ctxB: ServiceContext = { principal: b.admin };
    const aFinding = (await services.listFindings(a.ctx, { limit: 1 })).findings[0];
    expect(aFinding).toBeDefined();
    expect((await services.listFindings(ctxB, { limit: 200 })).findings).toEqual([]);
    expect((await services.listAssets(ctxB, { limit: 200 })).assets).toEqual([]);
    expect((await services.briefingSummary(ctxB)).counts).toMatchObject({ calls: 0, assets: 0, openFindings: 0 });
    await expectToolError(services.getFinding(ctxB, { id: aFinding?.id ?? '' }), 'NOT_FOUND');
    await expectToolError(services.blockFromFinding(ctxB, { findingId: aFinding?.id ?? '' }), 'NOT_FOUND');
    await expectToolError(services.replaySession(ctxB, { sessionId: 'sess-1' }), 'NOT_FOUND');
    expect((await services.replaySession(a.ctx, { sessionId: 'sess-1' })).exchanges).toHaveLength(4);
  });
});
