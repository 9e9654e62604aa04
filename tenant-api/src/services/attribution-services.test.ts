import {
  CostReportOutput, DataTracksOutput, type IngestBatch, ListSessionsOutput, type LlmCall, ReplaySessionOutput, type ToolCall, UserTrackOutput,
} from '@higgs/schema';
import { ToolError, type HiggsServices, type ServiceContext } from '@higgs/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CostSettings } from '../cost/index.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import { createPolicyNotifier } from '../policy/policy-notifier.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { createTestTenant, eventId, llmCall, openTestDb } from '../testing/fixtures.ts';
import { createHiggsServices } from './higgs-services.ts';

let db: SqlClient;
let services: HiggsServices;
const NOW = new Date('2026-11-21T12:00:00.000Z');
beforeAll(async () => {
  db = await openTestDb();
  services = createHiggsServices({
    db, notifier: createPolicyNotifier(), now: () => NOW,
    cost: CostSettings.parse({
      prices: { openai_compatible: { models: { 'llama-3-70b': { input: 0.5, output: 1 } } }, openai: { models: { 'gpt-4o-mini': { input: 1, output: 2 } } } },
      teams: { apps: { frontdoor: 'web' }, namespaces: { payments: 'payments-team' } },
    }),
  });
}, 60_000);
afterAll(async () => { await db?.close(); });

const TRACE = 'a'.repeat(31) + '1';
const A = { ip: '10.0.0.1', namespace: 'web', app: 'frontdoor', mode: 'observe' } as const;
const B = { ip: '10.0.0.2', namespace: 'payments', app: 'checkout', mode: 'enforce' } as const;
const traced = (userId: string | null, traceId: string, source: LlmCall['attribution']['userSource'] = 'jwt'): LlmCall['attribution'] => ({
  userId, userSource: userId === null ? null : source, traceId, parentSpanId: 'b'.repeat(16), sessionId: `t-${traceId}`,
});

function toolCall(overrides: Partial<ToolCall>): ToolCall {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', durationMs: 5, host: 'mcp.internal', method: 'tools/call',
    toolName: 'lookup_order', input: '{"order":"[EMAIL:1a2b3c4d]"}', output: '{"status":"shipped"}', isError: false, source: B,
    attribution: traced(null, TRACE), detections: [{ type: 'email', field: 'tool_input', hash: 'aaaa1111' }], verdict: 'allow', ruleIds: [],
    ...overrides,
  };
}

const batch = (...events: IngestBatch['events']): IngestBatch => ({ scannerId: 'node-1', events });
const call = (event: LlmCall) => ({ kind: 'llm_call' as const, event });
const tool = (event: ToolCall) => ({ kind: 'tool_call' as const, event });

async function expectToolError(promise: Promise<unknown>, code: string) {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ToolError);
  expect((err as ToolError).code).toBe(code);
}

/** Service A (user from a JWT) and service B (no user, same trace) call LLMs; B also calls an MCP tool. */
async function threeHopTenant() {
  const t = await createTestTenant(db, { namespaces: ['payments', 'web'], providers: ['openai'] });
  const ctx: ServiceContext = { principal: t.admin };
  const hopA = llmCall({ ts: '2026-11-20T10:00:00.000Z', source: A, attribution: traced('dana@example.com', TRACE) });
  const hopB = llmCall({
    ts: '2026-11-20T10:00:02.000Z', source: B, attribution: traced(null, TRACE), usage: { inputTokens: 1000, outputTokens: 500 },
    detections: [{ type: 'ssn', field: 'prompt', hash: 'bbbb2222' }],
  });
  const mcp = toolCall({ ts: '2026-11-20T10:00:01.000Z' });
  await ingestBatch(db, { tenantId: t.tenantId, batch: batch(call(hopA), call(hopB), tool(mcp)) });
  return { ...t, ctx, hopA, hopB, mcp };
}

