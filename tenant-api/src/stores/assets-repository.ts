import type { Asset, AssetDomain, GovernanceState } from '@higgs/schema';
import { decodeCursor, encodeCursor, toInt, toIso } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

interface AssetRow {
  id: string;
  domain: Asset['domain'];
  kind: string;
  name: string;
  namespace: string | null;
  app: string | null;
  governance: Asset['governance'];
  first_seen: Date | string;
  last_seen: Date | string;
  call_count: number | string;
  attributes: Record<string, string>;
}

const COLUMNS = 'id, domain, kind, name, namespace, app, governance, first_seen, last_seen, call_count, attributes';

function toAsset(row: AssetRow): Asset {
  return {
    id: row.id,
    domain: row.domain,
    kind: row.kind,
    name: row.name,
    namespace: row.namespace,
    app: row.app,
    governance: row.governance,
    firstSeen: toIso(row.first_seen),
    lastSeen: toIso(row.last_seen),
    callCount: toInt(row.call_count),
    attributes: row.attributes,
  };
}

export interface AssetObservation {
  id: string;
  domain: AssetDomain;
  kind: string;
  name: string;
  namespace: string | null;
  app: string | null;
  /** the state a first sighting gets; an existing asset keeps its own */
  governance: GovernanceState;
  seenAt: string;
  attributes: Record<string, string>;
}

/**
 * Records calls against the asset: created on first sight, otherwise its count
 * grows by `count` (default one call) and its seen range widens to
 * [`asset.seenAt`, `lastSeenAt`]. Returns the asset and whether it was new.
 */
export async function observeAsset(
  db: SqlExecutor, p: { tenantId: string; asset: AssetObservation; count?: number; lastSeenAt?: string },
): Promise<{ asset: Asset; created: boolean }> {
  const a = p.asset;
  const { rows } = await db.query<AssetRow & { created: boolean }>(
    `INSERT INTO assets (tenant_id, id, domain, kind, name, namespace, app, governance, first_seen, last_seen, call_count, attributes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz, $11::timestamptz, $12, $10::jsonb)
     ON CONFLICT (tenant_id, id) DO UPDATE SET
       call_count = assets.call_count + EXCLUDED.call_count,
       first_seen = LEAST(assets.first_seen, EXCLUDED.first_seen),
       last_seen = GREATEST(assets.last_seen, EXCLUDED.last_seen),
       attributes = assets.attributes || EXCLUDED.attributes
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [p.tenantId, a.id, a.domain, a.kind, a.name, a.namespace, a.app, a.governance, a.seenAt, JSON.stringify(a.attributes),
      p.lastSeenAt ?? a.seenAt, p.count ?? 1],
  );
  const row = rows[0];
  if (!row) throw new Error('upsert returned no row');
  return { asset: toAsset(row), created: row.created };
}

export async function getAsset(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<Asset | null> {
  const { rows } = await db.query<AssetRow>(`SELECT ${COLUMNS} FROM assets WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.id]);
  return rows[0] ? toAsset(rows[0]) : null;
}

/** Most recently seen first; `cursor` is the previous page's `nextCursor`. */
export async function listAssets(
  db: SqlExecutor,
  p: { tenantId: string; domain?: AssetDomain | undefined; governance?: GovernanceState | undefined; limit: number; cursor?: string | undefined },
): Promise<{ assets: Asset[]; nextCursor: string | null }> {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [p.tenantId];
  if (p.domain) where.push(`domain = $${params.push(p.domain)}`);
  if (p.governance) where.push(`governance = $${params.push(p.governance)}`);
  const key = p.cursor ? decodeCursor(p.cursor) : null;
  if (key && typeof key[0] === 'string' && typeof key[1] === 'string') {
    where.push(`(last_seen, id) < ($${params.push(key[0])}::timestamptz, $${params.push(key[1])})`);
  }
  const { rows } = await db.query<AssetRow>(
    `SELECT ${COLUMNS} FROM assets WHERE ${where.join(' AND ')} ORDER BY last_seen DESC, id DESC LIMIT $${params.push(p.limit + 1)}`,
    params,
  );
  const page = rows.slice(0, p.limit).map(toAsset);
  const last = page.at(-1);
  return { assets: page, nextCursor: rows.length > p.limit && last ? encodeCursor([last.lastSeen, last.id]) : null };
}

export async function countAssets(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM assets WHERE tenant_id = $1', [p.tenantId]);
  return rows[0]?.n ?? 0;
}
