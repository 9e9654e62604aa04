import { ToolContracts, type Principal, type Role, type ToolName, type ToolOutput } from '@higgs/schema';
import { describe, expect, it, vi } from 'vitest';
import { argsHash } from './args-hash.ts';
import { ToolError } from './errors.ts';
import { createRegistry, type ToolLogger } from './registry.ts';
import { createMemoryServices, makePrincipal } from './test-fixtures.ts';
import type { ToolCallResult } from './types.ts';

function setup(options: { now?: () => Date; proposalTtlMs?: number } = {}) {
  const services = createMemoryServices();
  const logger: ToolLogger = { error: vi.fn() };
  const registry = createRegistry(services, { logger, ...options });
  const as = (role: Role, overrides: Partial<Principal> = {}) => makePrincipal(services.tenantId, role, overrides);
  return { services, logger, registry, as };
}

function expectError(result: ToolCallResult, code: string): string {
  expect(result).toMatchObject({ ok: false, error: { code } });
  return result.ok ? '' : result.error.message;
}

function output<N extends ToolName>(name: N, result: ToolCallResult): ToolOutput<N> {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return ToolContracts[name].output.parse(result.output) as ToolOutput<N>;
}

const RULE_ARGS = { name: 'no emails', action: 'block', match: { piiTypes: ['email'] } };

describe('the registry', () => {
  it('defines every tool of the contract, once', () => {
    const { registry } = setup();
    expect(registry.list().map((d) => d.name).sort()).toEqual(Object.keys(ToolContracts).sort());
    for (const def of registry.list()) {
      expect(def.input).toBe(ToolContracts[def.name].input);
      expect(def.output).toBe(ToolContracts[def.name].output);
      expect(def.description.length).toBeGreaterThan(80);
    }
  });

  it('marks the query tools read-only and the enforcement tools destructive', () => {
    const { registry } = setup();
    const read = registry.list().filter((d) => d.annotations.readOnlyHint).map((d) => d.name).sort();
    expect(read).toEqual([
      'audit_log', 'briefing_summary', 'cost_report', 'data_tracks', 'explain_risk_score', 'get_asset', 'get_finding', 'list_assets',
      'list_findings', 'list_principals', 'list_proposals', 'list_quarantines', 'list_rules', 'list_sessions', 'replay_session',
      'search_knowledge', 'topology', 'user_track', 'verify_audit_chain',
    ]);
    for (const name of [
      'add_inline_rule', 'block_from_finding', 'quarantine_namespace', 'set_governance_state', 'update_finding_status', 'kill_session',
      'release_quarantine',
    ]) {
      expect(registry.get(name)).toMatchObject({ role: 'security', annotations: { destructiveHint: true } });
    }
    expect(registry.get('generate_compliance_pack')).toMatchObject({ role: 'compliance', annotations: { destructiveHint: false } });
  });

  it('answers an unknown tool with UNKNOWN_TOOL', async () => {
    const { registry, as } = setup();
    expectError(await registry.call('drop_tables', {}, as('admin')), 'UNKNOWN_TOOL');
  });

  it('names the offending field in INVALID_INPUT', async () => {
    const { registry, as } = setup();
    const message = expectError(await registry.call('list_findings', { severity: 'catastrophic' }, as('viewer')), 'INVALID_INPUT');
    expect(message).toMatch(/^severity: /);
    expect(message).not.toMatch(/\bat .*\.ts/);
  });

  it('applies contract defaults before the service sees the input', async () => {
    const { registry, as, services } = setup();
    const spy = vi.spyOn(services, 'listFindings');
    output('list_findings', await registry.call('list_findings', {}, as('viewer')));
    expect(spy.mock.calls[0]?.[1]).toMatchObject({ limit: 50 });
  });
});

