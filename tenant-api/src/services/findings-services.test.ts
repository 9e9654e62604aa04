import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExplainRiskScoreOutput, GetAssetOutput, ListFindingsOutput, SetGovernanceStateOutput, TopologyOutput, UpdateFindingStatusOutput,
  type IngestBatch, type NetworkFlow, type ToolCall,
} from '@higgs/schema';
import { ToolError, createRegistry, type HiggsServices, type ServiceContext } from '@higgs/tools';
import { recordCveFinding } from '../findings/findings-engine.ts';
import { scoreRisk } from '../findings/risk.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import { createPolicyNotifier } from '../policy/policy-notifier.ts';
import { assetId } from '../registry/asset-registry.ts';
import { getAsset, listAssets } from '../stores/assets-repository.ts';
import { listAudit } from '../stores/audit-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { batchOf, createTestTenant, eventId, llmCall, openTestDb } from '../testing/fixtures.ts';
import { createHiggsServices } from './higgs-services.ts';

let db: SqlClient;
let services: HiggsServices;
let clock = new Date('2026-11-20T12:00:00.000Z');
beforeAll(async () => {
  db = await openTestDb();
  services = createHiggsServices({ db, notifier: createPolicyNotifier(), now: () => clock });
}, 60_000);
afterAll(async () => { await db?.close(); });

const sanctioned = { namespaces: ['payments'], providers: ['openai'] };
const source = { ip: '10.0.0.7', namespace: 'payments', app: 'checkout', mode: 'enforce' as const };
const checkout = assetId('agents', 'workload', 'payments/checkout');

function toolCall(overrides: Partial<ToolCall> = {}): ToolCall {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', durationMs: 5, host: 'mcp.tools.svc', method: 'tools/call',
    toolName: 'search_orders', input: '{"q":"x"}', output: null, isError: false, source,
    attribution: { userId: 'bob', userSource: 'header', traceId: null, parentSpanId: null, sessionId: 'sess-mcp' },
    detections: [], verdict: 'allow', ruleIds: [], ...overrides,
  };
}

function flow(overrides: Partial<NetworkFlow> = {}): NetworkFlow {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', pid: 42, comm: 'python', cgroupId: '1234',
    srcIp: '10.0.0.9', srcPort: 40000, dstIp: '104.18.1.1', dstPort: 443, dstHost: 'api.mistral.ai', provider: 'mistral', state: 'established',
    source: { ip: '10.0.0.9', namespace: 'research', app: 'notebook', mode: null }, ...overrides,
  };
}

function mixedBatch(events: IngestBatch['events']): IngestBatch {
  return { scannerId: 'node-1', events };
}

async function tenant(baseline: { namespaces: string[]; providers: string[]; destinations?: string[] } = sanctioned) {
  const t = await createTestTenant(db, baseline);
  const ctx: ServiceContext = { principal: t.admin };
  const ingest = (batch: IngestBatch) => ingestBatch(db, { tenantId: t.tenantId, batch });
  return { ...t, ctx, ingest };
}

async function expectToolError(promise: Promise<unknown>, code: string) {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ToolError);
  expect((err as ToolError).code).toBe(code);
}

