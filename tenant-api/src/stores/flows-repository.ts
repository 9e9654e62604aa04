/**
 * Network flows in the embedded TelemetryStore: TCP connections seen by flow
 * tracing, as the scanner sent them. Inserts are idempotent on the event id.
 */
import type { NetworkFlow } from '@higgs/schema';
import { toIso } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

/** 11 parameters a row: 1000 rows stay far below Postgres' 65 535 bind parameters. */
const ROWS_PER_STATEMENT = 1000;

/** Flows per workload × destination within a time range. */
export interface FlowSummaryRow {
  namespace: string | null;
  app: string | null;
  /** dstHost when the scanner resolved it, else dstIp */
  destination: string;
  dstPort: number;
  provider: string | null;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

/** Stores the flows; returns the ids that were new (a re-sent flow is not). */
export async function insertFlows(db: SqlExecutor, p: { tenantId: string; flows: readonly NetworkFlow[] }): Promise<Set<string>> {
  const stored = new Set<string>();
  for (let i = 0; i < p.flows.length; i += ROWS_PER_STATEMENT) {
    const params: unknown[] = [p.tenantId];
    const tuples = p.flows.slice(i, i + ROWS_PER_STATEMENT).map((f) => {
      const v = [f.id, f.scannerId, f.ts, f.source.namespace, f.source.app, f.dstIp, f.dstPort, f.dstHost, f.provider, JSON.stringify(f)];
      const casts = ['', '', '::timestamptz', '', '', '', '', '', '', '::jsonb'];
      return `($1, ${v.map((x, c) => `$${params.push(x)}${casts[c]}`).join(', ')})`;
    });
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO network_flows (tenant_id, id, scanner_id, ts, namespace, app, dst_ip, dst_port, dst_host, provider, body)
       VALUES ${tuples.join(', ')} ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id`,
      params,
    );
    for (const r of rows) stored.add(r.id);
  }
  return stored;
}

/** Flows within [from, to) per workload × destination, ordered by workload then destination (NULLs first). */
export async function summarizeFlows(db: SqlExecutor, p: { tenantId: string; from: string; to: string }): Promise<FlowSummaryRow[]> {
  const { rows } = await db.query<{
    namespace: string | null; app: string | null; destination: string; dst_port: number; provider: string | null;
    n: number; first_seen: Date | string; last_seen: Date | string;
  }>(
    `SELECT namespace, app, coalesce(dst_host, dst_ip) AS destination, dst_port, provider, count(*)::int AS n,
            min(ts) AS first_seen, max(ts) AS last_seen
       FROM network_flows WHERE tenant_id = $1 AND ts >= $2::timestamptz AND ts < $3::timestamptz
      GROUP BY namespace, app, coalesce(dst_host, dst_ip), dst_port, provider
      ORDER BY namespace NULLS FIRST, app NULLS FIRST, destination, dst_port, provider NULLS FIRST`,
    [p.tenantId, p.from, p.to],
  );
  return rows.map((r) => ({
    namespace: r.namespace, app: r.app, destination: r.destination, dstPort: r.dst_port, provider: r.provider, count: r.n,
    firstSeen: toIso(r.first_seen), lastSeen: toIso(r.last_seen),
  }));
}
