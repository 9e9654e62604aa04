/**
 * The TelemetryStore port: the scanner's observations (LLM calls, tool calls,
 * enforcement decisions) and the reads the services make over them. Two
 * implementations: the SQL tables beside the state (PGlite by default, or
 * Postgres; `sql-telemetry-store.ts`) and ClickHouse (`clickhouse/`). The
 * contract both honour is `telemetry-store.contract.ts`.
 */
import type { EnforcementDecision, LlmCall, NetworkFlow, SessionExchange, ToolCall } from '@higgs/schema';
import type { CallTotals, PiiFlowRow } from './calls-repository.ts';
import type { FlowSummaryRow } from './flows-repository.ts';
import type { SqlExecutor } from './sql-client.ts';

export type { CallTotals, FlowSummaryRow, PiiFlowRow };

export interface TelemetryBatch {
  calls: readonly LlmCall[];
  toolCalls: readonly ToolCall[];
  decisions: readonly EnforcementDecision[];
}

/** The ids of a staged batch that were not stored before, per kind. */
export interface StagedTelemetry {
  calls: Set<string>;
  toolCalls: Set<string>;
  decisions: Set<string>;
  /**
   * Makes the new events durable. Call it after the state transaction `stage`
   * ran in has committed: the SQL store wrote them in that transaction already
   * (commit is a no-op); ClickHouse writes them here, so a failed state
   * transaction never leaves events stored without their findings.
   */
  commit(): Promise<void>;
}

export interface TelemetryStore {
  readonly kind: 'sql' | 'clickhouse';
  /** Finds which events are new (idempotent on the event id per tenant) and stages them; see `StagedTelemetry.commit`. */
  stage(tx: SqlExecutor, p: { tenantId: string; batch: TelemetryBatch }): Promise<StagedTelemetry>;
  /** The session's LLM calls in time order (at most 1000), as replayable exchanges. */
  listSessionExchanges(p: { tenantId: string; sessionId: string }): Promise<SessionExchange[]>;
  countLlmCalls(p: { tenantId: string }): Promise<number>;
  /** Decisions that did something (anything but allow). */
  countEnforcementActions(p: { tenantId: string }): Promise<number>;
  /** LLM calls within [from, to): total, blocked, per provider. */
  summarizeCalls(p: { tenantId: string; from: string; to: string }): Promise<CallTotals>;
  /** Calls carrying each PII type, per workload × provider/model, within [from, to). */
  listPiiFlows(p: { tenantId: string; from: string; to: string }): Promise<PiiFlowRow[]>;
  listDecisions(p: { tenantId: string; from: string; to: string; limit: number }): Promise<EnforcementDecision[]>;
  /**
   * Stages network flows as `stage` does the other kinds: idempotent on the flow id per tenant,
   * `ids` the new ones; `commit` after the state transaction committed.
   */
  stageFlows(tx: SqlExecutor, p: { tenantId: string; flows: readonly NetworkFlow[] }): Promise<{ ids: Set<string>; commit(): Promise<void> }>;
  /** Flows within [from, to) per workload × destination (host or IP) × port × provider, sorted by those keys, NULLs first. */
  summarizeFlows(p: { tenantId: string; from: string; to: string }): Promise<FlowSummaryRow[]>;
  /**
   * Retention, for every tenant: removes the telemetry of the UTC days before
   * `day` (YYYY-MM-DD). ClickHouse drops whole day partitions. Returns the days removed.
   */
  dropDaysBefore(p: { day: string }): Promise<string[]>;
  close(): Promise<void>;
}

/** An LLM call as session replay shows it. */
export function toSessionExchange(c: LlmCall): SessionExchange {
  return {
    callId: c.id,
    ts: c.ts,
    provider: c.provider,
    model: c.model,
    endpoint: c.endpoint,
    system: c.system,
    messages: c.messages,
    response: c.response?.content ?? null,
    toolCalls: c.response?.toolCalls ?? [],
    usage: c.usage,
    status: c.status,
    verdict: c.verdict,
    ruleIds: c.ruleIds,
    detections: c.detections,
    injectionScore: c.injectionScore,
  };
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Validates a retention day (YYYY-MM-DD) and returns its start as epoch ms. */
export function dayStartMs(day: string): number {
  const ms = DAY.test(day) ? Date.parse(`${day}T00:00:00.000Z`) : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError(`not a day (YYYY-MM-DD): ${day}`);
  return ms;
}