describe('attribution services over PGlite', () => {
  it('attributes a later hop of a trace to the user an earlier hop carried (userSource trace), within the tenant only', async () => {
    const { ctx, tenantId, hopB, mcp } = await threeHopTenant();
    const replay = ReplaySessionOutput.parse(await services.replaySession(ctx, { sessionId: `t-${TRACE}` }));
    expect(replay.session).toMatchObject({ userId: 'dana@example.com', userSource: 'jwt', traceId: TRACE, callCount: 2, toolCallCount: 1 });
    const track = UserTrackOutput.parse(await services.userTrack(ctx, { userId: 'dana@example.com', limit: 50 }));
    expect(track.events.find((e) => e.id === hopB.id)).toMatchObject({ kind: 'llm_call', userSource: 'trace', app: 'checkout' });
    expect(track.events.find((e) => e.id === mcp.id)).toMatchObject({ kind: 'tool_call', userSource: 'trace', toolName: 'lookup_order' });

    // a user-less hop that arrives after the trace's user is known is attributed too, even in another batch
    const late = llmCall({ ts: '2026-11-20T10:00:05.000Z', source: B, attribution: traced(null, TRACE) });
    await ingestBatch(db, { tenantId, batch: batch(call(late)) });
    const again = UserTrackOutput.parse(await services.userTrack(ctx, { userId: 'dana@example.com', limit: 50 }));
    expect(again.events[0]).toMatchObject({ id: late.id, userSource: 'trace' });

    // the same trace id in another tenant learns nothing from this one
    const other = await createTestTenant(db);
    const foreign = llmCall({ ts: '2026-11-20T10:00:06.000Z', source: B, attribution: traced(null, TRACE) });
    await ingestBatch(db, { tenantId: other.tenantId, batch: batch(call(foreign)) });
    const otherReplay = await services.replaySession({ principal: other.admin }, { sessionId: `t-${TRACE}` });
    expect(otherReplay.session.userId).toBeNull();
    expect((await services.userTrack({ principal: other.admin }, { userId: 'dana@example.com', limit: 50 })).events).toEqual([]);
  });

  it('gives a session its user when the user-bearing hop arrives after the others', async () => {
    const t = await createTestTenant(db);
    const trace = 'c'.repeat(32);
    await ingestBatch(db, { tenantId: t.tenantId, batch: batch(call(llmCall({ source: B, attribution: traced(null, trace) }))) });
    const before = await services.replaySession({ principal: t.admin }, { sessionId: `t-${trace}` });
    expect(before.session.userId).toBeNull();
    await ingestBatch(db, { tenantId: t.tenantId, batch: batch(call(llmCall({ source: A, attribution: traced('erin', trace, 'header') }))) });
    const after = await services.replaySession({ principal: t.admin }, { sessionId: `t-${trace}` });
    expect(after.session).toMatchObject({ userId: 'erin', userSource: 'header', callCount: 2 });
    // the early call is the user's through its session
    const track = await services.userTrack({ principal: t.admin }, { userId: 'erin', limit: 50 });
    expect(track.events.filter((e) => e.kind === 'llm_call')).toHaveLength(2);
  });

  it('replays LLM exchanges and MCP tool calls merged in time order, as recorded; NOT_FOUND across tenants', async () => {
    const { ctx, hopA, hopB, mcp } = await threeHopTenant();
    const replay = ReplaySessionOutput.parse(await services.replaySession(ctx, { sessionId: `t-${TRACE}` }));
    expect(replay.steps).toEqual([
      { kind: 'llm_call', id: hopA.id, ts: hopA.ts }, { kind: 'tool_call', id: mcp.id, ts: mcp.ts }, { kind: 'llm_call', id: hopB.id, ts: hopB.ts },
    ]);
    expect(replay.toolCalls).toEqual([expect.objectContaining({ toolCallId: mcp.id, input: '{"order":"[EMAIL:1a2b3c4d]"}', piiTypes: ['email'] })]);
    expect(replay.exchanges[1]).toMatchObject({ callId: hopB.id, detections: [{ type: 'ssn', hash: 'bbbb2222' }] });
    const stranger = await createTestTenant(db);
    await expectToolError(services.replaySession({ principal: stranger.admin }, { sessionId: `t-${TRACE}` }), 'NOT_FOUND');
  });

  it('lists sessions by user, app, namespace and time, most recent first, paged without loss', async () => {
    const t = await createTestTenant(db);
    const ctx = { principal: t.admin };
    const calls = Array.from({ length: 7 }, (_, i) => llmCall({
      ts: `2026-11-20T1${i}:00:00.000Z`, source: i % 2 === 0 ? A : B,
      attribution: { userId: i < 5 ? 'dana' : 'erin', userSource: 'header', traceId: null, parentSpanId: null, sessionId: `s-${i}` },
    }));
    await ingestBatch(db, { tenantId: t.tenantId, batch: batch(...calls.map(call)) });
    const all = ListSessionsOutput.parse(await services.listSessions(ctx, { limit: 50 }));
    expect(all.sessions.map((s) => s.id)).toEqual(['s-6', 's-5', 's-4', 's-3', 's-2', 's-1', 's-0']);
    const pages: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await services.listSessions(ctx, { limit: 3, ...(cursor ? { cursor } : {}) });
      pages.push(...page.sessions.map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages).toEqual(all.sessions.map((s) => s.id));
    expect((await services.listSessions(ctx, { userId: 'erin', limit: 50 })).sessions.map((s) => s.id)).toEqual(['s-6', 's-5']);
    expect((await services.listSessions(ctx, { app: 'checkout', userId: 'dana', limit: 50 })).sessions.map((s) => s.id)).toEqual(['s-3', 's-1']);
    expect((await services.listSessions(ctx, { namespace: 'web', from: '2026-11-20T13:00:00.000Z', to: '2026-11-20T16:00:00.000Z', limit: 50 }))
      .sessions.map((s) => s.id)).toEqual(['s-4']);
    expect((await services.listSessions({ principal: (await createTestTenant(db)).admin }, { limit: 50 })).sessions).toEqual([]);
  });

  it('tracks a user: calls, tool calls, decisions on their sessions and findings naming them, newest first, paged', async () => {
    const { ctx, tenantId, hopA, hopB, mcp } = await threeHopTenant();
    const block = { id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:03.000Z', callId: hopB.id, ruleId: 'rul_x', action: 'block' as const,
      primitive: 'inline' as const, latencyUs: 30, matchedField: 'prompt', matchedHash: 'cafe', sessionId: `t-${TRACE}`, source: B };
    await ingestBatch(db, { tenantId, batch: batch({ kind: 'decision', event: block }) });
    const full = UserTrackOutput.parse(await services.userTrack(ctx, { userId: 'dana@example.com', limit: 200 }));
    const kinds = new Set(full.events.map((e) => e.kind));
    expect(kinds).toEqual(new Set(['llm_call', 'tool_call', 'decision', 'finding']));
    expect(full.events.filter((e) => e.kind !== 'finding').map((e) => e.id)).toEqual([block.id, hopB.id, mcp.id, hopA.id]);
    // the SSN sent by B on dana's behalf names her on its finding
    expect(full.events.some((e) => e.kind === 'finding' && e.category === 'pii')).toBe(true);

    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = UserTrackOutput.parse(await services.userTrack(ctx, { userId: 'dana@example.com', limit: 2, ...(cursor ? { cursor } : {}) }));
      paged.push(...page.events.map((e) => `${e.kind}:${e.id}`));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual(full.events.map((e) => `${e.kind}:${e.id}`));
    await expectToolError(services.userTrack(ctx, { userId: 'dana@example.com', limit: 2, cursor: 'not-a-cursor' }), 'INVALID_INPUT');
  });

  it('reports PII flows by type × source app × provider/model, with filters and totals', async () => {
    const { ctx } = await threeHopTenant();
    const out = DataTracksOutput.parse(await services.dataTracks(ctx, { from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' }));
    expect(out.flows).toEqual([expect.objectContaining({ piiType: 'ssn', app: 'checkout', provider: 'openai', model: 'gpt-4o-mini', count: 1 })]);
    expect(out.totals).toEqual({ ssn: 1 });
    expect((await services.dataTracks(ctx, { from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z', app: 'frontdoor' })).flows).toEqual([]);
    // default range: the last 7 days before now
    expect((await services.dataTracks(ctx, {})).range).toEqual({ from: '2026-11-14T12:00:00.000Z', to: '2026-11-21T12:00:00.000Z' });
    await expectToolError(services.dataTracks(ctx, { from: '2026-11-21T00:00:00.000Z', to: '2026-11-20T00:00:00.000Z' }), 'INVALID_INPUT');
  });

  it('costs calls by user, team, app and model from the price table and overrides; unknown models are unpriced, not free', async () => {
    const t = await createTestTenant(db);
    const ctx = { principal: t.admin };
    const attribution = (userId: string | null) => ({ userId, userSource: userId ? 'header' as const : null, traceId: null, parentSpanId: null, sessionId: `s-${userId}` });
    await ingestBatch(db, {
      tenantId: t.tenantId,
      batch: batch(
        // overridden: gpt-4o-mini at $1 in / $2 out per million
        call(llmCall({ ts: '2026-11-19T10:00:00.000Z', source: B, attribution: attribution('dana'), usage: { inputTokens: 1_000_000, outputTokens: 500_000 } })),
        // table: claude-3-5-sonnet $3 / $15, cache reads $0.30 reported beside the input
        call(llmCall({ ts: '2026-11-20T10:00:00.000Z', source: A, provider: 'anthropic', model: 'claude-3-5-sonnet-20241022',
          attribution: attribution('dana'), usage: { inputTokens: 100_000, outputTokens: 10_000, cachedTokens: 1_000_000 } })),
        // self-hosted, not in the table
        call(llmCall({ ts: '2026-11-20T11:00:00.000Z', source: A, provider: 'openai_compatible', model: 'qwen-local', attribution: attribution('erin'),
          usage: { inputTokens: 50, outputTokens: 50 } })),
        // blocked before the provider: no usage
        call(llmCall({ ts: '2026-11-20T12:00:00.000Z', source: B, attribution: attribution(null), usage: null, verdict: 'block', status: 403 })),
      ),
    });
    const range = { from: '2026-11-19T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' };
    const byUser = CostReportOutput.parse(await services.costReport(ctx, { by: 'user', ...range }));
    const claude = 3 * 0.1 + 15 * 0.01 + 0.3 * 1;
    expect(byUser.rows).toEqual([
      { key: 'dana', calls: 2, tokens: { input: 1_100_000, output: 510_000, cached: 1_000_000 }, costUsd: 2 + claude, unpricedCalls: 0,
        callsWithoutUsage: 0, unpricedModels: [] },
      { key: 'erin', calls: 1, tokens: { input: 50, output: 50, cached: 0 }, costUsd: 0, unpricedCalls: 1, callsWithoutUsage: 0,
        unpricedModels: ['openai_compatible/qwen-local'] },
      { key: null, calls: 1, tokens: { input: 0, output: 0, cached: 0 }, costUsd: 0, unpricedCalls: 0, callsWithoutUsage: 1, unpricedModels: [] },
    ]);
    expect(byUser.days).toEqual([
      { day: '2026-11-19', calls: 1, costUsd: 2, unpricedCalls: 0 },
      { day: '2026-11-20', calls: 3, costUsd: Math.round(claude * 1e6) / 1e6, unpricedCalls: 1 },
    ]);
    expect(byUser.total).toEqual({ calls: 4, costUsd: Math.round((2 + claude) * 1e6) / 1e6, unpricedCalls: 1 });
    expect(byUser.prices).toMatchObject({ asOf: '2025-06-01', overridden: 2 });

    const byTeam = await services.costReport(ctx, { by: 'team', ...range });
    expect(byTeam.rows.map((r) => [r.key, r.calls])).toEqual([['payments-team', 2], ['web', 2]]);
    expect((await services.costReport(ctx, { by: 'model', team: 'web', ...range })).rows.map((r) => r.key))
      .toEqual(['anthropic/claude-3-5-sonnet-20241022', 'openai_compatible/qwen-local']);
    expect((await services.costReport(ctx, { by: 'app', userId: 'erin', ...range })).rows.map((r) => r.key)).toEqual(['frontdoor']);
    expect((await services.costReport({ principal: (await createTestTenant(db)).admin }, { by: 'user', ...range })).rows).toEqual([]);
  });
});
