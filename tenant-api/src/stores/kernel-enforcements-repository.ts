import type { KernelEnforcement } from '@higgs/schema';
import type { SqlExecutor } from './sql-client.ts';

/** Rows a statement: 10 parameters each, far below Postgres' 65 535. */
const ROWS_PER_STATEMENT = 500;

/**
 * Stores kernel enforcement reports; an id already stored is skipped. Returns
 * the ids that were new, so the caller audits each report exactly once.
 */
export async function insertKernelEnforcements(
  db: SqlExecutor, p: { tenantId: string; events: readonly KernelEnforcement[] },
): Promise<Set<string>> {
  const fresh = new Set<string>();
  for (let i = 0; i < p.events.length; i += ROWS_PER_STATEMENT) {
    const params: unknown[] = [p.tenantId];
    const tuples = p.events.slice(i, i + ROWS_PER_STATEMENT).map((e) => {
      const at = params.length;
      params.push(e.id, e.scannerId, e.ts, e.primitive, e.target, e.count, e.latencyUs, e.orderedBy);
      return `($1, $${at + 1}, $${at + 2}, $${at + 3}::timestamptz, $${at + 4}, $${at + 5}, $${at + 6}, $${at + 7}, $${at + 8})`;
    });
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO kernel_enforcements (tenant_id, id, scanner_id, ts, primitive, target, count, latency_us, ordered_by)
       VALUES ${tuples.join(', ')} ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id`,
      params,
    );
    for (const r of rows) fresh.add(r.id);
  }
  return fresh;
}
