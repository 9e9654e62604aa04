/**
 * The embedded TelemetryStore: LLM calls, tool calls and enforcement decisions as
 * the scanner sent them. Inserts are idempotent on the event id.
 */
import { EnforcementDecision, LlmCall, type SessionExchange, ToolCall } from '@higgs/schema';
import { toInt, toIso } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';
import {
  compareTrackKeys, keysetFor, seenRange, toSessionExchange, TRACK_RANK, type SessionSeen, type TrackKey, type UsageRow, type UserEvent,
  userEventKey,
} from './telemetry-store.ts';

/** Rows per INSERT statement: 16 parameters a row stays far below Postgres' 65 535 bind parameters. */
const ROWS_PER_STATEMENT = 1000;

/**
 * Inserts rows with one multi-row statement per chunk, idempotent on the event
 * id; returns the ids that were new. Within one statement a repeated id is
 * stored once (DO NOTHING skips the second row).
 */
async function insertRows(
  db: SqlExecutor, p: { tenantId: string; table: string; columns: readonly string[]; casts: readonly string[]; rows: readonly unknown[][] },
): Promise<Set<string>> {
  const stored = new Set<string>();
  for (let i = 0; i < p.rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = p.rows.slice(i, i + ROWS_PER_STATEMENT);
    const params: unknown[] = [p.tenantId];
    const tuples = chunk.map((row) => `($1, ${row.map((v, c) => `$${params.push(v)}${p.casts[c] ?? ''}`).join(', ')})`);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO ${p.table} (tenant_id, ${p.columns.join(', ')}) VALUES ${tuples.join(', ')}
       ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id`,
      params,
    );
    for (const r of rows) stored.add(r.id);
  }
  return stored;
}

/** Stores the calls; returns the ids that were new (a re-sent event is not). */
export async function insertLlmCalls(db: SqlExecutor, p: { tenantId: string; calls: readonly LlmCall[] }): Promise<Set<string>> {
  return insertRows(db, {
    tenantId: p.tenantId,
    table: 'llm_calls',
    columns: ['id', 'scanner_id', 'ts', 'provider', 'model', 'host', 'namespace', 'app', 'session_id', 'user_id', 'verdict', 'status',
      'injection_score', 'pii_types', 'body'],
    casts: ['', '', '::timestamptz', '', '', '', '', '', '', '', '', '', '', '::text[]', '::jsonb'],
    rows: p.calls.map((c) => [c.id, c.scannerId, c.ts, c.provider, c.model, c.host, c.source.namespace, c.source.app, c.attribution.sessionId,
      c.attribution.userId, c.verdict, c.status, c.injectionScore, [...new Set(c.detections.map((d) => d.type))].sort(), JSON.stringify(c)]),
  });
}

export async function insertToolCalls(db: SqlExecutor, p: { tenantId: string; calls: readonly ToolCall[] }): Promise<Set<string>> {
  return insertRows(db, {
    tenantId: p.tenantId,
    table: 'tool_calls',
    columns: ['id', 'scanner_id', 'ts', 'host', 'method', 'tool_name', 'namespace', 'app', 'session_id', 'user_id', 'verdict', 'body'],
    casts: ['', '', '::timestamptz', '', '', '', '', '', '', '', '', '::jsonb'],
    rows: p.calls.map((c) => [c.id, c.scannerId, c.ts, c.host, c.method, c.toolName, c.source.namespace, c.source.app, c.attribution.sessionId,
      c.attribution.userId, c.verdict, JSON.stringify(c)]),
  });
}

export async function insertDecisions(db: SqlExecutor, p: { tenantId: string; decisions: readonly EnforcementDecision[] }): Promise<Set<string>> {
  return insertRows(db, {
    tenantId: p.tenantId,
    table: 'decisions',
    columns: ['id', 'scanner_id', 'ts', 'call_id', 'rule_id', 'action', 'primitive', 'session_id', 'body'],
    casts: ['', '', '::timestamptz', '', '', '', '', '', '::jsonb'],
    rows: p.decisions.map((d) => [d.id, d.scannerId, d.ts, d.callId, d.ruleId, d.action, d.primitive, d.sessionId, JSON.stringify(d)]),
  });
}

/** A session's events, within `seen` when given (its index is (tenant_id, session_id, ts): bounds narrow the scan). */
function sessionEventsQuery(table: 'llm_calls' | 'tool_calls', p: { tenantId: string; sessionId: string; seen?: SessionSeen | undefined }) {
  const params: unknown[] = [p.tenantId, p.sessionId];
  let within = '';
  if (p.seen) {
    const { fromMs, toMs } = seenRange(p.seen);
    within = ` AND ts >= $${params.push(new Date(fromMs).toISOString())}::timestamptz AND ts < $${params.push(new Date(toMs).toISOString())}::timestamptz`;
  }
  // table names come from the callers below, never from input
  return { sql: `SELECT body FROM ${table} WHERE tenant_id = $1 AND session_id = $2${within} ORDER BY ts, id LIMIT 1000`, params };
}

/** The session's LLM calls in time order, as replayable exchanges; see TelemetryStore. */
export async function listSessionExchanges(
  db: SqlExecutor, p: { tenantId: string; sessionId: string; seen?: SessionSeen | undefined },
): Promise<SessionExchange[]> {
  const q = sessionEventsQuery('llm_calls', p);
  const { rows } = await db.query<{ body: unknown }>(q.sql, q.params);
  return rows.map((r) => toSessionExchange(LlmCall.parse(r.body)));
}

export async function countLlmCalls(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM llm_calls WHERE tenant_id = $1', [p.tenantId]);
  return rows[0]?.n ?? 0;
}

/** Decisions that did something (anything but allow). */
export async function countEnforcementActions(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM decisions WHERE tenant_id = $1 AND action <> 'allow'`, [p.tenantId],
  );
  return rows[0]?.n ?? 0;
}

