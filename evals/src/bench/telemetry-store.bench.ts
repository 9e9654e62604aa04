/**
 * The TelemetryStore on its own (no state effects, no HTTP): how fast each
 * implementation stores LLM calls and replays a long session (~75 LLM calls and
 * 25 MCP tool calls, read as `replay_session` reads them). The issue's end-to-end
 * figures (POST /v1/ingest, p95 with 5 million calls) are tenant-scale's; these
 * show the stores' own ceiling.
 *
 * Replay is timed two ways in the same loop, alternating per session so both see
 * the same load and merges: within the session's first/last seen (what the
 * replay service passes) and without bounds (the baseline: every day is read).
 * The calls span 10 days; a session's lie within a few hours, among 50 sessions
 * active at once.
 */
import { randomUUID } from 'node:crypto';
import type { LlmCall, ToolCall } from '@higgs/schema';
import type { TelemetryStore } from '@higgs/tenant-api';
import { onEveryTelemetryStore, type StageTx } from './telemetry-stores.ts';
import type { BenchResult } from './types.ts';

const SESSION_CALLS = 75;
/** sessions active at once: a session's calls are interleaved with 49 others' */
const CONCURRENT = 50;
const TOOL_CALL_EVERY = 3;
const DAY0 = Date.UTC(2026, 10, 10);
const SPAN_MS = 10 * 86_400_000;
const REPLAYS = 200;

const sessionOf = (i: number) => Math.floor(i / (SESSION_CALLS * CONCURRENT)) * CONCURRENT + (i % CONCURRENT);

function call(i: number, ts: number): LlmCall {
  return {
    id: `evt_${randomUUID().slice(0, 12)}_${i}`, scannerId: 'node-1', ts: new Date(ts).toISOString(),
    durationMs: 120, tap: 'proxy', provider: i % 3 === 0 ? 'anthropic' : 'openai', endpoint: 'chat', host: 'api.openai.com',
    path: '/v1/chat/completions', parsed: true, model: 'gpt-4o-mini', stream: false, system: null,
    messages: [{ role: 'user', content: `Summarise order ${i} for [EMAIL:1a2b3c4d] and list the open items, briefly.` }],
    tools: [], response: { content: 'Done.', finishReason: 'stop', toolCalls: [] }, usage: { inputTokens: 40, outputTokens: 8 },
    status: 200, error: null, source: { ip: '10.0.0.7', namespace: 'payments', app: `app-${i % 20}`, mode: 'enforce' },
    attribution: { userId: `user-${i % 500}@example.com`, userSource: 'baggage', traceId: null, parentSpanId: null, sessionId: `sess-${sessionOf(i)}` },
    detections: i % 10 === 0 ? [{ type: 'email', field: 'prompt', hash: 'aaaa1111' }] as LlmCall['detections'] : [],
    injectionScore: 0, verdict: i % 50 === 0 ? 'block' : 'allow', ruleIds: [],
  };
}

function toolCall(i: number, ts: number): ToolCall {
  return {
    id: `tc_${randomUUID().slice(0, 12)}_${i}`, scannerId: 'node-1', ts: new Date(ts + 1).toISOString(), durationMs: 5,
    host: 'mcp.internal', method: 'tools/call', toolName: 'lookup_order', input: `{"order":${i}}`, output: '{"status":"shipped"}', isError: false,
    source: { ip: '10.0.0.7', namespace: 'payments', app: `app-${i % 20}`, mode: 'enforce' },
    attribution: { userId: null, userSource: null, traceId: null, parentSpanId: null, sessionId: `sess-${sessionOf(i)}` },
    detections: [], verdict: 'allow', ruleIds: [],
  };
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function measure(label: string, store: TelemetryStore, tx: StageTx, total: number, batchSize: number): Promise<BenchResult[]> {
  const tenantId = `bench_${randomUUID().slice(0, 8)}`;
  const stored = total * 3;
  const stepMs = SPAN_MS / stored;
  /** each session's first and last seen, as its sessions row holds them */
  const seen = new Map<string, { first: string; last: string }>();
  const rates: number[] = [];
  let n = 0;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    for (let b = 0; b < total / batchSize; b++) {
      const calls = Array.from({ length: batchSize }, () => call(n, DAY0 + Math.round((n += 1) * stepMs)));
      const staged = await tx.transaction((t) => store.stage(t, { tenantId, batch: { calls, toolCalls: [], decisions: [] } }));
      await staged.commit();
    }
    rates.push(total / ((performance.now() - started) / 1000));
  }
  // the sessions' MCP tool calls, untimed (the ingest figure is LLM calls alone)
  const tools: ToolCall[] = [];
  for (let i = 1; i <= stored; i++) {
    const ts = DAY0 + Math.round(i * stepMs);
    const id = `sess-${sessionOf(i - 1)}`;
    const s = seen.get(id);
    seen.set(id, { first: s?.first ?? new Date(ts).toISOString(), last: new Date(ts + (i % TOOL_CALL_EVERY === 0 ? 1 : 0)).toISOString() });
    if (i % TOOL_CALL_EVERY === 0) tools.push(toolCall(i - 1, ts));
  }
  for (let b = 0; b < tools.length; b += batchSize) {
    const staged = await tx.transaction((t) => store.stage(t, { tenantId, batch: { calls: [], toolCalls: tools.slice(b, b + batchSize), decisions: [] } }));
    await staged.commit();
  }
  const sessions = [...seen.keys()];
  const replay = (sessionId: string, bounded: boolean) => {
    const bounds = bounded ? { seen: seen.get(sessionId)! } : {};
    return Promise.all([store.listSessionExchanges({ tenantId, sessionId, ...bounds }), store.listSessionToolCalls({ tenantId, sessionId, ...bounds })]);
  };
  const [sample] = await replay(sessions[1]!, true);
  if (sample.length !== SESSION_CALLS) throw new Error(`a session replayed ${sample.length} calls, expected ${SESSION_CALLS}`);
  const times = { bounded: [] as number[], unbounded: [] as number[] };
  for (let i = 0; i < REPLAYS; i++) {
    const sessionId = sessions[(i * 7) % sessions.length]!;
    // alternate which goes first, so neither always reads a cache the other warmed
    for (const bounded of i % 2 === 0 ? [true, false] : [false, true]) {
      const started = performance.now();
      await replay(sessionId, bounded);
      times[bounded ? 'bounded' : 'unbounded'].push(performance.now() - started);
    }
  }
  const p95 = percentile(times.bounded, 0.95);
  const base = percentile(times.unbounded, 0.95);
  const fixed = (x: number) => Number(x.toFixed(2));
  return [
    { name: `${label}: store LLM calls (batches of ${batchSize}; median of 3 runs)`, value: Math.round(percentile(rates, 0.5)), unit: 'events/s' },
    {
      name: `${label}: session replay p95, ${SESSION_CALLS} calls + ${SESSION_CALLS / TOOL_CALL_EVERY} tool calls a session, within first/last seen `
        + `(${stored} calls + ${tools.length} tool calls over 10 days; p50 ${percentile(times.bounded, 0.5).toFixed(1)}); baseline: no bounds`,
      value: fixed(p95), unit: 'ms', baseline: fixed(base), ratio: p95 / base, target: 'p95 <= 50 ms', pass: p95 <= 50,
    },
  ];
}

export function run(): Promise<BenchResult[]> {
  return onEveryTelemetryStore((label, store, tx, kind) =>
    (kind === 'pglite' ? measure(label, store, tx, 10_000, 2000) : measure(label, store, tx, 50_000, 5000)));
}
