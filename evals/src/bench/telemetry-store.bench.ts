/**
 * The TelemetryStore on its own (no state effects, no HTTP): how fast each
 * implementation stores LLM calls and replays a session. The issue's end-to-end
 * figures (POST /v1/ingest at ≥ 50 000 events/s, p95 with 5 million calls) need
 * the ingest path and a larger data set; these show the stores' own ceiling.
 */
import { randomUUID } from 'node:crypto';
import type { LlmCall } from '@higgs/schema';
import type { TelemetryStore } from '@higgs/tenant-api';
import { onEveryTelemetryStore, type StageTx } from './telemetry-stores.ts';
import type { BenchResult } from './types.ts';

function call(i: number, sessionId: string): LlmCall {
  return {
    id: `evt_${randomUUID().slice(0, 12)}_${i}`, scannerId: 'node-1', ts: new Date(Date.UTC(2026, 10, 20) + i * 7).toISOString(),
    durationMs: 120, tap: 'proxy', provider: i % 3 === 0 ? 'anthropic' : 'openai', endpoint: 'chat', host: 'api.openai.com',
    path: '/v1/chat/completions', parsed: true, model: 'gpt-4o-mini', stream: false, system: null,
    messages: [{ role: 'user', content: `Summarise order ${i} for [EMAIL:1a2b3c4d] and list the open items, briefly.` }],
    tools: [], response: { content: 'Done.', finishReason: 'stop', toolCalls: [] }, usage: { inputTokens: 40, outputTokens: 8 },
    status: 200, error: null, source: { ip: '10.0.0.7', namespace: 'payments', app: `app-${i % 20}`, mode: 'enforce' },
    attribution: { userId: `user-${i % 500}@example.com`, userSource: 'baggage', traceId: null, parentSpanId: null, sessionId },
    detections: i % 10 === 0 ? [{ type: 'email', field: 'prompt', hash: 'aaaa1111' }] as LlmCall['detections'] : [],
    injectionScore: 0, verdict: i % 50 === 0 ? 'block' : 'allow', ruleIds: [],
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(
  label: string, store: TelemetryStore, tx: StageTx, total: number, batchSize: number,
): Promise<BenchResult[]> {
  const tenantId = `bench_${randomUUID().slice(0, 8)}`;
  const rates: number[] = [];
  let n = 0;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    for (let b = 0; b < total / batchSize; b++) {
      const calls = Array.from({ length: batchSize }, () => call((n += 1), `sess-${n % 2000}`));
      const staged = await tx.transaction((t) => store.stage(t, { tenantId, batch: { calls, toolCalls: [], decisions: [] } }));
      await staged.commit();
    }
    rates.push(total / ((performance.now() - started) / 1000));
  }
  const replay: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    await store.listSessionExchanges({ tenantId, sessionId: `sess-${(i * 7) % 2000}` });
    replay.push(performance.now() - started);
  }
  replay.sort((a, b) => a - b);
  const stored = await store.countLlmCalls({ tenantId });
  return [
    { name: `${label}: store LLM calls (batches of ${batchSize})`, value: Math.round(median(rates)), unit: 'events/s' },
    { name: `${label}: session replay p95 (${stored} calls stored, ~${Math.round(stored / 2000)} per session)`,
      value: Number(replay[Math.floor(replay.length * 0.95)]!.toFixed(2)), unit: 'ms', target: 'p95 <= 50 ms', pass: replay[Math.floor(replay.length * 0.95)]! <= 50 },
  ];
}

export function run(): Promise<BenchResult[]> {
  return onEveryTelemetryStore((label, store, tx, kind) =>
    (kind === 'pglite' ? measure(label, store, tx, 10_000, 2000) : measure(label, store, tx, 50_000, 5000)));
}
