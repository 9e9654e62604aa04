import type { SqlExecutor } from './sql-client.ts';

export interface PackMetadata {
  id: string;
  generatedAt: string;
  generatedBy: string;
  from: string;
  to: string;
  digest: string;
}

/** Records that a compliance pack was generated (the pack itself goes to the caller). */
export async function insertPackMetadata(db: SqlExecutor, p: { tenantId: string; pack: PackMetadata }): Promise<void> {
  const k = p.pack;
  await db.query(
    `INSERT INTO compliance_packs (tenant_id, id, generated_at, generated_by, range_from, range_to, digest)
     VALUES ($1, $2, $3::timestamptz, $4, $5::timestamptz, $6::timestamptz, $7)`,
    [p.tenantId, k.id, k.generatedAt, k.generatedBy, k.from, k.to, k.digest],
  );
}

export async function countPacks(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM compliance_packs WHERE tenant_id = $1', [p.tenantId]);
  return rows[0]?.n ?? 0;
}