export interface CallTotals {
  total: number;
  blocked: number;
  byProvider: Record<string, number>;
}

export async function summarizeCalls(db: SqlExecutor, p: { tenantId: string; from: string; to: string }): Promise<CallTotals> {
  const { rows } = await db.query<{ provider: string; n: number; blocked: number }>(
    `SELECT provider, count(*)::int AS n, count(*) FILTER (WHERE verdict = 'block')::int AS blocked
       FROM llm_calls WHERE tenant_id = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz
      GROUP BY provider ORDER BY provider`,
    [p.tenantId, p.from, p.to],
  );
  return {
    total: rows.reduce((s, r) => s + r.n, 0),
    blocked: rows.reduce((s, r) => s + r.blocked, 0),
    byProvider: Object.fromEntries(rows.map((r) => [r.provider, r.n])),
  };
}

export interface PiiFlowRow {
  piiType: string;
  namespace: string | null;
  app: string | null;
  provider: string;
  model: string | null;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

/** Calls carrying each PII type, per workload × provider/model, within [from, to). */
export async function listPiiFlows(db: SqlExecutor, p: { tenantId: string; from: string; to: string }): Promise<PiiFlowRow[]> {
  const { rows } = await db.query<{
    pii_type: string; namespace: string | null; app: string | null; provider: string; model: string | null;
    n: number; first_seen: Date | string; last_seen: Date | string;
  }>(
    `SELECT t.pii_type, c.namespace, c.app, c.provider, c.model, count(*)::int AS n, min(c.ts) AS first_seen, max(c.ts) AS last_seen
       FROM llm_calls c CROSS JOIN LATERAL unnest(c.pii_types) AS t(pii_type)
      WHERE c.tenant_id = $1 AND c.ts >= $2::timestamptz AND c.ts < $3::timestamptz
      GROUP BY t.pii_type, c.namespace, c.app, c.provider, c.model
      ORDER BY t.pii_type, c.namespace NULLS FIRST, c.app NULLS FIRST, c.provider, c.model NULLS FIRST`,
    [p.tenantId, p.from, p.to],
  );
  return rows.map((r) => ({
    piiType: r.pii_type, namespace: r.namespace, app: r.app, provider: r.provider, model: r.model,
    count: r.n, firstSeen: toIso(r.first_seen), lastSeen: toIso(r.last_seen),
  }));
}

export async function listDecisions(
  db: SqlExecutor, p: { tenantId: string; from: string; to: string; limit: number },
): Promise<EnforcementDecision[]> {
  const { rows } = await db.query<{ body: unknown }>(
    `SELECT body FROM decisions WHERE tenant_id = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz ORDER BY ts, id LIMIT $4`,
    [p.tenantId, p.from, p.to, p.limit],
  );
  return rows.map((r) => EnforcementDecision.parse(r.body));
}

/** The session's MCP tool calls in time order (at most 1000); see TelemetryStore. */
export async function listSessionToolCalls(
  db: SqlExecutor, p: { tenantId: string; sessionId: string; seen?: SessionSeen | undefined },
): Promise<ToolCall[]> {
  const q = sessionEventsQuery('tool_calls', p);
  const { rows } = await db.query<{ body: unknown }>(q.sql, q.params);
  return rows.map((r) => ToolCall.parse(r.body));
}

/** A user's LLM calls, tool calls and the decisions on their sessions, newest first after `after`; see TelemetryStore. */
export async function listUserEvents(db: SqlExecutor, p: {
  tenantId: string; userId: string; sessionIds: readonly string[]; from: string; to: string; after: TrackKey | null; limit: number;
}): Promise<UserEvent[]> {
  const page = async (table: string, rank: number, whose: (params: unknown[]) => string) => {
    const params: unknown[] = [p.tenantId, p.from, p.to];
    const where = [`tenant_id = $1`, `ts >= $2::timestamptz`, `ts < $3::timestamptz`, whose(params)];
    if (p.after) {
      const k = keysetFor(rank, p.after);
      const ts = `$${params.push(p.after.ts)}::timestamptz`;
      where.push(k.idBefore === null
        ? `ts ${k.tsInclusive ? '<=' : '<'} ${ts}`
        : `(ts < ${ts} OR (ts = ${ts} AND id COLLATE "C" < $${params.push(k.idBefore)} COLLATE "C"))`);
    }
    // table names come from the calls below, never from input
    const { rows } = await db.query<{ body: unknown }>(
      `SELECT body FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ts DESC, id COLLATE "C" DESC LIMIT $${params.push(p.limit)}`, params,
    );
    return rows.map((r) => r.body);
  };
  const sessions = [...p.sessionIds];
  const userOrSession = (params: unknown[]) => `(user_id = $${params.push(p.userId)} OR session_id = ANY($${params.push(sessions)}::text[]))`;
  const [calls, tools, decisions] = await Promise.all([
    page('llm_calls', TRACK_RANK.llm_call, userOrSession),
    page('tool_calls', TRACK_RANK.tool_call, userOrSession),
    sessions.length === 0 ? Promise.resolve([]) : page('decisions', TRACK_RANK.decision, (params) => `session_id = ANY($${params.push(sessions)}::text[])`),
  ]);
  const events: UserEvent[] = [
    ...calls.map((b) => ({ kind: 'llm_call' as const, call: LlmCall.parse(b) })),
    ...tools.map((b) => ({ kind: 'tool_call' as const, call: ToolCall.parse(b) })),
    ...decisions.map((b) => ({ kind: 'decision' as const, decision: EnforcementDecision.parse(b) })),
  ];
  return events.sort((a, b) => compareTrackKeys(userEventKey(a), userEventKey(b))).slice(0, p.limit);
}

/** Token usage per UTC day × provider × model × user × workload within [from, to); see TelemetryStore. */
export async function summarizeUsage(
  db: SqlExecutor, p: { tenantId: string; from: string; to: string; userId?: string | undefined; app?: string | undefined },
): Promise<UsageRow[]> {
  const params: unknown[] = [p.tenantId, p.from, p.to];
  const where = ['tenant_id = $1', 'ts >= $2::timestamptz', 'ts < $3::timestamptz'];
  if (p.userId) where.push(`user_id = $${params.push(p.userId)}`);
  if (p.app) where.push(`app = $${params.push(p.app)}`);
  const { rows } = await db.query<{
    day: string; provider: string; model: string | null; user_id: string | null; namespace: string | null; app: string | null;
    calls: number | string; without_usage: number | string; input: number | string; output: number | string; cached: number | string;
  }>(
    `SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, provider, model, user_id, namespace, app,
            count(*) AS calls,
            count(*) FILTER (WHERE jsonb_typeof(body->'usage') IS DISTINCT FROM 'object') AS without_usage,
            coalesce(sum((body->'usage'->>'inputTokens')::bigint), 0) AS input,
            coalesce(sum((body->'usage'->>'outputTokens')::bigint), 0) AS output,
            coalesce(sum((body->'usage'->>'cachedTokens')::bigint), 0) AS cached
       FROM llm_calls WHERE ${where.join(' AND ')}
      GROUP BY 1, provider, model, user_id, namespace, app`,
    params,
  );
  return rows.map((r) => ({
    day: r.day, provider: r.provider, model: r.model, userId: r.user_id, namespace: r.namespace, app: r.app,
    calls: toInt(r.calls), callsWithoutUsage: toInt(r.without_usage),
    inputTokens: toInt(r.input), outputTokens: toInt(r.output), cachedTokens: toInt(r.cached),
  }));
}