describe('findings services over PGlite', () => {
  it('filters findings by asset, user and time range, keeping the cursor', async () => {
    const { ctx, ingest } = await tenant();
    await ingest(batchOf(
      llmCall({ ts: '2026-11-18T10:00:00.000Z', detections: [{ type: 'ssn', field: 'prompt', hash: 'aaaa1111' }] }),
      llmCall({
        ts: '2026-11-20T10:00:00.000Z', detections: [{ type: 'email', field: 'prompt', hash: 'bbbb2222' }],
        attribution: { userId: 'carol', userSource: 'jwt', traceId: null, parentSpanId: null, sessionId: 'sess-c' },
      }),
      llmCall({ ts: '2026-11-20T11:00:00.000Z', injectionScore: 80, source: { ip: '10.1.1.1', namespace: 'marketing', app: 'copybot', mode: null } }),
    ));
    const byAsset = ListFindingsOutput.parse(await services.listFindings(ctx, { assetId: checkout, limit: 50 }));
    expect(byAsset.findings.map((f) => f.detector).sort()).toEqual(['pii.email', 'pii.ssn']);
    const carol = await services.listFindings(ctx, { user: 'carol', limit: 50 });
    expect(carol.findings.map((f) => f.detector)).toEqual(['pii.email']);
    const recent = await services.listFindings(ctx, { from: '2026-11-19T00:00:00.000Z', limit: 50 });
    expect(recent.findings.map((f) => f.detector)).not.toContain('pii.ssn');
    expect(recent.findings.map((f) => f.detector)).toContain('pii.email');
    const early = await services.listFindings(ctx, { to: '2026-11-19T00:00:00.000Z', limit: 50 });
    expect(early.findings.map((f) => f.detector)).toEqual(['pii.ssn']);
    const first = await services.listFindings(ctx, { from: '2026-11-19T00:00:00.000Z', limit: 1 });
    expect(first.nextCursor).not.toBeNull();
    const second = await services.listFindings(ctx, { from: '2026-11-19T00:00:00.000Z', limit: 50, cursor: first.nextCursor ?? undefined });
    expect([...first.findings, ...second.findings].map((f) => f.id)).toEqual(recent.findings.map((f) => f.id));
  });

  it('gets an asset with its findings, discovery history and risk; other tenants see nothing', async () => {
    const { ctx, ingest } = await tenant();
    await ingest(batchOf(llmCall({ detections: [{ type: 'ssn', field: 'prompt', hash: 'aaaa1111' }] })));
    const out = GetAssetOutput.parse(await services.getAsset(ctx, { id: checkout }));
    expect(out.asset).toMatchObject({ name: 'payments/checkout', domain: 'agents', governance: 'sanctioned', callCount: 1 });
    expect(out.findings.map((f) => f.detector)).toEqual(['pii.ssn']);
    expect(out.governanceHistory).toEqual([
      expect.objectContaining({ from: null, to: 'sanctioned', by: 'higgs:discovery' }),
    ]);
    expect(out.risk).toMatchObject({ score: 39, securityScore: 61, level: 'medium', findingsCounted: 1 });
    const other = await tenant();
    await expectToolError(services.getAsset(other.ctx, { id: checkout }), 'NOT_FOUND');
  });

  it('scores risk as severity × exposure × recency and explains it per asset and per app', async () => {
    const { ctx, ingest } = await tenant();
    // ten occurrences of one critical finding, last seen now: 10 × 2 × 1 = 20 → 63
    await ingest(batchOf(...Array.from({ length: 10 }, (_, i) => llmCall({
      ts: `2026-11-20T11:${String(50 + i).padStart(2, '0')}:00.000Z`, detections: [{ type: 'credit_card', field: 'prompt', hash: `cc${i}cc${i}cc` }],
    }))));
    const clockWas = clock;
    clock = new Date('2026-11-20T12:00:00.000Z');
    const asset = ExplainRiskScoreOutput.parse(await services.explainRiskScore(ctx, { assetId: checkout })).risk;
    expect(asset.factors).toHaveLength(1);
    expect(asset.factors[0]).toMatchObject({ severityWeight: 10, exposure: 2 });
    expect(asset.factors[0]!.recency).toBeGreaterThan(0.99);
    expect(asset.score).toBe(63);
    expect(asset.formula).toMatch(/severity weight/);
    // a week later the same finding counts half
    clock = new Date('2026-11-27T11:59:00.000Z');
    const later = (await services.explainRiskScore(ctx, { assetId: checkout })).risk;
    expect(later.factors[0]!.recency).toBeCloseTo(0.5, 2);
    expect(later.score).toBe(39);
    clock = clockWas;
    const app = (await services.explainRiskScore(ctx, { app: 'checkout', namespace: 'payments' })).risk;
    expect(app.subject).toEqual({ type: 'app', id: 'payments/checkout', name: 'payments/checkout' });
    expect(app.findingsCounted).toBe(1);
    const reg = createRegistry(services);
    const bad = await reg.call('explain_risk_score', { assetId: checkout, app: 'checkout' }, ctx.principal);
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
  });

  it('does not count resolved or suppressed findings in a score', () => {
    const now = new Date('2026-11-20T12:00:00.000Z');
    const f = (status: 'open' | 'resolved' | 'suppressed' | 'acknowledged') => ({
      id: `fnd_${status}`, category: 'pii' as const, severity: 'high' as const, status, title: status, assetId: 'a', detector: `d.${status}`,
      count: 1, firstSeen: now.toISOString(), lastSeen: now.toISOString(),
      evidence: { callIds: [], sessionIds: [], users: [], valueHashes: [], provider: null, model: null, host: null, namespace: null, app: null, piiType: null, maxInjectionScore: null },
    });
    const risk = scoreRisk({ type: 'asset', id: 'a', name: 'a' }, [f('open'), f('resolved'), f('suppressed'), f('acknowledged')], now);
    expect(risk.factors.map((x) => x.status).sort()).toEqual(['acknowledged', 'open']);
    expect(risk.total).toBe(10);
    expect(scoreRisk({ type: 'asset', id: 'a', name: 'a' }, [], now)).toMatchObject({ score: 0, level: 'none', securityScore: 100 });
  });

  it('sets governance state: security role only, audited, recorded, and judged by on later traffic', async () => {
    const t = await tenant();
    await t.ingest(batchOf(llmCall({ provider: 'anthropic', host: 'api.anthropic.com', model: 'claude-x' })));
    const anthropic = assetId('llm', 'provider', 'api.anthropic.com');
    const reg = createRegistry(services);
    const viewer = { ...t.admin, id: 'vic', role: 'viewer' as const };
    expect(await reg.call('set_governance_state', { assetId: anthropic, state: 'sanctioned', reason: 'DPA signed' }, viewer))
      .toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await reg.call('set_governance_state', { assetId: anthropic, state: 'sanctioned', reason: 'DPA signed' }, t.agent))
      .toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const security = { ...t.admin, id: 'sec', role: 'security' as const };
    const res = await reg.call('set_governance_state', { assetId: anthropic, state: 'sanctioned', reason: 'DPA signed' }, security);
    expect(res.ok).toBe(true);
    const out = SetGovernanceStateOutput.parse(res.ok ? res.output : null);
    expect(out.transition).toMatchObject({ from: 'tolerated', to: 'sanctioned', by: 'sec', reason: 'DPA signed' });
    const again = await services.setGovernanceState({ principal: security }, { assetId: anthropic, state: 'sanctioned', reason: 'again' });
    expect(again.transition).toBeNull();
    const audit = await listAudit(db, { tenantId: t.tenantId, from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 100 });
    expect(audit.filter((a) => a.action === 'set_governance_state')).toEqual([
      expect.objectContaining({ actor: 'sec', target: anthropic, details: expect.objectContaining({ from: 'tolerated', to: 'sanctioned', reason: 'DPA signed' }) }),
    ]);
    const history = (await services.getAsset(t.ctx, { id: anthropic })).governanceHistory;
    expect(history.map((h) => h.to)).toEqual(['tolerated', 'sanctioned']);
    const shadowBefore = (await services.listFindings(t.ctx, { category: 'shadow', limit: 50 })).findings.find((f) => f.detector === 'shadow.provider.api.anthropic.com');
    await t.ingest(batchOf(llmCall({ provider: 'anthropic', host: 'api.anthropic.com', model: 'claude-x', ts: '2026-11-20T11:00:00.000Z' })));
    const shadowAfter = (await services.listFindings(t.ctx, { category: 'shadow', limit: 50 })).findings.find((f) => f.detector === 'shadow.provider.api.anthropic.com');
    expect(shadowAfter?.count).toBe(shadowBefore?.count);
    await expectToolError(services.setGovernanceState({ principal: security }, { assetId: 'ast_nope', state: 'tolerated', reason: 'x' }), 'NOT_FOUND');
  });

  it('updates a finding status with a reason; a resolved finding reopens when it recurs, a suppressed one does not', async () => {
    const t = await tenant();
    const ssn = { type: 'ssn' as const, field: 'prompt' as const, hash: 'aaaa1111' };
    await t.ingest(batchOf(llmCall({ detections: [ssn] }), llmCall({ injectionScore: 90 })));
    const all = (await services.listFindings(t.ctx, { limit: 50 })).findings;
    const pii = all.find((f) => f.detector === 'pii.ssn')!;
    const inj = all.find((f) => f.detector === 'injection.prompt')!;
    const reg = createRegistry(services);
    const viewer = { ...t.admin, id: 'vic', role: 'viewer' as const };
    expect(await reg.call('update_finding_status', { findingId: pii.id, status: 'resolved', reason: 'fixed' }, viewer))
      .toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const resolved = UpdateFindingStatusOutput.parse(await services.updateFindingStatus(t.ctx, { findingId: pii.id, status: 'resolved', reason: 'masking deployed' }));
    expect(resolved.finding).toMatchObject({ status: 'resolved', statusNote: { by: 'admin', reason: 'masking deployed' } });
    await services.updateFindingStatus(t.ctx, { findingId: inj.id, status: 'suppressed', reason: 'red-team exercise' });
    await t.ingest(batchOf(llmCall({ detections: [ssn], ts: '2026-11-20T11:00:00.000Z' }), llmCall({ injectionScore: 95, ts: '2026-11-20T11:00:00.000Z' })));
    const after = (await services.listFindings(t.ctx, { limit: 50 })).findings;
    expect(after.find((f) => f.id === pii.id)).toMatchObject({ status: 'open', count: 2 });
    expect(after.find((f) => f.id === inj.id)).toMatchObject({ status: 'suppressed', count: 2 });
    const audit = await listAudit(db, { tenantId: t.tenantId, from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 100 });
    expect(audit.filter((a) => a.action === 'update_finding_status').map((a) => a.details)).toEqual([
      expect.objectContaining({ from: 'open', to: 'resolved', reason: 'masking deployed' }),
      expect.objectContaining({ from: 'open', to: 'suppressed', reason: 'red-team exercise' }),
    ]);
    await expectToolError(services.updateFindingStatus(t.ctx, { findingId: 'fnd_nope', status: 'resolved', reason: 'x' }), 'NOT_FOUND');
  });

  it('discovers MCP servers and tools from tool calls, with shadow and unauthenticated findings', async () => {
    const t = await tenant();
    const res = await t.ingest(mixedBatch([
      { kind: 'tool_call', event: toolCall({ authenticated: false }) },
      { kind: 'tool_call', event: toolCall({ toolName: 'refund', authenticated: false, detections: [{ type: 'email', field: 'tool_input', hash: 'eeee1111' }] }) },
    ]));
    expect(res).toEqual({ accepted: 2, duplicates: 0 });
    const server = await getAsset(db, { tenantId: t.tenantId, id: assetId('mcp', 'mcp_server', 'mcp.tools.svc') });
    expect(server).toMatchObject({ kind: 'mcp_server', domain: 'mcp', governance: 'tolerated', callCount: 2 });
    const tools = await listAssets(db, { tenantId: t.tenantId, domain: 'mcp', limit: 50 });
    expect(tools.assets.filter((a) => a.kind === 'mcp_tool').map((a) => a.name).sort()).toEqual(['refund', 'search_orders']);
    const findings = (await services.listFindings(t.ctx, { limit: 50 })).findings;
    expect(findings.find((f) => f.detector === 'shadow.mcp.mcp.tools.svc')).toMatchObject({ category: 'shadow', assetId: checkout, count: 2 });
    expect(findings.find((f) => f.detector === 'auth.unauthenticated')).toMatchObject({ category: 'authentication', assetId: server!.id, count: 2 });
    expect(findings.find((f) => f.detector === 'pii.tool.email')).toMatchObject({ evidence: expect.objectContaining({ valueHashes: ['eeee1111'] }) });
  });

  it('turns flows to AI providers into unsanctioned assets and shadow findings; flows to databases into data sources', async () => {
    const t = await tenant();
    const f1 = flow();
    const res = await t.ingest(mixedBatch([
      { kind: 'flow', event: f1 },
      { kind: 'flow', event: flow({ ts: '2026-11-20T10:05:00.000Z' }) },
      { kind: 'flow', event: flow({ dstHost: 'orders-db.data.svc', dstPort: 5432, provider: null }) },
      { kind: 'flow', event: flow({ dstHost: 'example.com', dstPort: 443, provider: null }) },
      { kind: 'flow', event: f1 },
    ]));
    expect(res).toEqual({ accepted: 4, duplicates: 1 });
    const mistral = await getAsset(db, { tenantId: t.tenantId, id: assetId('llm', 'provider', 'api.mistral.ai') });
    expect(mistral).toMatchObject({ governance: 'unsanctioned', callCount: 0, attributes: expect.objectContaining({ seenInFlows: 'true' }) });
    const dbAsset = await getAsset(db, { tenantId: t.tenantId, id: assetId('data', 'data_source', 'orders-db.data.svc:5432') });
    expect(dbAsset).toMatchObject({ domain: 'data', kind: 'data_source', attributes: expect.objectContaining({ engine: 'postgresql' }) });
    const notebook = assetId('agents', 'workload', 'research/notebook');
    const findings = (await services.listFindings(t.ctx, { assetId: notebook, limit: 50 })).findings;
    expect(findings.map((f) => f.detector)).toEqual(['shadow.network.api.mistral.ai']);
    expect(findings[0]).toMatchObject({ count: 2, severity: 'high', evidence: expect.objectContaining({ flowIds: expect.arrayContaining([f1.id]) }) });
    const topo = TopologyOutput.parse(await services.topology(t.ctx, { namespace: 'research', limit: 50 }));
    expect(topo.edges.find((e) => e.to === mistral!.id)).toMatchObject({ from: notebook, kind: 'flow', count: 2 });
    expect(topo.nodes.find((n) => n.id === notebook)).toMatchObject({ openFindings: 1, maxSeverity: 'high' });
    const shadowOnly = await services.topology(t.ctx, { governance: 'unsanctioned', limit: 50 });
    expect(shadowOnly.edges.map((e) => e.to)).toEqual([mistral!.id]);
  });

  it('draws who calls what with counts: workload → provider, model, MCP server → tool', async () => {
    const t = await tenant();
    await t.ingest(mixedBatch([
      ...batchOf(llmCall(), llmCall(), llmCall({ model: 'gpt-4o' })).events,
      { kind: 'tool_call', event: toolCall() },
    ]));
    const topo = TopologyOutput.parse(await services.topology(t.ctx, { app: 'checkout', limit: 50 }));
    const edge = (to: string, kind: string) => topo.edges.find((e) => e.to === to && e.kind === kind);
    expect(edge(assetId('llm', 'provider', 'api.openai.com'), 'calls')).toMatchObject({ from: checkout, count: 3 });
    expect(edge(assetId('llm', 'model', 'openai:gpt-4o-mini'), 'model')).toMatchObject({ count: 2 });
    expect(edge(assetId('mcp', 'mcp_server', 'mcp.tools.svc'), 'mcp')).toMatchObject({ from: checkout, count: 1 });
    expect(edge(assetId('mcp', 'mcp_tool', 'mcp.tools.svc/search_orders'), 'tool')).toMatchObject({ from: assetId('mcp', 'mcp_server', 'mcp.tools.svc') });
    const limited = await services.topology(t.ctx, { limit: 1 });
    expect(limited).toMatchObject({ truncated: true });
    expect(limited.edges).toHaveLength(1);
    const other = await tenant();
    expect((await services.topology(other.ctx, { limit: 50 })).edges).toEqual([]);
  });

  it('raises access findings outside the allowlist, compliance gaps for PII to unsanctioned processors, and CVE findings', async () => {
    // the allowlist comes from the tenant's baseline at bootstrap (HIGGS_BASELINE_FILE `sanctioned.destinations`)
    const t = await tenant({ ...sanctioned, destinations: ['*.openai.com'] });
    await t.ingest(batchOf(
      llmCall(),
      llmCall({ provider: 'cohere', host: 'api.cohere.com', model: 'command', detections: [{ type: 'email', field: 'prompt', hash: 'eeee2222' }] }),
    ));
    const findings = (await services.listFindings(t.ctx, { limit: 50 })).findings;
    const cohere = assetId('llm', 'provider', 'api.cohere.com');
    expect(findings.filter((f) => f.category === 'access').map((f) => f.detector)).toEqual(['access.destination.api.cohere.com']);
    expect(findings.find((f) => f.category === 'compliance')).toMatchObject({ assetId: cohere, detector: 'compliance.pii_processor', severity: 'high' });
    const asset = (await getAsset(db, { tenantId: t.tenantId, id: cohere }))!;
    const cve = { id: 'CVE-2026-0001', cvss: 9.8, component: 'vllm 0.5.0', summary: 'remote code execution' };
    const first = await db.transaction((tx) => recordCveFinding(tx, { tenantId: t.tenantId, asset, cve, at: '2026-11-20T10:00:00.000Z' }));
    const second = await db.transaction((tx) => recordCveFinding(tx, { tenantId: t.tenantId, asset, cve, at: '2026-11-20T11:00:00.000Z' }));
    expect(second).toMatchObject({ id: first.id, category: 'cve', severity: 'critical', count: 2, evidence: expect.objectContaining({ cve }) });
  });
});
