/**
 * The attribution part of the TelemetryStore contract (session tool calls, a
 * user's events with keyset paging, token usage for cost), registered inside
 * `describeTelemetryStoreContract` so every implementation runs it.
 */
import type { EnforcementDecision, LlmCall, ToolCall } from '@higgs/schema';
import { expect, it } from 'vitest';
import { eventId, llmCall } from '../testing/fixtures.ts';
import type { SqlClient } from './sql-client.ts';
import { userEventKey, type TelemetryBatch, type TelemetryStore, type TrackKey, type UserEvent } from './telemetry-store.ts';

let counter = 0;
const newTenant = () => `ta_${Date.now().toString(36)}_${(counter += 1)}`;
const SOURCE = { ip: '10.0.0.7', namespace: 'payments', app: 'checkout', mode: 'enforce' } as const;

function toolCall(overrides: Partial<ToolCall> = {}): ToolCall {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', durationMs: 5, host: 'mcp.internal', method: 'tools/call',
    toolName: 'search', input: '{"q":"[EMAIL:1a2b3c4d]","userId":"mallory"}', output: '{"hits":1}', isError: false, source: SOURCE,
    attribution: { userId: null, userSource: null, traceId: null, parentSpanId: null, sessionId: 'sess-1' },
    detections: [], verdict: 'allow', ruleIds: [], ...overrides,
  };
}

function decision(overrides: Partial<EnforcementDecision> = {}): EnforcementDecision {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', callId: null, ruleId: 'rul_1', action: 'block',
    primitive: 'inline', latencyUs: 40, matchedField: null, matchedHash: null, sessionId: 'sess-1', source: SOURCE, ...overrides,
  };
}

const attribution = (userId: string | null, sessionId: string): LlmCall['attribution'] =>
  ({ userId, userSource: userId === null ? null : 'header', traceId: null, parentSpanId: null, sessionId });

