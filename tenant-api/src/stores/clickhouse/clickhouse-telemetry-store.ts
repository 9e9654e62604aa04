/**
 * The TelemetryStore on ClickHouse. Every query goes through `Clickhouse`
 * (query.ts), every value through its literal escaper, and every query filters
 * on tenant_id, the first column of every sorting key.
 */
import { readFile } from 'node:fs/promises';
import { ToolCall as ToolCallSchema } from '@higgs/schema';
import { EnforcementDecision, LlmCall, type NetworkFlow, type ToolCall } from '@higgs/schema';
import { TenantError } from '../../errors.ts';
import { dayStartMs, toSessionExchange, type FlowSummaryRow, type PiiFlowRow, type TelemetryStore } from '../telemetry-store.ts';
import type { ClickhouseValue } from './escape.ts';
import { openTelemetryOutbox, type OutboxEntry, type OutboxLog, type TelemetryOutbox } from './outbox.ts';
import { openClickhouse, type Clickhouse } from './query.ts';
import {
  compareTrackKeys, keysetFor, seenRange, type SessionSeen, TRACK_RANK, type TrackKey, type UsageRow, type UserEvent, userEventKey,
} from '../telemetry-store.ts';

const MIGRATIONS = [
  { version: 1, file: '0001_telemetry.sql' }, { version: 2, file: '0002_flows.sql' }, { version: 4, file: '0004_attribution.sql' },
  { version: 5, file: '0005_tool_calls_by_session.sql' },
] as const;
const TELEMETRY_TABLES = ['llm_calls', 'tool_calls', 'decisions', 'llm_calls_daily', 'decisions_daily', 'llm_usage_daily', 'network_flows'] as const;
const SESSION_LIMIT = 1000;

/** Applies the numbered ClickHouse migrations not yet recorded in `higgs_schema_migrations`. */
export async function migrateClickhouse(ch: Clickhouse): Promise<number[]> {
  await ch.command({
    tag: 'migrate',
    sql: 'CREATE TABLE IF NOT EXISTS higgs_schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = TinyLog',
  });
  const applied = new Set((await ch.query<{ version: number }>({ tag: 'migrate', sql: 'SELECT version FROM higgs_schema_migrations' }))
    .map((r) => Number(r.version)));
  const done: number[] = [];
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    const text = await readFile(new URL(`./migrations/${m.file}`, import.meta.url), 'utf8');
    const statements = text.split(/^;\s*$/m).map((s) => s.replace(/^--.*$/gm, '').trim()).filter(Boolean);
    try {
      // each statement is safe to repeat (IF NOT EXISTS, or see 0005), so a migration interrupted half-way is re-run whole
      for (const sql of statements) await ch.command({ tag: 'migrate', sql });
    } catch (cause) {
      throw new TenantError('MIGRATION_FAILED', `clickhouse migration ${m.file} failed`, { cause });
    }
    await ch.insert({ tag: 'migrate', table: 'higgs_schema_migrations', rows: [{ version: m.version, name: m.file, applied_at: nowSeconds() }] });
    done.push(m.version);
  }
  return done;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const msOf = (iso: string) => Date.parse(iso);
const secondsOf = (ms: number) => Math.floor(ms / 1000);

/** [from, to) as the partition-pruning seconds bounds plus the exact millisecond bounds. */
function range(p: { from: string; to: string }) {
  const fromMs = msOf(p.from);
  const toMs = msOf(p.to);
  return { fromS: secondsOf(fromMs), toS: secondsOf(toMs), fromMs, toMs };
}
const RANGE_WHERE = 'tenant_id = {tenantId} AND ts >= toDateTime({fromS}) AND ts <= toDateTime({toS}) AND ts_ms >= {fromMs} AND ts_ms < {toMs}';

/**
 * One session's events. Both tables are ordered by (tenant_id, session_id, ts_ms, id), so the key
 * finds the session's granules in each part; `seen` bounds `ts` (the partition key, so only the
 * session's days are opened) and `ts_ms`. PREWHERE reads the key columns first and `body` only for
 * the rows that match: 18.16 does not move the condition there itself, and a 1024-row granule's
 * bodies are ~1 MB of which a session needs a few KB (query_log read_bytes 2.1 MB → 0.14 MB a replay).
 */