describe('the role gate', () => {
  it('lets a viewer read but not add a rule', async () => {
    const { registry, as, services } = setup();
    expect(output('briefing_summary', await registry.call('briefing_summary', {}, as('viewer'))).counts.openFindings).toBe(2);
    expectError(await registry.call('add_inline_rule', RULE_ARGS, as('viewer')), 'FORBIDDEN');
    expect(services.rules).toHaveLength(0);
  });

  it('lets security and admin add a rule directly, but not platform or compliance', async () => {
    const { registry, as, services } = setup();
    output('add_inline_rule', await registry.call('add_inline_rule', RULE_ARGS, as('security')));
    output('add_inline_rule', await registry.call('add_inline_rule', RULE_ARGS, as('admin')));
    expectError(await registry.call('add_inline_rule', RULE_ARGS, as('platform')), 'FORBIDDEN');
    expectError(await registry.call('add_inline_rule', RULE_ARGS, as('compliance')), 'FORBIDDEN');
    expect(services.rules).toHaveLength(2);
  });

  it('lets compliance, not platform, generate a compliance pack', async () => {
    const { registry, as } = setup();
    const range = { from: '2025-01-01T00:00:00Z', to: '2025-02-01T00:00:00Z' };
    output('generate_compliance_pack', await registry.call('generate_compliance_pack', range, as('compliance')));
    expectError(await registry.call('generate_compliance_pack', range, as('platform')), 'FORBIDDEN');
  });

  it('refuses the agent every destructive tool and tells it to propose instead', async () => {
    const { registry, as, services } = setup();
    const agent = as('agent');
    const message = expectError(
      await registry.call('quarantine_namespace', { namespace: 'ml', reason: 'exfiltration' }, agent), 'FORBIDDEN',
    );
    expect(message).toContain('propose_action');
    expectError(await registry.call('add_inline_rule', RULE_ARGS, agent), 'FORBIDDEN');
    expectError(await registry.call('block_from_finding', { findingId: services.findings[0]!.id }, agent), 'FORBIDDEN');
    expectError(await registry.call('generate_compliance_pack', { from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' }, agent), 'FORBIDDEN');
    expect(services.quarantines).toHaveLength(0);
    expect(services.rules).toHaveLength(0);
  });

  it('lets the agent read and propose', async () => {
    const { registry, as } = setup();
    const agent = as('agent');
    output('list_findings', await registry.call('list_findings', {}, agent));
    const proposed = output('propose_action', await registry.call('propose_action', {
      tool: 'quarantine_namespace', args: { namespace: 'ml', reason: 'exfiltration' }, title: 'Quarantine ml', rationale: 'r',
    }, agent));
    expect(proposed.proposal).toMatchObject({ status: 'pending', proposedBy: agent.id });
  });

  it('refuses the scanner every tool, even reads', async () => {
    const { registry, as } = setup();
    for (const def of registry.list()) {
      expectError(await registry.call(def.name, {}, as('scanner')), 'FORBIDDEN');
    }
  });

  it('treats a principal whose kind is agent as the agent whatever its role', async () => {
    const { registry, as } = setup();
    expectError(await registry.call('add_inline_rule', RULE_ARGS, as('admin', { kind: 'agent' })), 'FORBIDDEN');
  });
});

describe('errors from services and handlers', () => {
  it('keeps the code of a ToolError', async () => {
    const { registry, as } = setup();
    expectError(await registry.call('get_finding', { id: 'nope' }, as('viewer')), 'NOT_FOUND');
  });

  it('turns any other throw into a generic INTERNAL and logs the cause', async () => {
    const { registry, as, services, logger } = setup();
    const cause = new Error('connection refused to 10.0.0.5:5432 password=hunter2');
    services.failNext('listRules', cause);
    const message = expectError(await registry.call('list_rules', {}, as('viewer')), 'INTERNAL');
    expect(message).not.toContain('hunter2');
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ err: cause, tool: 'list_rules' }), expect.any(String));
  });

  it('reports an output outside the contract as INTERNAL, logged', async () => {
    const { registry, as, services, logger } = setup();
    vi.spyOn(services, 'listAssets').mockResolvedValue({ assets: 'not a list' } as never);
    expectError(await registry.call('list_assets', {}, as('viewer')), 'INTERNAL');
    expect(logger.error).toHaveBeenCalledOnce();
  });
});

