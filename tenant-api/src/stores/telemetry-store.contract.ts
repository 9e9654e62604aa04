/**
 * The TelemetryStore contract: every implementation runs this suite
 * (telemetry-store.test.ts for PGlite, the *.int.test.ts files for ClickHouse
 * and Postgres). Each test makes its own tenant; telemetry from 2001 belongs to
 * the retention test alone, since retention is system-wide.
 */
import type { EnforcementDecision, LlmCall, ToolCall } from '@higgs/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId, llmCall } from '../testing/fixtures.ts';
import { flowsContractTests } from './flows.contract.ts';
import { attributionContractTests } from './attribution.contract.ts';
import type { SqlClient } from './sql-client.ts';
import type { TelemetryBatch, TelemetryStore } from './telemetry-store.ts';

export interface TelemetryHarness {
  store: TelemetryStore;
  /** the state store the ingest transaction runs in */
  db: SqlClient;
  close(): Promise<void>;
}

let tenantCounter = 0;
const newTenant = () => `tc_${Date.now().toString(36)}_${(tenantCounter += 1)}`;

function decision(overrides: Partial<EnforcementDecision> = {}): EnforcementDecision {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', callId: null, ruleId: 'rul_1', action: 'block',
    primitive: 'inline', latencyUs: 40, matchedField: null, matchedHash: null, sessionId: 'sess-1',
    source: { ip: '10.0.0.7', namespace: 'payments', app: 'checkout', mode: 'enforce' }, ...overrides,
  };
}

function toolCall(overrides: Partial<ToolCall> = {}): ToolCall {
  return {
    id: eventId(), scannerId: 'node-1', ts: '2026-11-20T10:00:00.000Z', durationMs: 5, host: 'mcp.internal', method: 'tools/call',
    toolName: 'search', input: '{"q":"x"}', output: null, isError: false,
    source: { ip: '10.0.0.7', namespace: 'payments', app: 'checkout', mode: 'enforce' },
    attribution: { userId: null, userSource: null, traceId: null, parentSpanId: null, sessionId: 'sess-1' },
    detections: [], verdict: 'allow', ruleIds: [], ...overrides,
  } as ToolCall;
}

const batch = (b: Partial<TelemetryBatch>): TelemetryBatch => ({ calls: [], toolCalls: [], decisions: [], ...b });

