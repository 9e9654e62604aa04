import type { Attribution, Session } from '@higgs/schema';
import { decodeCursor, encodeCursor, toInt, toIso } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

interface SessionRow {
  id: string;
  trace_id: string | null;
  user_id: string | null;
  namespace: string | null;
  app: string | null;
  first_seen: Date | string;
  last_seen: Date | string;
  call_count: number | string;
  verdict: Session['verdict'];
  user_source: Attribution['userSource'];
  tool_call_count: number | string;
}

const COLUMNS = 'id, trace_id, user_id, namespace, app, first_seen, last_seen, call_count, verdict, user_source, tool_call_count';

/** A stored session with how its user is known and its MCP tool-call count. */
export type AttributedSession = Session & { userSource: Attribution['userSource']; toolCallCount: number };

function toSession(row: SessionRow): AttributedSession {
  return {
    id: row.id,
    traceId: row.trace_id,
    userId: row.user_id,
    namespace: row.namespace,
    app: row.app,
    firstSeen: toIso(row.first_seen),
    lastSeen: toIso(row.last_seen),
    callCount: toInt(row.call_count),
    verdict: row.verdict,
    userSource: row.user_source,
    toolCallCount: toInt(row.tool_call_count),
  };
}

export interface SessionObservation {
  id: string;
  traceId: string | null;
  userId: string | null;
  /** how userId is known; null with it */
  userSource: Attribution['userSource'];
  namespace: string | null;
  app: string | null;
  firstAt: string;
  lastAt: string;
  /** LLM calls observed in [firstAt, lastAt] */
  count: number;
  /** MCP tool calls observed in [firstAt, lastAt] */
  toolCount: number;
}

/** Sessions per statement: 11 parameters a row, far below Postgres' 65 535. */
const SESSIONS_PER_STATEMENT = 1000;

/**
 * Counts calls into their sessions, creating a session on first sight. Known
 * trace id / user / workload are kept; a later call only fills what was missing
 * (a user learned later, from another hop of the trace, comes with its source).
 * The verdict is the control plane's and is never changed by an observation.
 * Each id appears once in `sessions` (tally calls of one session beforehand).
 */
export async function observeSessions(db: SqlExecutor, p: { tenantId: string; sessions: readonly SessionObservation[] }): Promise<void> {
  for (let i = 0; i < p.sessions.length; i += SESSIONS_PER_STATEMENT) {
    const params: unknown[] = [p.tenantId];
    const tuples = p.sessions.slice(i, i + SESSIONS_PER_STATEMENT).map((s) => {
      const [id, trace, user, source, ns, app, first, last, count, tools] = [
        s.id, s.traceId, s.userId, s.userId === null ? null : s.userSource, s.namespace, s.app, s.firstAt, s.lastAt, s.count, s.toolCount,
      ].map((v) => `$${params.push(v)}`);
      return `($1, ${id}, ${trace}, ${user}, ${source}, ${ns}, ${app}, ${first}::timestamptz, ${last}::timestamptz, ${count}::bigint, `
        + `${tools}::bigint, 'allow')`;
    });
    await db.query(
      `INSERT INTO sessions (tenant_id, id, trace_id, user_id, user_source, namespace, app, first_seen, last_seen, call_count,
                             tool_call_count, verdict)
       VALUES ${tuples.join(', ')}
       ON CONFLICT (tenant_id, id) DO UPDATE SET
         trace_id = COALESCE(sessions.trace_id, EXCLUDED.trace_id),
         user_source = CASE WHEN sessions.user_id IS NULL THEN EXCLUDED.user_source ELSE sessions.user_source END,
         user_id = COALESCE(sessions.user_id, EXCLUDED.user_id),
         namespace = COALESCE(sessions.namespace, EXCLUDED.namespace),
         app = COALESCE(sessions.app, EXCLUDED.app),
         first_seen = LEAST(sessions.first_seen, EXCLUDED.first_seen),
         last_seen = GREATEST(sessions.last_seen, EXCLUDED.last_seen),
         call_count = sessions.call_count + EXCLUDED.call_count,
         tool_call_count = sessions.tool_call_count + EXCLUDED.tool_call_count`,
      params,
    );
  }
}

export async function getSession(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<AttributedSession | null> {
  const { rows } = await db.query<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.id]);
  return rows[0] ? toSession(rows[0]) : null;
}