describe('proposals', () => {
  async function propose(ctx: ReturnType<typeof setup>, proposer: Principal, args: Record<string, unknown> = { namespace: 'ml', reason: 'exfil' }) {
    const result = await ctx.registry.call('propose_action', {
      tool: 'quarantine_namespace', args, title: 'Quarantine ml', rationale: 'Secrets leaving ml', findingId: 'fnd-1',
    }, proposer);
    return output('propose_action', result).proposal;
  }

  it('hashes the canonical tool and parsed args and sets a 24 h expiry by default', async () => {
    const now = new Date('2025-03-01T12:00:00Z');
    const ctx = setup({ now: () => now });
    const proposal = await propose(ctx, ctx.as('agent'));
    expect(proposal.argsHash).toBe(argsHash('quarantine_namespace', { reason: 'exfil', namespace: 'ml' }));
    expect(proposal.expiresAt).toBe('2025-03-02T12:00:00.000Z');
    expect(ctx.services.auditLog.map((a) => a.action)).toContain('proposal.created');
  });

  it('hashes the args with defaults applied, so approval runs exactly what was hashed', async () => {
    const ctx = setup();
    const result = await ctx.registry.call('propose_action', {
      tool: 'add_inline_rule', args: RULE_ARGS, title: 't', rationale: 'r',
    }, ctx.as('agent'));
    const { proposal } = output('propose_action', result);
    expect(proposal.args).toEqual({ ...RULE_ARGS, reason: '' });
    expect(proposal.argsHash).toBe(argsHash('add_inline_rule', { ...RULE_ARGS, reason: '' }));
  });

  it('refuses a proposal whose args could never run, naming the field', async () => {
    const ctx = setup();
    const result = await ctx.registry.call('propose_action', {
      tool: 'quarantine_namespace', args: { namespace: 'ml' }, title: 't', rationale: 'r',
    }, ctx.as('agent'));
    expect(expectError(result, 'INVALID_INPUT')).toContain('args.reason');
    expect(ctx.services.proposals).toHaveLength(0);
  });

  it('runs an approved proposal as the approver, once', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    const approver = ctx.as('security');
    const approved = output('approve_action', await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, approver));
    expect(approved.proposal).toMatchObject({ status: 'approved', decidedBy: approver.id });
    expect(ctx.services.quarantines).toEqual([expect.objectContaining({ namespace: 'ml', createdBy: approver.id })]);
    expect(approved.result).toMatchObject({ quarantine: { namespace: 'ml' } });
    expect(ctx.services.proposals[0]).toMatchObject({ status: 'approved', result: { quarantine: { namespace: 'ml' } } });
    // the claim is the approval's one audit record; the action audits itself
    expect(ctx.services.auditLog.map((a) => a.action)).toEqual(['proposal.created', 'proposal_approved', 'namespace.quarantined']);

    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('admin')), 'CONFLICT');
    expect(ctx.services.quarantines).toHaveLength(1);
    expect(ctx.services.auditLog.filter((a) => a.action === 'proposal_approved')).toHaveLength(1);
  });

  it('runs a proposal approved twice at the same moment once, and answers the other approval CONFLICT', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    const quarantine = vi.spyOn(ctx.services, 'quarantineNamespace');
    const approve = (approver: Principal) => ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, approver);
    const results = await Promise.all([approve(ctx.as('security')), approve(ctx.as('admin'))]);

    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expectError(results.find((r) => !r.ok) ?? results[0]!, 'CONFLICT');
    expect(quarantine).toHaveBeenCalledOnce();
    expect(ctx.services.quarantines).toHaveLength(1);
    expect(ctx.services.proposals[0]).toMatchObject({ status: 'approved', result: { quarantine: { namespace: 'ml' } } });
    expect(ctx.services.auditLog.filter((a) => a.action === 'proposal_approved')).toHaveLength(1);
  });

  it('refuses the agent as approver', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('security'));
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('agent')), 'FORBIDDEN');
    expect(ctx.services.quarantines).toHaveLength(0);
  });

  it('refuses the proposer as approver of their own proposal', async () => {
    const ctx = setup();
    const proposer = ctx.as('security');
    const proposal = await propose(ctx, proposer);
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, proposer), 'FORBIDDEN');
    expect(ctx.services.quarantines).toHaveLength(0);
  });

  it('refuses an approver below the proposed tool\'s role', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    for (const role of ['viewer', 'platform', 'compliance'] as const) {
      expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as(role)), 'FORBIDDEN');
    }
    expect(ctx.services.quarantines).toHaveLength(0);
  });

  it('refuses an approval for a different argsHash', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    const otherHash = argsHash('quarantine_namespace', { namespace: 'payments', reason: 'exfil' });
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: otherHash }, ctx.as('security')), 'APPROVAL_MISMATCH');
    expect(ctx.services.proposals[0]?.status).toBe('pending');
    expect(ctx.services.quarantines).toHaveLength(0);
  });

  it('refuses to run stored args that no longer match their hash', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    ctx.services.proposals[0]!.args = { namespace: 'kube-system', reason: 'exfil' };
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('security')), 'INTERNAL');
    expect(ctx.services.quarantines).toHaveLength(0);
  });

  it('expires a proposal past its expiry instead of running it', async () => {
    let now = new Date('2025-03-01T12:00:00Z');
    const ctx = setup({ now: () => now, proposalTtlMs: 60_000 });
    const proposal = await propose(ctx, ctx.as('agent'));
    now = new Date('2025-03-01T12:01:00Z');
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('security')), 'EXPIRED');
    expect(ctx.services.proposals[0]?.status).toBe('expired');
    expect(ctx.services.quarantines).toHaveLength(0);
  });

  it('marks the proposal failed and returns the tool\'s error when the approved action fails', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    ctx.services.failNext('quarantineNamespace', new ToolError('CONFLICT', 'ml is already quarantined'));
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('security')), 'CONFLICT');
    expect(ctx.services.proposals[0]).toMatchObject({
      status: 'failed', result: { error: { code: 'CONFLICT', message: 'ml is already quarantined' } },
    });
    expect(ctx.services.auditLog.map((a) => a.action)).toEqual(['proposal.created', 'proposal_approved', 'proposal_failed']);
    // a failed proposal stays failed: approving it again runs nothing
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('admin')), 'CONFLICT');
    expect(ctx.services.quarantines).toHaveLength(0);
  });

  it('records an unexpected failure of the approved action without its internals', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    ctx.services.failNext('quarantineNamespace', new Error('connection reset by db-7.internal'));
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('security')), 'INTERNAL');
    expect(ctx.services.proposals[0]).toMatchObject({ status: 'failed', result: { error: { code: 'INTERNAL', message: 'the approved action failed' } } });
  });

  it('records the outcome of a claimed proposal once', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    const svc = { principal: ctx.as('security') };
    expect(await ctx.services.completeProposal(svc, { id: proposal.id, status: 'approved', result: { ok: 1 } })).toBeNull();
    await ctx.services.decideProposal(svc, { id: proposal.id, status: 'approved', result: null });
    expect(await ctx.services.completeProposal(svc, { id: proposal.id, status: 'failed', result: { error: 'x' } })).toMatchObject({ status: 'failed' });
    expect(await ctx.services.completeProposal(svc, { id: proposal.id, status: 'approved', result: { ok: 1 } })).toBeNull();
    expect(ctx.services.proposals[0]).toMatchObject({ status: 'failed', result: { error: 'x' } });
  });

  it('answers CONFLICT and runs nothing when another decision wins between reading and claiming', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    vi.spyOn(ctx.services, 'decideProposal').mockResolvedValueOnce(null);
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('security')), 'CONFLICT');
    expect(ctx.services.quarantines).toHaveLength(0);
  });

  it('rejects a pending proposal so it can no longer be approved', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    const rejected = output('reject_action', await ctx.registry.call('reject_action', { proposalId: proposal.id, reason: 'too broad' }, ctx.as('security')));
    expect(rejected.proposal).toMatchObject({ status: 'rejected', result: { reason: 'too broad' } });
    expect(ctx.services.auditLog.map((a) => a.action)).toEqual(['proposal.created', 'proposal_rejected']);
    expectError(await ctx.registry.call('approve_action', { proposalId: proposal.id, argsHash: proposal.argsHash }, ctx.as('security')), 'CONFLICT');
  });

  it('refuses the agent and under-privileged humans as rejecters', async () => {
    const ctx = setup();
    const proposal = await propose(ctx, ctx.as('agent'));
    expectError(await ctx.registry.call('reject_action', { proposalId: proposal.id }, ctx.as('agent')), 'FORBIDDEN');
    expectError(await ctx.registry.call('reject_action', { proposalId: proposal.id }, ctx.as('viewer')), 'FORBIDDEN');
    expect(ctx.services.proposals[0]?.status).toBe('pending');
  });
});