function sessionEventsQuery(table: 'llm_calls' | 'tool_calls', p: { tenantId: string; sessionId: string; seen?: SessionSeen | undefined }) {
  const params: Record<string, ClickhouseValue> = { tenantId: p.tenantId, sessionId: p.sessionId };
  let within = '';
  if (p.seen) {
    const { fromMs, toMs } = seenRange(p.seen);
    Object.assign(params, { fromS: secondsOf(fromMs), toS: secondsOf(toMs), fromMs, toMs });
    within = ' AND ts >= toDateTime({fromS}) AND ts <= toDateTime({toS}) AND ts_ms >= {fromMs} AND ts_ms < {toMs}';
  }
  // table names come from this module's callers, never from input
  return {
    sql: `SELECT body FROM ${table} PREWHERE tenant_id = {tenantId} AND session_id = {sessionId}${within} ORDER BY ts_ms, id LIMIT ${SESSION_LIMIT}`,
    params,
  };
}

const cmpNullsFirst = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1;

/**
 * Opens the ClickHouse TelemetryStore at `url` and applies its migrations.
 * `outboxDir`: where telemetry ClickHouse refused after its state committed is
 * held until delivered (outbox.ts); `null` holds it in memory only.
 * @throws TenantError MIGRATION_FAILED, STORE_FAILED when the server is unreachable
 */
export async function openClickhouseTelemetry(url: string, options: OutboxOptions = {}): Promise<TelemetryStore> {
  const ch = openClickhouse(url);
  try {
    await migrateClickhouse(ch);
    return await createClickhouseTelemetryStore(ch, options);
  } catch (err) {
    await ch.close();
    throw err;
  }
}

export interface OutboxOptions {
  outboxDir?: string | null;
  log?: OutboxLog;
  /** first retry of held telemetry, then doubling up to 30 s (default 1 s) */
  outboxRetryMs?: number;
}

const stderrLog: OutboxLog = {
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj, err: String(obj.err ?? '') })}\n`),
  info: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'info', msg, ...obj })}\n`),
};

/**
 * Id text per dedup query: the id list is SQL text, and the server refuses a
 * query longer than max_query_size (256 KiB by default).
 */
const DEDUP_ID_BYTES_PER_QUERY = 200_000;

/** Ids among `ids` already stored for the tenant; `ts` bounds let ClickHouse read only the days concerned. */
async function storedIds(ch: Clickhouse, p: { tenantId: string; table: string; events: readonly { id: string; ts: string }[] }): Promise<Set<string>> {
  if (p.events.length === 0) return new Set();
  const chunks: Array<Array<{ id: string; ts: string }>> = [[]];
  let bytes = 0;
  for (const e of p.events) {
    // an id's literal: quotes, a comma and an escape or two
    const size = e.id.length + 4;
    if (bytes + size > DEDUP_ID_BYTES_PER_QUERY && chunks.at(-1)!.length > 0) {
      chunks.push([]);
      bytes = 0;
    }
    chunks.at(-1)!.push(e);
    bytes += size;
  }
  const found = await Promise.all(chunks.map(async (events) => {
    let [minMs, maxMs] = [Infinity, -Infinity];
    for (const e of events) {
      const ms = msOf(e.ts);
      if (ms < minMs) minMs = ms;
      if (ms > maxMs) maxMs = ms;
    }
    return ch.query<{ id: string }>({
      tag: `dedup-${p.table}`,
      // table names come from this module's constants, never from input
      sql: `SELECT id FROM ${p.table} WHERE tenant_id = {tenantId} AND ts >= toDateTime({fromS}) AND ts <= toDateTime({toS}) AND id IN (SELECT arrayJoin({ids}))`,
      params: { tenantId: p.tenantId, fromS: secondsOf(minMs), toS: secondsOf(maxMs), ids: events.map((e) => e.id) },
    });
  }));
  return new Set(found.flatMap((rows) => rows.map((r) => r.id)));
}

/** The events of a tenant's table whose id is neither stored, nor held in the outbox, nor earlier in the batch. */
async function freshOf<T extends { id: string; ts: string }>(
  ch: Clickhouse, outbox: TelemetryOutbox, p: { tenantId: string; table: string; events: readonly T[] },
): Promise<T[]> {
  const seen = await storedIds(ch, p);
  return p.events.filter((e) => (seen.has(e.id) || outbox.isHeld(p.tenantId, p.table, e.id) ? false : (seen.add(e.id), true)));
}