/** Ids of the sessions whose verdict is block: the scanner refuses their calls. */
export async function listBlockedSessionIds(db: SqlExecutor, p: { tenantId: string }): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM sessions WHERE tenant_id = $1 AND verdict = 'block' ORDER BY id`, [p.tenantId],
  );
  return rows.map((r) => r.id);
}

export async function countSessions(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE tenant_id = $1', [p.tenantId]);
  return rows[0]?.n ?? 0;
}

export interface SessionFilter {
  userId?: string | undefined;
  app?: string | undefined;
  namespace?: string | undefined;
  /** active at or after: last_seen >= from */
  from?: string | undefined;
  /** started before: first_seen < to */
  to?: string | undefined;
}

/** Most recently active first; `cursor` is the previous page's `nextCursor`. */
export async function listSessions(
  db: SqlExecutor, p: { tenantId: string; filter: SessionFilter; limit: number; cursor?: string | undefined },
): Promise<{ sessions: AttributedSession[]; nextCursor: string | null }> {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [p.tenantId];
  const f = p.filter;
  if (f.userId) where.push(`user_id = $${params.push(f.userId)}`);
  if (f.app) where.push(`app = $${params.push(f.app)}`);
  if (f.namespace) where.push(`namespace = $${params.push(f.namespace)}`);
  if (f.from) where.push(`last_seen >= $${params.push(f.from)}::timestamptz`);
  if (f.to) where.push(`first_seen < $${params.push(f.to)}::timestamptz`);
  const key = p.cursor ? decodeCursor(p.cursor) : null;
  if (key && typeof key[0] === 'string' && typeof key[1] === 'string' && !Number.isNaN(Date.parse(key[0]))) {
    where.push(`(last_seen, id COLLATE "C") < ($${params.push(key[0])}::timestamptz, $${params.push(key[1])} COLLATE "C")`);
  }
  const { rows } = await db.query<SessionRow>(
    `SELECT ${COLUMNS} FROM sessions WHERE ${where.join(' AND ')}
      ORDER BY last_seen DESC, id COLLATE "C" DESC LIMIT $${params.push(p.limit + 1)}`,
    params,
  );
  const page = rows.slice(0, p.limit).map(toSession);
  const last = page.at(-1);
  return { sessions: page, nextCursor: rows.length > p.limit && last ? encodeCursor([last.lastSeen, last.id]) : null };
}

/** Ids of the user's most recently active sessions (at most `limit`), active at or after `from` when given. */
export async function listUserSessionIds(
  db: SqlExecutor, p: { tenantId: string; userId: string; from?: string | undefined; limit: number },
): Promise<string[]> {
  const params: unknown[] = [p.tenantId, p.userId];
  const since = p.from ? ` AND last_seen >= $${params.push(p.from)}::timestamptz` : '';
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM sessions WHERE tenant_id = $1 AND user_id = $2${since} ORDER BY last_seen DESC LIMIT $${params.push(p.limit)}`, params,
  );
  return rows.map((r) => r.id);
}

export interface TraceUser {
  traceId: string;
  userId: string;
  userSource: NonNullable<Attribution['userSource']>;
  firstSeen: string;
}

/**
 * Records the user of each trace that has none yet: the first observation that
 * carried a user of its own wins, so a later hop can never re-attribute a trace.
 */
export async function recordTraceUsers(db: SqlExecutor, p: { tenantId: string; traces: readonly TraceUser[] }): Promise<void> {
  for (let i = 0; i < p.traces.length; i += SESSIONS_PER_STATEMENT) {
    const params: unknown[] = [p.tenantId];
    const tuples = p.traces.slice(i, i + SESSIONS_PER_STATEMENT).map((t) =>
      `($1, $${params.push(t.traceId)}, $${params.push(t.userId)}, $${params.push(t.userSource)}, $${params.push(t.firstSeen)}::timestamptz)`);
    await db.query(
      `INSERT INTO trace_users (tenant_id, trace_id, user_id, user_source, first_seen) VALUES ${tuples.join(', ')}
       ON CONFLICT (tenant_id, trace_id) DO NOTHING`,
      params,
    );
  }
}

/** The known user of each of `traceIds` (absent ones are not in the map). */
export async function getTraceUsers(db: SqlExecutor, p: { tenantId: string; traceIds: readonly string[] }): Promise<Map<string, TraceUser>> {
  if (p.traceIds.length === 0) return new Map();
  const { rows } = await db.query<{ trace_id: string; user_id: string; user_source: TraceUser['userSource']; first_seen: Date | string }>(
    'SELECT trace_id, user_id, user_source, first_seen FROM trace_users WHERE tenant_id = $1 AND trace_id = ANY($2::text[])',
    [p.tenantId, [...new Set(p.traceIds)]],
  );
  return new Map(rows.map((r) => [r.trace_id, { traceId: r.trace_id, userId: r.user_id, userSource: r.user_source, firstSeen: toIso(r.first_seen) }]));
}
