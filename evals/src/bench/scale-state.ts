/**
 * The tenant-scale bench's data at scale: the HTTP-ingested sample's LLM calls
 * copied in the store (as the sample is one day of a long-running tenant, each
 * copy is the day before the previous one), and the state side built to match —
 * a sessions row per copied session, and the findings', assets' and edges'
 * counters and first-seen times scaled by the copies. The copies' calls are
 * regrouped into sessions of ~75 calls (a user's calls within a time window), so
 * replay reads long sessions.
 *
 * The copied calls keep their stored `body` (ids and times in it are the
 * sample's); every column the stores filter, sort or group on is the copy's.
 */
import type { SqlClient } from '@higgs/tenant-api';

/** LLM calls a copied session holds. */
export const SESSION_CALLS = 75;
/** Copies of the sample per ClickHouse INSERT … SELECT. */
const COPIES_PER_INSERT = 8;
/** Sessions rows per INSERT (12 parameters each). */
const ROWS_PER_INSERT = 1000;

export interface SampleShape {
  /** the sample's sessions: `session_id LIKE` this */
  like: string;
  /** copied sessions' ids start with this (and are `LIKE ${prefix}%`) */
  prefix: string;
  copies: number;
}

/** How the copies are laid out: the sample's span shifts each copy; `windowMs` makes a user's window hold ~75 calls. */
interface Layout { spanMs: number; windowMs: number; lastMs: number }

function layoutOf(count: number, users: number, minMs: number, maxMs: number): Layout {
  // one call interval past the last call, so copies join without a gap or an overlap
  const spanMs = Math.round(((maxMs - minMs) * count) / Math.max(1, count - 1));
  return { spanMs, windowMs: Math.round((SESSION_CALLS * spanMs * users) / count), lastMs: maxMs };
}

export interface ScaledState {
  /** sessions in the state store after scaling */
  sessions: number;
  /** ids of the copied sessions holding the most calls (SESSION_CALLS unless the copies span less than a window): what replay reads */
  longSessions: string[];
  longSessionCalls: number;
  /** users with calls, for user_track */
  users: string[];
}

interface SessionAggregate {
  tenant_id: string; session_id: string; user_id: string | null; namespace: string | null; app: string | null;
  first_ms: string | number; last_ms: string | number; calls: string | number;
}

/**
 * ClickHouse: copies the sample's calls `copies` times (INSERT … SELECT on the server) and returns the
 * copies' sessions as the state store will hold them.
 */
export async function multiplyClickhouse(url: string, s: SampleShape): Promise<SessionAggregate[]> {
  const ch = async (query: string) => {
    const res = await fetch(`${url}/?query=${encodeURIComponent(query)}`, { method: 'POST' });
    const text = await res.text();
    if (!res.ok) throw new Error(`clickhouse: ${text.slice(0, 300)}`);
    return text;
  };
  const [count, users, minMs, maxMs] = (await ch(
    `SELECT count(), uniqExact(user_id), min(ts_ms), max(ts_ms) FROM llm_calls WHERE session_id LIKE '${s.like}' FORMAT TSV`,
  )).trim().split('\t').map(Number) as [number, number, number, number];
  const l = layoutOf(count, users, minMs, maxMs);
  // copy g is the sample shifted back (g + 1) spans; a session is a user's calls within one window
  const shifted = `ts_ms - (number + 1) * ${l.spanMs}`;
  // a few copies a statement: one INSERT of millions of rows outlasts the HTTP client's timeouts on a loaded machine
  for (let g = 0; g < s.copies; g += COPIES_PER_INSERT) {
    await ch(`INSERT INTO llm_calls
      SELECT tenant_id, concat('${s.prefix}', ifNull(user_id, ''), '~', toString(intDiv(${shifted}, ${l.windowMs}))),
             toDateTime(intDiv(${shifted}, 1000)), ${shifted}, concat(id, '~', toString(number)), scanner_id, provider, model,
             host, namespace, app, user_id, verdict, status, injection_score, pii_types, body
        FROM llm_calls CROSS JOIN (SELECT number FROM numbers(${s.copies}) WHERE number >= ${g} AND number < ${g + COPIES_PER_INSERT})
       WHERE session_id LIKE '${s.like}'`);
  }
  const rows = await ch(`SELECT tenant_id, session_id, argMin(user_id, ts_ms) AS user_id, argMin(namespace, ts_ms) AS namespace,
           argMin(app, ts_ms) AS app, min(ts_ms) AS first_ms, max(ts_ms) AS last_ms, count() AS calls
      FROM llm_calls WHERE session_id LIKE '${s.prefix}%' GROUP BY tenant_id, session_id FORMAT JSONEachRow`);
  return rows.split('\n').filter(Boolean).map((r) => JSON.parse(r) as SessionAggregate);
}

