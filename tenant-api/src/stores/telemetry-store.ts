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
  /**
   * The session's LLM calls in time order (at most 1000), as replayable exchanges; with `seen`, only
   * those observed within it (pass the session's first/last seen so ClickHouse reads only those days).
   */
  listSessionExchanges(p: { tenantId: string; sessionId: string; seen?: SessionSeen | undefined }): Promise<SessionExchange[]>;
  countLlmCalls(p: { tenantId: string }): Promise<number>;
  /** Decisions that did something (anything but allow). */
  countEnforcementActions(p: { tenantId: string }): Promise<number>;
  /** LLM calls within [from, to): total, blocked, per provider. */
  summarizeCalls(p: { tenantId: string; from: string; to: string }): Promise<CallTotals>;
  /** Calls carrying each PII type, per workload × provider/model, within [from, to). */
  listPiiFlows(p: { tenantId: string; from: string; to: string }): Promise<PiiFlowRow[]>;
  listDecisions(p: { tenantId: string; from: string; to: string; limit: number }): Promise<EnforcementDecision[]>;
  /** The session's MCP tool calls in time order (at most 1000), as recorded (redactions applied by the scanner); `seen` as above. */
  listSessionToolCalls(p: { tenantId: string; sessionId: string; seen?: SessionSeen | undefined }): Promise<ToolCall[]>;
  /**
   * A user's LLM calls, tool calls (theirs: `userId` on the call, or in one of
   * `sessionIds`) and the decisions on those sessions, within [from, to), in
   * TRACK_ORDER after `after` (the previous page's last key), at most `limit`.
   */
  listUserEvents(p: {
    tenantId: string; userId: string; sessionIds: readonly string[]; from: string; to: string; after: TrackKey | null; limit: number;
  }): Promise<UserEvent[]>;
  /**
   * Token usage of the LLM calls per UTC day × provider × model × user × workload,
   * optionally for one user or app. The SQL store honours [from, to) exactly;
   * ClickHouse reads its daily rollup, so there the range is whole UTC days.
   */
  summarizeUsage(p: { tenantId: string; from: string; to: string; userId?: string | undefined; app?: string | undefined }): Promise<UsageRow[]>;
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
  /** Events accepted but not in the store yet (ClickHouse: held in its outbox); absent where commits cannot be refused late. */
  heldEvents?(): number;
  close(): Promise<void>;
}

/**
 * When a session's events were observed: its state row's first and last seen, both inclusive. The
 * sessions row is written in the ingest transaction, before ClickHouse commits the events, so it always
 * covers them. Replay passes it so ClickHouse prunes the day partitions outside it.
 */
export interface SessionSeen {
  first: string;
  last: string;
}

/**
 * `seen` as epoch-millisecond bounds, `[fromMs, toMs)`: the upper bound is one past the last
 * millisecond, so an event stamped below a millisecond (ISO times may carry microseconds) stays in.
 */
export function seenRange(seen: SessionSeen): { fromMs: number; toMs: number } {
  const fromMs = Date.parse(seen.first);
  const toMs = Date.parse(seen.last) + 1;
  if (Number.isNaN(fromMs) || Number.isNaN(toMs)) throw new RangeError(`not a time range: ${seen.first} .. ${seen.last}`);
  return { fromMs, toMs };
}

/** One event of a user's timeline as the telemetry holds it (findings come from the state store). */
export type UserEvent =
  | { kind: 'llm_call'; call: LlmCall }
  | { kind: 'tool_call'; call: ToolCall }
  | { kind: 'decision'; decision: EnforcementDecision };

/** Where a timeline page ended: its last event's time, kind rank and id. */
export interface TrackKey {
  ts: string;
  rank: number;
  id: string;
}

/** Kind ranks of TRACK_ORDER: at the same millisecond a finding sorts before a decision, a tool call, an LLM call. */
export const TRACK_RANK = { llm_call: 0, tool_call: 1, decision: 2, finding: 3 } as const;

/** TRACK_ORDER: newest first, then higher rank, then greater id (bytewise). Negative when `a` comes first. */
export function compareTrackKeys(a: TrackKey, b: TrackKey): number {
  const dt = Date.parse(b.ts) - Date.parse(a.ts);
  if (dt !== 0) return dt;
  if (a.rank !== b.rank) return b.rank - a.rank;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}

export function userEventKey(e: UserEvent): TrackKey {
  const item = e.kind === 'decision' ? e.decision : e.call;
  return { ts: item.ts, rank: TRACK_RANK[e.kind], id: item.id };
}

/**
 * The keyset condition of one kind (rank) after `key`, as which bound applies
 * to ts and whether ids at the same ts must be compared: kinds ranked below the
 * key's continue at its ts (inclusive), the key's kind after its id, kinds ranked
 * above it strictly before its ts.
 */
export function keysetFor(rank: number, key: TrackKey): { tsInclusive: boolean; idBefore: string | null } {
  if (rank < key.rank) return { tsInclusive: true, idBefore: null };
  if (rank === key.rank) return { tsInclusive: false, idBefore: key.id };
  return { tsInclusive: false, idBefore: null };
}

/** Token usage of the LLM calls of one day × provider × model × user × workload. */
export interface UsageRow {
  day: string;
  provider: string;
  model: string | null;
  userId: string | null;
  namespace: string | null;
  app: string | null;
  calls: number;
  /** calls that reported no usage (blocked, failed, unparsed) */
  callsWithoutUsage: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
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
