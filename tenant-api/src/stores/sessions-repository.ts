import type { Session } from '@higgs/schema';
import { toInt, toIso } from './rows.ts';
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
}

const COLUMNS = 'id, trace_id, user_id, namespace, app, first_seen, last_seen, call_count, verdict';

function toSession(row: SessionRow): Session {
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
  };
}

export interface SessionObservation {
  id: string;
  traceId: string | null;
  userId: string | null;
  namespace: string | null;
  app: string | null;
  firstAt: string;
  lastAt: string;
  /** calls observed in [firstAt, lastAt] */
  count: number;
}

/** Sessions per statement: 9 parameters a row, far below Postgres' 65 535. */
const SESSIONS_PER_STATEMENT = 1000;

/**
 * Counts calls into their sessions, creating a session on first sight. Known
 * trace id / user / workload are kept; a later call only fills what was missing.
 * The verdict is the control plane's and is never changed by an observation.
 * Each id appears once in `sessions` (tally calls of one session beforehand).
 */
export async function observeSessions(db: SqlExecutor, p: { tenantId: string; sessions: readonly SessionObservation[] }): Promise<void> {
  for (let i = 0; i < p.sessions.length; i += SESSIONS_PER_STATEMENT) {
    const params: unknown[] = [p.tenantId];
    const tuples = p.sessions.slice(i, i + SESSIONS_PER_STATEMENT).map((s) => {
      const [id, trace, user, ns, app, first, last, count] = [s.id, s.traceId, s.userId, s.namespace, s.app, s.firstAt, s.lastAt, s.count]
        .map((v) => `$${params.push(v)}`);
      return `($1, ${id}, ${trace}, ${user}, ${ns}, ${app}, ${first}::timestamptz, ${last}::timestamptz, ${count}::bigint, 'allow')`;
    });
    await db.query(
      `INSERT INTO sessions (tenant_id, id, trace_id, user_id, namespace, app, first_seen, last_seen, call_count, verdict)
       VALUES ${tuples.join(', ')}
       ON CONFLICT (tenant_id, id) DO UPDATE SET
         trace_id = COALESCE(sessions.trace_id, EXCLUDED.trace_id),
         user_id = COALESCE(sessions.user_id, EXCLUDED.user_id),
         namespace = COALESCE(sessions.namespace, EXCLUDED.namespace),
         app = COALESCE(sessions.app, EXCLUDED.app),
         first_seen = LEAST(sessions.first_seen, EXCLUDED.first_seen),
         last_seen = GREATEST(sessions.last_seen, EXCLUDED.last_seen),
         call_count = sessions.call_count + EXCLUDED.call_count`,
      params,
    );
  }
}

export async function getSession(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<Session | null> {
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