/** Inserts each table's rows; what ClickHouse refuses goes to the outbox: the state of these events is committed by now. */
async function insertOrHold(ch: Clickhouse, outbox: TelemetryOutbox, entries: readonly OutboxEntry[]): Promise<void> {
  const results = await Promise.allSettled(entries.map((e) => ch.insert({ tag: `ingest-${e.table}`, table: e.table, rows: e.rows })));
  const refused = entries.filter((_, i) => results[i]!.status === 'rejected');
  if (refused.length === 0) return;
  await outbox.hold(refused, (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason);
}

const entryOf = <T extends { id: string; ts: string }>(tenantId: string, table: string, events: readonly T[], row: (tenantId: string, e: T) => Record<string, unknown>): OutboxEntry =>
  ({ tenantId, table, events: events.map((e) => ({ id: e.id, ts: e.ts })), rows: events.map((e) => row(tenantId, e)) });

/** The store over a migrated server; refused inserts wait in its outbox (see outbox.ts and `openClickhouseTelemetry`). */
export async function createClickhouseTelemetryStore(ch: Clickhouse, options: OutboxOptions = {}): Promise<TelemetryStore> {
  const outbox: TelemetryOutbox = await openTelemetryOutbox({
    ch, dir: options.outboxDir ?? null, log: options.log ?? stderrLog, firstRetryMs: options.outboxRetryMs,
    storedIds: (p) => storedIds(ch, p),
  });
  return {
    kind: 'clickhouse',
    async stage(_tx, p) {
      const { tenantId, batch } = p;
      const [calls, toolCalls, decisions] = await Promise.all([
        freshOf(ch, outbox, { tenantId, table: 'llm_calls', events: batch.calls }),
        freshOf(ch, outbox, { tenantId, table: 'tool_calls', events: batch.toolCalls }),
        freshOf(ch, outbox, { tenantId, table: 'decisions', events: batch.decisions }),
      ]);
      return {
        calls: new Set(calls.map((c) => c.id)),
        toolCalls: new Set(toolCalls.map((c) => c.id)),
        decisions: new Set(decisions.map((d) => d.id)),
        commit: () => insertOrHold(ch, outbox, [
          entryOf(tenantId, 'llm_calls', calls, llmCallRow),
          entryOf(tenantId, 'tool_calls', toolCalls, toolCallRow),
          entryOf(tenantId, 'decisions', decisions, decisionRow),
        ].filter((e) => e.rows.length > 0)),
      };
    },

    async listSessionExchanges(p) {
      const rows = await ch.query<{ body: string }>({ tag: 'session-replay', ...sessionEventsQuery('llm_calls', p) });
      return rows.map((r) => toSessionExchange(LlmCall.parse(JSON.parse(r.body))));
    },

    async countLlmCalls(p) {
      const rows = await ch.query<{ n: string }>({
        tag: 'count-llm-calls', sql: 'SELECT sum(calls) AS n FROM llm_calls_daily WHERE tenant_id = {tenantId}', params: p,
      });
      return Number(rows[0]?.n ?? 0);
    },

    async countEnforcementActions(p) {
      const rows = await ch.query<{ n: string }>({
        tag: 'count-enforcement',
        sql: `SELECT sum(decisions) AS n FROM decisions_daily WHERE tenant_id = {tenantId} AND action != 'allow'`,
        params: p,
      });
      return Number(rows[0]?.n ?? 0);
    },

    async summarizeCalls(p) {
      const rows = await ch.query<{ provider: string; n: string; blocked: string }>({
        tag: 'summarize-calls',
        sql: `SELECT provider, count() AS n, countIf(verdict = 'block') AS blocked FROM llm_calls
               WHERE ${RANGE_WHERE} GROUP BY provider ORDER BY provider`,
        params: { tenantId: p.tenantId, ...range(p) },
      });
      return {
        total: rows.reduce((s, r) => s + Number(r.n), 0),
        blocked: rows.reduce((s, r) => s + Number(r.blocked), 0),
        byProvider: Object.fromEntries(rows.map((r) => [r.provider, Number(r.n)])),
      };
    },

    async listPiiFlows(p) {
      const rows = await ch.query<{
        pii_type: string; namespace: string | null; app: string | null; provider: string; model: string | null;
        n: string; first_ms: string; last_ms: string;
      }>({
        tag: 'pii-flows',
        sql: `SELECT pii_type, namespace, app, provider, model, count() AS n, min(ts_ms) AS first_ms, max(ts_ms) AS last_ms
                FROM llm_calls ARRAY JOIN pii_types AS pii_type
               WHERE ${RANGE_WHERE}
               GROUP BY pii_type, namespace, app, provider, model`,
        params: { tenantId: p.tenantId, ...range(p) },
      });
      const flows: PiiFlowRow[] = rows.map((r) => ({
        piiType: r.pii_type, namespace: r.namespace, app: r.app, provider: r.provider, model: r.model, count: Number(r.n),
        firstSeen: new Date(Number(r.first_ms)).toISOString(), lastSeen: new Date(Number(r.last_ms)).toISOString(),
      }));
      // sorted here, the same way on every server version: NULLS FIRST as the SQL store does
      return flows.sort((a, b) => cmpNullsFirst(a.piiType, b.piiType) || cmpNullsFirst(a.namespace, b.namespace)
        || cmpNullsFirst(a.app, b.app) || cmpNullsFirst(a.provider, b.provider) || cmpNullsFirst(a.model, b.model));
    },

    async listDecisions(p) {
      const rows = await ch.query<{ body: string }>({
        tag: 'list-decisions',
        sql: `SELECT body FROM decisions WHERE ${RANGE_WHERE} ORDER BY ts_ms, id LIMIT {limit}`,
        params: { tenantId: p.tenantId, ...range(p), limit: p.limit },
      });
      return rows.map((r) => EnforcementDecision.parse(JSON.parse(r.body)));
    },

    async stageFlows(_tx, p) {
      const { tenantId } = p;
      const flows = await freshOf(ch, outbox, { tenantId, table: 'network_flows', events: p.flows });
      return {
        ids: new Set(flows.map((f) => f.id)),
        commit: () => insertOrHold(ch, outbox, flows.length > 0 ? [entryOf(tenantId, 'network_flows', flows, flowRow)] : []),
      };
    },

    async summarizeFlows(p) {
      const rows = await ch.query<{
        namespace: string | null; app: string | null; destination: string; dst_port: number; provider: string | null;
        n: string; first_ms: string; last_ms: string;
      }>({
        tag: 'summarize-flows',
        sql: `SELECT namespace, app, ifNull(dst_host, dst_ip) AS destination, dst_port, provider, count() AS n,
                     min(ts_ms) AS first_ms, max(ts_ms) AS last_ms
                FROM network_flows WHERE ${RANGE_WHERE}
               GROUP BY namespace, app, destination, dst_port, provider`,
        params: { tenantId: p.tenantId, ...range(p) },
      });
      const flows: FlowSummaryRow[] = rows.map((r) => ({
        namespace: r.namespace, app: r.app, destination: r.destination, dstPort: Number(r.dst_port), provider: r.provider,
        count: Number(r.n), firstSeen: new Date(Number(r.first_ms)).toISOString(), lastSeen: new Date(Number(r.last_ms)).toISOString(),
      }));
      // sorted here, the same way on every server version, as the SQL store orders them
      return flows.sort((a, b) => cmpNullsFirst(a.namespace, b.namespace) || cmpNullsFirst(a.app, b.app)
        || cmpNullsFirst(a.destination, b.destination) || a.dstPort - b.dstPort || cmpNullsFirst(a.provider, b.provider));
    },

    async listSessionToolCalls(p) {
      const rows = await ch.query<{ body: string }>({ tag: 'session-replay-tools', ...sessionEventsQuery('tool_calls', p) });
      return rows.map((r) => ToolCallSchema.parse(JSON.parse(r.body)));
    },

    async listUserEvents(p) {
      return listUserEventsOn(ch, p);
    },

    async summarizeUsage(p) {
      // the rollup is per day: [from, to) widened to the UTC days it touches
      const fromDay = p.from.slice(0, 10);
      const toDay = new Date(Date.parse(p.to) - 1).toISOString().slice(0, 10);
      const rows = await ch.query<{
        day_text: string; provider: string; model: string; user_id: string; namespace: string; app: string;
        calls: string; without_usage: string; input: string; output: string; cached: string;
      }>({
        tag: 'summarize-usage',
        sql: `SELECT toString(day) AS day_text, provider, model, user_id, namespace, app, sum(calls) AS calls,
                     sum(calls_without_usage) AS without_usage, sum(input_tokens) AS input, sum(output_tokens) AS output,
                     sum(cached_tokens) AS cached
                FROM llm_usage_daily
               WHERE tenant_id = {tenantId} AND day >= toDate({fromDay}) AND day <= toDate({toDay})
                 ${p.userId ? 'AND user_id = {userId}' : ''} ${p.app ? 'AND app = {app}' : ''}
               GROUP BY day, provider, model, user_id, namespace, app`,
        params: { tenantId: p.tenantId, fromDay, toDay, ...(p.userId ? { userId: p.userId } : {}), ...(p.app ? { app: p.app } : {}) },
      });
      const orNull = (v: string) => (v === '' ? null : v);
      return rows.map((r): UsageRow => ({
        day: r.day_text, provider: r.provider, model: orNull(r.model), userId: orNull(r.user_id), namespace: orNull(r.namespace), app: orNull(r.app),
        calls: Number(r.calls), callsWithoutUsage: Number(r.without_usage),
        inputTokens: Number(r.input), outputTokens: Number(r.output), cachedTokens: Number(r.cached),
      }));
    },

    async dropDaysBefore(p) {
      const before = Number(new Date(dayStartMs(p.day)).toISOString().slice(0, 10).replaceAll('-', ''));
      const parts = await ch.query<{ partition: string }>({
        tag: 'retention',
        sql: `SELECT DISTINCT partition FROM system.parts
               WHERE database = currentDatabase() AND active AND has({tables}, table)`,
        params: { tables: [...TELEMETRY_TABLES] },
      });
      const days = [...new Set(parts.map((r) => r.partition))].filter((d) => /^\d{8}$/.test(d) && Number(d) < before).sort();
      for (const table of TELEMETRY_TABLES) {
        // 18.16 takes the partition by its value: toYYYYMMDD(ts) is a number
        for (const d of days) await ch.command({ tag: 'retention', sql: `ALTER TABLE ${table} DROP PARTITION {day}`, params: { day: Number(d) } });
      }
      return days.map((d) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`);
    },

    heldEvents: () => outbox.size,

    async close() {
      outbox.close();
      await ch.close();
    },
  };
}

/** Look-back windows of a timeline page, widened in turn until the page is full; the last is the whole range. */
const TRACK_WINDOWS_MS = [86_400_000, 7 * 86_400_000, 30 * 86_400_000, Number.POSITIVE_INFINITY];

/**
 * A user's events, one keyset query per table. tool_calls has no user column
 * (18.16 cannot add one idempotently): the user is read from the stored call's
 * `attribution.userId`, a key that appears once in the JSON (observed text is
 * escaped inside strings, so it cannot forge one).
 */
async function listUserEventsOn(ch: Clickhouse, p: {
  tenantId: string; userId: string; sessionIds: readonly string[]; from: string; to: string; after: TrackKey | null; limit: number;
}): Promise<UserEvent[]> {
  // the newest `limit` rows of the last day are the newest of all when there are `limit` of them: a page
  // reads the day partitions it needs, widening the window only for a user with fewer events in it
  const endMs = Math.min(msOf(p.to), p.after ? msOf(p.after.ts) + 1 : Number.POSITIVE_INFINITY);
  const page = async (table: string, rank: number, whose: string) => {
    for (const windowMs of TRACK_WINDOWS_MS) {
      const fromMs = Math.max(msOf(p.from), endMs - windowMs);
      const rows = await pageWithin(table, rank, whose, new Date(fromMs).toISOString());
      if (rows.length >= p.limit || fromMs === msOf(p.from)) return rows;
    }
    return [];
  };
  const pageWithin = async (table: string, rank: number, whose: string, from: string) => {
    let keyset = '';
    const params: Record<string, ClickhouseValue> = { tenantId: p.tenantId, ...range({ from, to: p.to }), limit: p.limit };
    if (whose.includes('{userId}')) params.userId = p.userId;
    if (whose.includes('{sessionIds}')) params.sessionIds = [...p.sessionIds];
    if (p.after) {
      const k = keysetFor(rank, p.after);
      params.afterMs = msOf(p.after.ts);
      if (k.idBefore !== null) params.afterId = k.idBefore;
      keyset = k.idBefore === null
        ? `AND ts_ms ${k.tsInclusive ? '<=' : '<'} {afterMs}`
        : 'AND (ts_ms < {afterMs} OR (ts_ms = {afterMs} AND id < {afterId}))';
    }
    const rows = await ch.query<{ body: string }>({
      tag: `user-track-${table}`,
      // table names come from the calls below, never from input
      // PREWHERE: body is read for the matching rows only (18.16 does not move conditions there itself)
      sql: `SELECT body FROM ${table} PREWHERE ${RANGE_WHERE} AND ${whose} ${keyset} ORDER BY ts_ms DESC, id DESC LIMIT {limit}`,
      params,
    });
    return rows.map((r) => JSON.parse(r.body) as unknown);
  };
  // IN a set, not has(): has() compares each row with every id (2.6 s a page with 2 M rows and ~140 sessions);
  // 18.16 cannot type an empty array literal: no sessions, no session condition
  const sessionSet = '(SELECT arrayJoin({sessionIds}))';
  const inSessions = p.sessionIds.length === 0 ? '' : ` OR session_id IN ${sessionSet}`;
  const [calls, tools, decisions] = await Promise.all([
    page('llm_calls', TRACK_RANK.llm_call, `(user_id = {userId}${inSessions})`),
    page('tool_calls', TRACK_RANK.tool_call, `(visitParamExtractString(body, 'userId') = {userId}${inSessions})`),
    p.sessionIds.length === 0 ? Promise.resolve([]) : page('decisions', TRACK_RANK.decision, `ifNull(session_id, '') IN ${sessionSet}`),
  ]);
  const events: UserEvent[] = [
    ...calls.map((b) => ({ kind: 'llm_call' as const, call: LlmCall.parse(b) })),
    ...tools.map((b) => ({ kind: 'tool_call' as const, call: ToolCallSchema.parse(b) })),
    ...decisions.map((b) => ({ kind: 'decision' as const, decision: EnforcementDecision.parse(b) })),
  ];
  return events.sort((a, b) => compareTrackKeys(userEventKey(a), userEventKey(b))).slice(0, p.limit);
}

function llmCallRow(tenantId: string, c: LlmCall): Record<string, unknown> {
  const ms = msOf(c.ts);
  return {
    tenant_id: tenantId, session_id: c.attribution.sessionId, ts: secondsOf(ms), ts_ms: ms, id: c.id, scanner_id: c.scannerId,
    provider: c.provider, model: c.model, host: c.host, namespace: c.source.namespace, app: c.source.app, user_id: c.attribution.userId,
    verdict: c.verdict, status: c.status, injection_score: c.injectionScore,
    pii_types: [...new Set(c.detections.map((d) => d.type))].sort(), body: JSON.stringify(c),
  };
}

function toolCallRow(tenantId: string, c: ToolCall): Record<string, unknown> {
  const ms = msOf(c.ts);
  return {
    tenant_id: tenantId, ts: secondsOf(ms), ts_ms: ms, id: c.id, scanner_id: c.scannerId, host: c.host, method: c.method,
    tool_name: c.toolName, namespace: c.source.namespace, app: c.source.app, session_id: c.attribution.sessionId, verdict: c.verdict,
    body: JSON.stringify(c),
  };
}

function flowRow(tenantId: string, f: NetworkFlow): Record<string, unknown> {
  const ms = msOf(f.ts);
  return {
    tenant_id: tenantId, ts: secondsOf(ms), ts_ms: ms, id: f.id, scanner_id: f.scannerId, namespace: f.source.namespace, app: f.source.app,
    dst_ip: f.dstIp, dst_port: f.dstPort, dst_host: f.dstHost, provider: f.provider, body: JSON.stringify(f),
  };
}

function decisionRow(tenantId: string, d: EnforcementDecision): Record<string, unknown> {
  const ms = msOf(d.ts);
  return {
    tenant_id: tenantId, ts: secondsOf(ms), ts_ms: ms, id: d.id, scanner_id: d.scannerId, call_id: d.callId, rule_id: d.ruleId,
    action: d.action, primitive: d.primitive, session_id: d.sessionId, body: JSON.stringify(d),
  };
}