export function attributionContractTests(harness: () => { store: TelemetryStore; db: SqlClient }): void {
  async function write(tenantId: string, b: Partial<TelemetryBatch>) {
    const h = harness();
    const staged = await h.db.transaction((tx) => h.store.stage(tx, { tenantId, batch: { calls: [], toolCalls: [], decisions: [], ...b } }));
    await staged.commit();
  }

  it('lists a session\'s MCP tool calls in time order, as recorded, and nothing of other sessions or tenants', async () => {
    const tenantId = newTenant();
    const late = toolCall({ ts: '2026-11-20T10:00:02.000Z', attribution: attribution(null, 's-t') });
    const early = toolCall({ ts: '2026-11-20T10:00:01.000Z', attribution: attribution(null, 's-t'), output: 'quote \' and \\ and 漢字' });
    await write(tenantId, { toolCalls: [late, early, toolCall({ attribution: attribution(null, 's-other') })] });
    await write(newTenant(), { toolCalls: [toolCall({ attribution: attribution(null, 's-t') })] });
    expect(await harness().store.listSessionToolCalls({ tenantId, sessionId: 's-t' })).toEqual([early, late]);
    expect(await harness().store.listSessionToolCalls({ tenantId, sessionId: "s-t' OR 1=1 --" })).toEqual([]);
  });

  it('lists a user\'s calls, tool calls and session decisions newest first, paged by key without loss or repeat', async () => {
    const tenantId = newTenant();
    const at = (s: number) => `2026-11-20T10:00:0${s}.000Z`;
    const own = [
      llmCall({ ts: at(1), attribution: attribution('dana', 's-d1') }),
      // the same millisecond as a tool call and a decision: the kind rank and the id order them
      llmCall({ ts: at(3), attribution: attribution('dana', 's-d1') }),
      llmCall({ ts: at(3), attribution: attribution('dana', 's-d1') }),
      // no user on the call, but in one of the user's sessions (stitched later on the session)
      llmCall({ ts: at(4), attribution: attribution(null, 's-d2') }),
    ];
    const tools = [
      toolCall({ ts: at(3), attribution: attribution('dana', 's-d1') }),
      toolCall({ ts: at(2), attribution: attribution(null, 's-d2') }),
    ];
    const decisions = [decision({ ts: at(3), sessionId: 's-d1' }), decision({ ts: at(5), sessionId: 's-d2' })];
    await write(tenantId, {
      calls: [...own, llmCall({ ts: at(2), attribution: attribution('erin', 's-e') })],
      // mallory appears only inside the recorded tool input: not an attribution
      toolCalls: [...tools, toolCall({ ts: at(2), attribution: attribution('erin', 's-e') })],
      decisions: [...decisions, decision({ ts: at(2), sessionId: 's-e' }), decision({ ts: at(2), sessionId: null })],
    });
    await write(newTenant(), { calls: [llmCall({ ts: at(2), attribution: attribution('dana', 's-d1') })] });
    const range = { from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' };
    const p = { tenantId, userId: 'dana', sessionIds: ['s-d1', 's-d2'], ...range };
    const all = await harness().store.listUserEvents({ ...p, after: null, limit: 50 });
    const ids = (es: typeof all) => es.map((e) => (e.kind === 'decision' ? e.decision.id : e.call.id));
    expect(new Set(ids(all))).toEqual(new Set([...own, ...tools].map((e) => e.id).concat(decisions.map((d) => d.id))));
    const keys = all.map(userEventKey);
    expect(keys.map((k) => k.ts)).toEqual([...keys.map((k) => k.ts)].sort().reverse());

    const paged: typeof all = [];
    let after: TrackKey | null = null;
    for (let guard = 0; guard < 10; guard += 1) {
      const page = await harness().store.listUserEvents({ ...p, after, limit: 3 });
      paged.push(...page);
      if (page.length < 3) break;
      after = userEventKey(page.at(-1)!);
    }
    expect(ids(paged)).toEqual(ids(all));

    expect(await harness().store.listUserEvents({ ...p, userId: 'mallory', sessionIds: [], after: null, limit: 50 })).toEqual([]);
    const onlyOwn = await harness().store.listUserEvents({ ...p, sessionIds: [], after: null, limit: 50 });
    expect(new Set(ids(onlyOwn))).toEqual(new Set([own[0]!.id, own[1]!.id, own[2]!.id, tools[0]!.id]));
  });

  it('pages a user\'s events spread over a year newest first, without loss or repeat (ClickHouse widens its look-back per page)', async () => {
    const tenantId = newTenant();
    const to = Date.parse('2026-11-21T00:00:00.000Z');
    const ago = (hours: number) => new Date(to - hours * 3_600_000).toISOString();
    // an hour, two days, ten days, forty days and a year back; a tool call and a decision among them
    const calls = [1, 2, 49, 240, 960, 961, 8760].map((h) => llmCall({ ts: ago(h), attribution: attribution('wes', 's-w') }));
    const tool = toolCall({ ts: ago(30), attribution: attribution('wes', 's-w') });
    const dec = decision({ ts: ago(500), sessionId: 's-w' });
    await write(tenantId, { calls: [...calls, llmCall({ ts: ago(3), attribution: attribution('vic', 's-v') })], toolCalls: [tool], decisions: [dec] });
    const p = { tenantId, userId: 'wes', sessionIds: ['s-w'], from: '2025-01-01T00:00:00.000Z', to: new Date(to).toISOString() };
    const ids = (es: readonly UserEvent[]) => es.map((e) => (e.kind === 'decision' ? e.decision.id : e.call.id));
    const newestFirst = [calls[0]!.id, calls[1]!.id, tool.id, calls[2]!.id, calls[3]!.id, dec.id, calls[4]!.id, calls[5]!.id, calls[6]!.id];
    for (const limit of [1, 2, 4, 50]) {
      const paged: UserEvent[] = [];
      let after: TrackKey | null = null;
      for (let guard = 0; guard < 20; guard += 1) {
        const page = await harness().store.listUserEvents({ ...p, after, limit });
        paged.push(...page);
        if (page.length < limit) break;
        after = userEventKey(page.at(-1)!);
      }
      expect(ids(paged)).toEqual(newestFirst);
    }
    // the range still bounds: nothing from before `from`
    expect(ids(await harness().store.listUserEvents({ ...p, from: ago(500), after: null, limit: 50 }))).toEqual(newestFirst.slice(0, 6));
  });

  it('sums token usage per day × provider × model × user × workload, calls without usage counted apart', async () => {
    const tenantId = newTenant();
    await write(tenantId, {
      calls: [
        llmCall({ ts: '2026-11-20T09:00:00.000Z', usage: { inputTokens: 1000, outputTokens: 200, cachedTokens: 400 }, attribution: attribution('dana', 's1') }),
        llmCall({ ts: '2026-11-20T23:00:00.000Z', usage: { inputTokens: 10, outputTokens: 2 }, attribution: attribution('dana', 's1') }),
        llmCall({ ts: '2026-11-20T12:00:00.000Z', usage: null, verdict: 'block', status: 403, attribution: attribution('dana', 's1') }),
        llmCall({ ts: '2026-11-21T01:00:00.000Z', usage: { inputTokens: 5, outputTokens: 5 }, model: null, attribution: attribution(null, 's2'),
          source: { ip: '10.0.0.9', namespace: null, app: null, mode: null } }),
        llmCall({ ts: '2026-11-23T01:00:00.000Z', usage: { inputTokens: 7, outputTokens: 7 }, attribution: attribution('dana', 's1') }),
      ],
    });
    await write(newTenant(), { calls: [llmCall({ ts: '2026-11-20T09:00:00.000Z', attribution: attribution('dana', 's1') })] });
    const range = { from: '2026-11-20T00:00:00.000Z', to: '2026-11-22T00:00:00.000Z' };
    const rows = await harness().store.summarizeUsage({ tenantId, ...range });
    const sorted = rows.sort((a, b) => a.day.localeCompare(b.day));
    expect(sorted).toEqual([
      { day: '2026-11-20', provider: 'openai', model: 'gpt-4o-mini', userId: 'dana', namespace: 'payments', app: 'checkout',
        calls: 3, callsWithoutUsage: 1, inputTokens: 1010, outputTokens: 202, cachedTokens: 400 },
      { day: '2026-11-21', provider: 'openai', model: null, userId: null, namespace: null, app: null,
        calls: 1, callsWithoutUsage: 0, inputTokens: 5, outputTokens: 5, cachedTokens: 0 },
    ]);
    expect((await harness().store.summarizeUsage({ tenantId, ...range, userId: 'dana' })).map((r) => r.calls)).toEqual([3]);
    expect(await harness().store.summarizeUsage({ tenantId, ...range, app: 'nope' })).toEqual([]);
  });
}
