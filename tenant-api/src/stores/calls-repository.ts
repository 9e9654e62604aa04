/**
 * The embedded TelemetryStore: LLM calls, tool calls and enforcement decisions as
 * the scanner sent them. Inserts are idempotent on the event id.
 */
import { EnforcementDecision, LlmCall, type SessionExchange, type ToolCall } from '@higgs/schema';
import { toIso } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';
import { toSessionExchange } from './telemetry-store.ts';

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
    columns: ['id', 'scanner_id', 'ts', 'host', 'method', 'tool_name', 'namespace', 'app', 'session_id', 'verdict', 'body'],
    casts: ['', '', '::timestamptz', '', '', '', '', '', '', '', '::jsonb'],
    rows: p.calls.map((c) => [c.id, c.scannerId, c.ts, c.host, c.method, c.toolName, c.source.namespace, c.source.app, c.attribution.sessionId,
      c.verdict, JSON.stringify(c)]),
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

/** The session's LLM calls in time order, as replayable exchanges. */
export async function listSessionExchanges(db: SqlExecutor, p: { tenantId: string; sessionId: string }): Promise<SessionExchange[]> {
  const { rows } = await db.query<{ body: unknown }>(
    'SELECT body FROM llm_calls WHERE tenant_id = $1 AND session_id = $2 ORDER BY ts, id LIMIT 1000',
    [p.tenantId, p.sessionId],
  );
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
