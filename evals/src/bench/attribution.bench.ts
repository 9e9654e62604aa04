/**
 * The attribution reads on each TelemetryStore: replay with MCP tool calls
 * (against the LLM-only replay as the baseline, same run, same data), a user's
 * timeline page, and the token usage behind cost_report. p95 of 100 reads per
 * round, the median of 3 rounds (the machine is shared: medians, not one run).
 */
import { randomUUID } from 'node:crypto';
import type { LlmCall, ToolCall } from '@higgs/schema';
import type { TelemetryStore } from '@higgs/tenant-api';
import { onEveryTelemetryStore, type StageTx } from './telemetry-stores.ts';
import type { BenchResult } from './types.ts';

const SESSIONS = 2000;
const USERS = 500;
const DAY0 = Date.UTC(2026, 10, 1);

function llmCall(i: number): LlmCall {
  const session = i % SESSIONS;
  return {
    id: `evt_${randomUUID().slice(0, 12)}_${i}`, scannerId: 'node-1', ts: new Date(DAY0 + i * 60_000).toISOString(),
    durationMs: 120, tap: 'proxy', provider: i % 3 === 0 ? 'anthropic' : 'openai', endpoint: 'chat', host: 'api.openai.com',
    path: '/v1/chat/completions', parsed: true, model: i % 3 === 0 ? 'claude-sonnet-4' : 'gpt-4o-mini', stream: false, system: null,
    messages: [{ role: 'user', content: `Summarise order ${i} for [EMAIL:1a2b3c4d] and list the open items, briefly.` }],
    tools: [], response: { content: 'Done.', finishReason: 'stop', toolCalls: [] }, usage: { inputTokens: 40, outputTokens: 8, cachedTokens: 10 },
    status: 200, error: null, source: { ip: '10.0.0.7', namespace: 'payments', app: `app-${i % 20}`, mode: 'enforce' },
    attribution: { userId: `user-${session % USERS}@example.com`, userSource: 'baggage', traceId: null, parentSpanId: null, sessionId: `sess-${session}` },
    detections: [], injectionScore: 0, verdict: 'allow', ruleIds: [],
  };
}

function toolCall(i: number): ToolCall {
  const session = i % SESSIONS;
  return {
    id: `tc_${randomUUID().slice(0, 12)}_${i}`, scannerId: 'node-1', ts: new Date(DAY0 + i * 60_000 + 30_000).toISOString(), durationMs: 5,
    host: 'mcp.internal', method: 'tools/call', toolName: 'lookup_order', input: `{"order":${i}}`, output: '{"status":"shipped"}', isError: false,
    source: { ip: '10.0.0.7', namespace: 'payments', app: `app-${i % 20}`, mode: 'enforce' },
    attribution: { userId: `user-${session % USERS}@example.com`, userSource: 'baggage', traceId: null, parentSpanId: null, sessionId: `sess-${session}` },
    detections: [], verdict: 'allow', ruleIds: [],
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function p95(reads: number, read: (i: number) => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < reads; i++) {
    const started = performance.now();
    await read(i);
    ms.push(performance.now() - started);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length * 0.95)]!;
}

async function measure(
  label: string, store: TelemetryStore, tx: StageTx, calls: number, batchSize: number,
): Promise<BenchResult[]> {
  const tenantId = `bench_${randomUUID().slice(0, 8)}`;
  for (let b = 0; b < calls / batchSize; b++) {
    const batch = Array.from({ length: batchSize }, (_, k) => b * batchSize + k);
    const staged = await tx.transaction((t) => store.stage(t, {
      tenantId, batch: { calls: batch.map(llmCall), toolCalls: batch.filter((i) => i % 4 === 0).map(toolCall), decisions: [] },
    }));
    await staged.commit();
  }
  const range = { from: new Date(DAY0).toISOString(), to: new Date(DAY0 + calls * 60_000 + 86_400_000).toISOString() };
  const session = (i: number) => `sess-${(i * 7) % SESSIONS}`;
  const rounds = { base: [] as number[], replay: [] as number[], track: [] as number[], usage: [] as number[] };
  for (let round = 0; round < 3; round++) {
    rounds.base.push(await p95(100, (i) => store.listSessionExchanges({ tenantId, sessionId: session(i) })));
    rounds.replay.push(await p95(100, (i) => Promise.all([
      store.listSessionExchanges({ tenantId, sessionId: session(i) }), store.listSessionToolCalls({ tenantId, sessionId: session(i) }),
    ])));
    rounds.track.push(await p95(100, (i) => {
      const user = (i * 13) % USERS;
      // the user's sessions, as user_track reads them from the state store
      const sessionIds = Array.from({ length: SESSIONS / USERS }, (_, k) => `sess-${user + k * USERS}`);
      return store.listUserEvents({ tenantId, userId: `user-${user}@example.com`, sessionIds, ...range, after: null, limit: 51 });
    }));
    rounds.usage.push(await p95(20, () => store.summarizeUsage({ tenantId, ...range })));
  }
  const base = median(rounds.base);
  const replay = median(rounds.replay);
  const fixed = (n: number) => Number(n.toFixed(2));
  const perSession = `${calls} calls + ${calls / 4} tool calls, ~${Math.round(calls / SESSIONS)} calls per session`;
  return [
    { name: `${label}: replay with MCP tool calls p95 (${perSession}); baseline LLM-only replay`, value: fixed(replay), unit: 'ms',
      baseline: fixed(base), ratio: replay / base, target: 'p95 <= 50 ms', pass: replay <= 50 },
    { name: `${label}: user_track page of 50 p95 (${USERS} users, ${SESSIONS / USERS} sessions each)`, value: fixed(median(rounds.track)), unit: 'ms' },
    { name: `${label}: cost usage over ${Math.round(calls / 1440)} days p95`, value: fixed(median(rounds.usage)), unit: 'ms' },
  ];
}

export function run(): Promise<BenchResult[]> {
  return onEveryTelemetryStore((label, store, tx, kind) =>
    (kind === 'pglite' ? measure(label, store, tx, 20_000, 2000) : measure(label, store, tx, 100_000, 5000)));
}