/**
 * PGlite: copies the sample's calls in SQL, the same layout as `multiplyClickhouse`, and returns the
 * copies' sessions.
 */
export async function multiplyPglite(db: SqlClient, s: SampleShape): Promise<SessionAggregate[]> {
  const { rows: [shape] } = await db.query<{ n: number; users: number; min_ms: number; max_ms: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS users, (extract(epoch FROM min(ts)) * 1000)::float8 AS min_ms,
            (extract(epoch FROM max(ts)) * 1000)::float8 AS max_ms FROM llm_calls WHERE session_id LIKE $1`, [s.like],
  );
  const l = layoutOf(shape!.n, shape!.users, shape!.min_ms, shape!.max_ms);
  // schema-agnostic copy: every column as stored, with a new id, time and session per copy
  await db.query(
    `INSERT INTO llm_calls
     SELECT (jsonb_populate_record(NULL::llm_calls, to_jsonb(c) || jsonb_build_object(
               'id', c.id || '~' || g,
               'ts', c.ts - make_interval(secs => g * $3::float8 / 1000),
               'session_id', $2 || coalesce(c.user_id, '') || '~'
                 || floor((extract(epoch FROM c.ts) * 1000 - g * $3::float8) / $4::float8)::bigint))).*
       FROM llm_calls c CROSS JOIN generate_series(1, $5::int) g WHERE c.session_id LIKE $1`,
    [s.like, s.prefix, l.spanMs, l.windowMs, s.copies],
  );
  const { rows } = await db.query<SessionAggregate>(
    `SELECT tenant_id, session_id, (array_agg(user_id ORDER BY ts))[1] AS user_id, (array_agg(namespace ORDER BY ts))[1] AS namespace,
            (array_agg(app ORDER BY ts))[1] AS app, (extract(epoch FROM min(ts)) * 1000)::float8 AS first_ms,
            (extract(epoch FROM max(ts)) * 1000)::float8 AS last_ms, count(*)::int AS calls
       FROM llm_calls WHERE session_id LIKE $1 GROUP BY tenant_id, session_id`, [`${s.prefix}%`],
  );
  return rows;
}

/**
 * The state side of the copies: a sessions row each (as ingest would have written them), and the
 * findings', assets' and edges' counts scaled by the calls now stored over the calls ingested, their
 * first seen moved back to the earliest copy (the copies repeat the sample's detections and calls).
 */
export async function scaleState(db: SqlClient, p: { sessions: readonly SessionAggregate[]; storedCalls: number; ingestedCalls: number }): Promise<ScaledState> {
  const iso = (ms: string | number) => new Date(Number(ms)).toISOString();
  for (let i = 0; i < p.sessions.length; i += ROWS_PER_INSERT) {
    const params: unknown[] = [];
    const tuples = p.sessions.slice(i, i + ROWS_PER_INSERT).map((r) => {
      const v = [r.tenant_id, r.session_id, r.user_id, r.user_id === null ? null : 'baggage', r.namespace, r.app, iso(r.first_ms), iso(r.last_ms),
        Number(r.calls)].map((x) => `$${params.push(x)}`);
      return `(${v.slice(0, 6).join(', ')}, ${v[6]}::timestamptz, ${v[7]}::timestamptz, ${v[8]}::bigint, 0, 'allow')`;
    });
    await db.query(
      `INSERT INTO sessions (tenant_id, id, user_id, user_source, namespace, app, first_seen, last_seen, call_count, tool_call_count, verdict)
       VALUES ${tuples.join(', ')}`,
      params,
    );
  }
  const tenants = [...new Set(p.sessions.map((r) => r.tenant_id))];
  const earliest = iso(Math.min(...p.sessions.map((r) => Number(r.first_ms))));
  const factor = p.storedCalls / p.ingestedCalls;
  await db.query(`UPDATE findings SET count = round(count * $2::float8), first_seen = LEAST(first_seen, $3::timestamptz) WHERE tenant_id = ANY($1::text[])`,
    [tenants, factor, earliest]);
  await db.query(`UPDATE assets SET call_count = round(call_count * $2::float8), first_seen = LEAST(first_seen, $3::timestamptz) WHERE tenant_id = ANY($1::text[])`,
    [tenants, factor, earliest]);
  await db.query('UPDATE asset_edges SET count = round(count * $2::float8) WHERE tenant_id = ANY($1::text[])', [tenants, factor]);
  await db.query('ANALYZE');
  const { rows: [n] } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE tenant_id = ANY($1::text[])', [tenants]);
  const longSessionCalls = Math.max(...p.sessions.map((r) => Number(r.calls)));
  const long = p.sessions.filter((r) => Number(r.calls) === longSessionCalls).map((r) => r.session_id).sort();
  const users = [...new Set(p.sessions.map((r) => r.user_id).filter((u): u is string => u !== null))].sort();
  return { sessions: n!.n, longSessions: long, longSessionCalls, users };
}