export function describeTelemetryStoreContract(name: string, open: () => Promise<TelemetryHarness>): void {
  describe(`TelemetryStore contract: ${name}`, () => {
    let h: TelemetryHarness;
    beforeAll(async () => {
      h = await open();
    }, 120_000);
    afterAll(async () => {
      await h?.close();
    });

    async function write(tenantId: string, b: Partial<TelemetryBatch>) {
      const staged = await h.db.transaction((tx) => h.store.stage(tx, { tenantId, batch: batch(b) }));
      await staged.commit();
      return staged;
    }

    flowsContractTests(() => h);

    attributionContractTests(() => h);

    it('stores each event once: a re-sent batch and a repeated id are duplicates', async () => {
      const tenantId = newTenant();
      const call = llmCall();
      const tool = toolCall();
      const dec = decision();
      const first = await write(tenantId, { calls: [call, call], toolCalls: [tool], decisions: [dec] });
      expect([...first.calls]).toEqual([call.id]);
      expect([...first.toolCalls]).toEqual([tool.id]);
      expect([...first.decisions]).toEqual([dec.id]);
      const again = await write(tenantId, { calls: [call], toolCalls: [tool], decisions: [dec] });
      expect([again.calls.size, again.toolCalls.size, again.decisions.size]).toEqual([0, 0, 0]);
      expect(await h.store.countLlmCalls({ tenantId })).toBe(1);
      // the same id in another tenant is another event
      const other = await write(newTenant(), { calls: [call] });
      expect(other.calls.size).toBe(1);
    });

    it('replays a session in time order with the exchange intact, and nothing of other sessions or tenants', async () => {
      const tenantId = newTenant();
      const text = `quote ' backslash \\ tab \t newline \n unicode é 漢字 😀 braces {tenantId}`;
      const late = llmCall({ ts: '2026-11-20T10:00:02.500Z', attribution: { ...llmCall().attribution, sessionId: 's-a' } });
      const early = llmCall({
        ts: '2026-11-20T10:00:01.250Z', messages: [{ role: 'user', content: text }],
        attribution: { ...llmCall().attribution, sessionId: 's-a' },
      });
      const otherSession = llmCall({ attribution: { ...llmCall().attribution, sessionId: 's-b' } });
      await write(tenantId, { calls: [late, early, otherSession] });
      await write(newTenant(), { calls: [llmCall({ attribution: { ...llmCall().attribution, sessionId: 's-a' } })] });
      const replay = await h.store.listSessionExchanges({ tenantId, sessionId: 's-a' });
      expect(replay.map((e) => e.callId)).toEqual([early.id, late.id]);
      expect(replay[0]).toMatchObject({ ts: early.ts, messages: [{ role: 'user', content: text }], response: 'Done.', model: 'gpt-4o-mini' });
      expect(await h.store.listSessionExchanges({ tenantId, sessionId: "s-a' OR 1=1 --" })).toEqual([]);
    });

    it('replays a session within its first/last seen: exactly its exchanges and tool calls in order, across days', async () => {
      const tenantId = newTenant();
      const att = (sessionId: string) => ({ ...llmCall().attribution, sessionId });
      const base = eventId();
      const [a, b] = [`${base}a`, `${base}b`];
      // a session crossing midnight UTC (two day partitions on ClickHouse); the last event below the millisecond
      const calls = [
        llmCall({ ts: '2026-11-19T23:59:59.998Z', attribution: att('s-seen') }),
        llmCall({ id: b, ts: '2026-11-20T00:00:00.000Z', attribution: att('s-seen') }),
        llmCall({ id: a, ts: '2026-11-20T00:00:00.000Z', attribution: att('s-seen') }),
        llmCall({ ts: '2026-11-20T00:00:07.250Z', attribution: att('s-seen') }),
      ];
      const tools = [
        toolCall({ ts: '2026-11-19T23:59:59.999Z', attribution: { ...toolCall().attribution, sessionId: 's-seen' } }),
        toolCall({ ts: '2026-11-20T00:00:07.5004Z', attribution: { ...toolCall().attribution, sessionId: 's-seen' } }),
      ];
      await write(tenantId, { calls: [...calls].reverse(), toolCalls: [...tools].reverse() });
      // the same session id outside the window, another session inside it, another tenant
      const later = llmCall({ ts: '2026-11-21T09:00:00.000Z', attribution: att('s-seen') });
      const laterTool = toolCall({ ts: '2026-11-21T09:00:00.000Z', attribution: { ...toolCall().attribution, sessionId: 's-seen' } });
      await write(tenantId, {
        calls: [later, llmCall({ ts: '2026-11-20T00:00:01.000Z', attribution: att('s-other') })], toolCalls: [laterTool],
      });
      await write(newTenant(), { calls: [llmCall({ ts: '2026-11-20T00:00:01.000Z', attribution: att('s-seen') })] });

      // as the sessions row holds them: milliseconds, the sub-millisecond last event truncated
      const seen = { first: '2026-11-19T23:59:59.998Z', last: '2026-11-20T00:00:07.500Z' };
      const replay = await h.store.listSessionExchanges({ tenantId, sessionId: 's-seen', seen });
      expect(replay.map((e) => e.callId)).toEqual([calls[0]!.id, a, b, calls[3]!.id]);
      expect(await h.store.listSessionToolCalls({ tenantId, sessionId: 's-seen', seen })).toEqual(tools);
      // bounds select, they do not reorder: without them the later events join at the end
      expect((await h.store.listSessionExchanges({ tenantId, sessionId: 's-seen' })).map((e) => e.callId))
        .toEqual([...replay.map((e) => e.callId), later.id]);
      expect(await h.store.listSessionToolCalls({ tenantId, sessionId: 's-seen' })).toEqual([...tools, laterTool]);
      // a window of one millisecond holds exactly that millisecond's events
      const oneMs = { first: '2026-11-20T00:00:00.000Z', last: '2026-11-20T00:00:00.000Z' };
      expect((await h.store.listSessionExchanges({ tenantId, sessionId: 's-seen', seen: oneMs })).map((e) => e.callId))
        .toEqual([a, b]);
      expect(await h.store.listSessionExchanges({ tenantId, sessionId: "s-seen' OR 1=1 --", seen })).toEqual([]);
    });

    it('counts calls and enforcement actions per tenant (allow decisions are not actions)', async () => {
      const tenantId = newTenant();
      await write(tenantId, {
        calls: [llmCall(), llmCall(), llmCall({ ts: '2026-11-21T08:00:00.000Z' })],
        decisions: [decision(), decision({ action: 'allow' }), decision({ action: 'redact', ts: '2026-11-21T08:00:00.000Z' })],
      });
      await write(newTenant(), { calls: [llmCall()], decisions: [decision()] });
      expect(await h.store.countLlmCalls({ tenantId })).toBe(3);
      expect(await h.store.countEnforcementActions({ tenantId })).toBe(2);
      expect(await h.store.countLlmCalls({ tenantId: newTenant() })).toBe(0);
    });

    it('summarises calls within [from, to) by provider, counting blocks', async () => {
      const tenantId = newTenant();
      await write(tenantId, {
        calls: [
          llmCall({ ts: '2026-11-19T23:59:59.999Z' }),
          llmCall({ ts: '2026-11-20T00:00:00.000Z' }),
          llmCall({ ts: '2026-11-20T12:00:00.000Z', provider: 'anthropic', verdict: 'block' }),
          llmCall({ ts: '2026-11-21T00:00:00.000Z' }),
        ],
      });
      const totals = await h.store.summarizeCalls({ tenantId, from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' });
      expect(totals).toEqual({ total: 2, blocked: 1, byProvider: { anthropic: 1, openai: 1 } });
    });

    it('lists PII flows per type × workload × provider/model with first and last seen', async () => {
      const tenantId = newTenant();
      const email = { type: 'email', field: 'prompt', hash: 'aaaa1111' } as LlmCall['detections'][number];
      const ssn = { type: 'ssn', field: 'prompt', hash: 'bbbb2222' } as LlmCall['detections'][number];
      await write(tenantId, {
        calls: [
          llmCall({ ts: '2026-11-20T09:00:00.000Z', detections: [email, email, ssn] }),
          llmCall({ ts: '2026-11-20T11:00:00.000Z', detections: [email] }),
          llmCall({ ts: '2026-11-20T10:00:00.000Z', detections: [email], source: { ip: '10.0.0.8', namespace: null, app: null, mode: 'observe' } }),
          llmCall({ ts: '2026-11-20T10:00:00.000Z', detections: [] }),
        ],
      });
      const flows = await h.store.listPiiFlows({ tenantId, from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' });
      expect(flows).toEqual([
        { piiType: 'email', namespace: null, app: null, provider: 'openai', model: 'gpt-4o-mini', count: 1,
          firstSeen: '2026-11-20T10:00:00.000Z', lastSeen: '2026-11-20T10:00:00.000Z' },
        { piiType: 'email', namespace: 'payments', app: 'checkout', provider: 'openai', model: 'gpt-4o-mini', count: 2,
          firstSeen: '2026-11-20T09:00:00.000Z', lastSeen: '2026-11-20T11:00:00.000Z' },
        { piiType: 'ssn', namespace: 'payments', app: 'checkout', provider: 'openai', model: 'gpt-4o-mini', count: 1,
          firstSeen: '2026-11-20T09:00:00.000Z', lastSeen: '2026-11-20T09:00:00.000Z' },
      ]);
    });

    it('lists decisions within [from, to) in time order, up to the limit', async () => {
      const tenantId = newTenant();
      const a = decision({ ts: '2026-11-20T10:00:01.000Z' });
      const b = decision({ ts: '2026-11-20T10:00:00.000Z', matchedHash: 'cafe0001' });
      const c = decision({ ts: '2026-11-20T10:00:02.000Z' });
      await write(tenantId, { decisions: [a, b, c, decision({ ts: '2026-11-22T00:00:00.000Z' })] });
      const range = { from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' };
      expect(await h.store.listDecisions({ tenantId, ...range, limit: 10 })).toEqual([b, a, c]);
      expect((await h.store.listDecisions({ tenantId, ...range, limit: 2 })).map((d) => d.id)).toEqual([b.id, a.id]);
    });

    it('retention drops whole days before the given day, and their counts', async () => {
      const tenantId = newTenant();
      await write(tenantId, {
        calls: [llmCall({ ts: '2001-01-01T10:00:00.000Z' }), llmCall({ ts: '2001-01-02T23:59:59.999Z' }), llmCall({ ts: '2001-01-03T00:00:00.000Z' })],
        toolCalls: [toolCall({ ts: '2001-01-01T10:00:00.000Z' })],
        decisions: [decision({ ts: '2001-01-02T10:00:00.000Z' }), decision({ ts: '2001-01-03T10:00:00.000Z' })],
      });
      const dropped = await h.store.dropDaysBefore({ day: '2001-01-03' });
      expect(dropped).toEqual(['2001-01-01', '2001-01-02']);
      expect(await h.store.countLlmCalls({ tenantId })).toBe(1);
      expect(await h.store.countEnforcementActions({ tenantId })).toBe(1);
      expect(await h.store.dropDaysBefore({ day: '2001-01-03' })).toEqual([]);
      await expect(h.store.dropDaysBefore({ day: 'yesterday' })).rejects.toThrow(RangeError);
    });
  });
}
