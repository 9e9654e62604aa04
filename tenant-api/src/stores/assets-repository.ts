import type { Asset, AssetDomain, GovernanceState, GovernanceTransition } from '@higgs/schema';
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

/** The assets among `ids` (in no particular order); missing ids are absent. */
export async function getAssetsByIds(db: SqlExecutor, p: { tenantId: string; ids: readonly string[] }): Promise<Asset[]> {
  if (p.ids.length === 0) return [];
  const { rows } = await db.query<AssetRow>(
    `SELECT ${COLUMNS} FROM assets WHERE tenant_id = $1 AND id = ANY($2::text[])`, [p.tenantId, [...new Set(p.ids)]],
  );
  return rows.map(toAsset);
}

interface TransitionRow {
  from_state: GovernanceState | null;
  to_state: GovernanceState;
  changed_by: string;
  changed_at: Date | string;
  reason: string;
}

/**
 * Moves the asset to `to` and records the transition, locking the asset row so
 * concurrent changes queue. Returns null when the asset does not exist; the
 * transition is null when the asset already was in that state.
 */
export async function setAssetGovernance(
  db: SqlExecutor, p: { tenantId: string; id: string; to: GovernanceState; by: string; at: string; reason: string },
): Promise<{ asset: Asset; transition: GovernanceTransition | null } | null> {
  const { rows } = await db.query<AssetRow>(`SELECT ${COLUMNS} FROM assets WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [p.tenantId, p.id]);
  const row = rows[0];
  if (!row) return null;
  const asset = toAsset(row);
  if (asset.governance === p.to) return { asset, transition: null };
  await db.query('UPDATE assets SET governance = $3 WHERE tenant_id = $1 AND id = $2', [p.tenantId, p.id, p.to]);
  const transition = await insertGovernanceTransition(db, {
    tenantId: p.tenantId, assetId: p.id, transition: { from: asset.governance, to: p.to, by: p.by, at: p.at, reason: p.reason },
  });
  return { asset: { ...asset, governance: p.to }, transition };
}

/** Appends one entry to the asset's governance history. */
export async function insertGovernanceTransition(
  db: SqlExecutor, p: { tenantId: string; assetId: string; transition: GovernanceTransition },
): Promise<GovernanceTransition> {
  await insertGovernanceTransitions(db, { tenantId: p.tenantId, entries: [{ assetId: p.assetId, transition: p.transition }] });
  return p.transition;
}

/** Appends entries to the governance histories of several assets (the discoveries of a batch), one statement. */
export async function insertGovernanceTransitions(
  db: SqlExecutor, p: { tenantId: string; entries: ReadonlyArray<{ assetId: string; transition: GovernanceTransition }> },
): Promise<void> {
  if (p.entries.length === 0) return;
  const e = p.entries;
  // WITH ORDINALITY keeps the given order in the seq column
  await db.query(
    `INSERT INTO governance_transitions (tenant_id, asset_id, from_state, to_state, changed_by, changed_at, reason)
     SELECT $1, asset_id, from_state, to_state, changed_by, changed_at, reason
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[]) WITH ORDINALITY
         AS v(asset_id, from_state, to_state, changed_by, changed_at, reason, ord)
      ORDER BY ord`,
    [p.tenantId, e.map((x) => x.assetId), e.map((x) => x.transition.from), e.map((x) => x.transition.to), e.map((x) => x.transition.by),
      e.map((x) => x.transition.at), e.map((x) => x.transition.reason)],
  );
}

/** The asset's governance history, oldest first. */
export async function listGovernanceTransitions(db: SqlExecutor, p: { tenantId: string; assetId: string }): Promise<GovernanceTransition[]> {
  const { rows } = await db.query<TransitionRow>(
    `SELECT from_state, to_state, changed_by, changed_at, reason FROM governance_transitions
      WHERE tenant_id = $1 AND asset_id = $2 ORDER BY seq`,
    [p.tenantId, p.assetId],
  );
  return rows.map((r) => ({ from: r.from_state, to: r.to_state, by: r.changed_by, at: toIso(r.changed_at), reason: r.reason }));
}

export type EdgeKind = 'calls' | 'model' | 'mcp' | 'tool' | 'flow';

export interface AssetEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

interface EdgeRow { src_id: string; dst_id: string; kind: EdgeKind; count: number | string; first_seen: Date | string; last_seen: Date | string }

/** Adds tallied observations to who-calls-what edges, one statement for the whole batch. */
export async function observeEdges(db: SqlExecutor, p: { tenantId: string; edges: readonly AssetEdge[] }): Promise<void> {
  if (p.edges.length === 0) return;
  const params: unknown[] = [p.tenantId];
  const tuples = p.edges.map((e) => `($1, $${params.push(e.from)}, $${params.push(e.to)}, $${params.push(e.kind)}, $${params.push(e.count)}, `
    + `$${params.push(e.firstSeen)}::timestamptz, $${params.push(e.lastSeen)}::timestamptz)`);
  await db.query(
    `INSERT INTO asset_edges (tenant_id, src_id, dst_id, kind, count, first_seen, last_seen) VALUES ${tuples.join(', ')}
     ON CONFLICT (tenant_id, src_id, dst_id, kind) DO UPDATE SET
       count = asset_edges.count + EXCLUDED.count,
       first_seen = LEAST(asset_edges.first_seen, EXCLUDED.first_seen),
       last_seen = GREATEST(asset_edges.last_seen, EXCLUDED.last_seen)`,
    params,
  );
}

/**
 * Edges busiest first. With `namespace` / `app`, the edges out of the matching
 * workloads plus the MCP server → tool edges of the servers they reach; with
 * `governance`, only edges whose destination is in that state.
 */
export async function listEdges(
  db: SqlExecutor,
  p: { tenantId: string; namespace?: string | undefined; app?: string | undefined; governance?: GovernanceState | undefined; limit: number },
): Promise<{ edges: AssetEdge[]; truncated: boolean }> {
  const params: unknown[] = [p.tenantId];
  const where = ['e.tenant_id = $1'];
  if (p.namespace !== undefined || p.app !== undefined) {
    const conds = ['w.tenant_id = $1', "w.kind = 'workload'"];
    if (p.namespace !== undefined) conds.push(`w.namespace = $${params.push(p.namespace)}`);
    if (p.app !== undefined) conds.push(`w.app = $${params.push(p.app)}`);
    const workloads = `SELECT w.id FROM assets w WHERE ${conds.join(' AND ')}`;
    where.push(`(e.src_id IN (${workloads}) OR (e.kind = 'tool' AND e.src_id IN (
      SELECT m.dst_id FROM asset_edges m WHERE m.tenant_id = $1 AND m.kind = 'mcp' AND m.src_id IN (${workloads}))))`);
  }
  if (p.governance !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM assets d WHERE d.tenant_id = $1 AND d.id = e.dst_id AND d.governance = $${params.push(p.governance)})`);
  }
  const { rows } = await db.query<EdgeRow>(
    `SELECT e.src_id, e.dst_id, e.kind, e.count, e.first_seen, e.last_seen FROM asset_edges e WHERE ${where.join(' AND ')}
      ORDER BY e.count DESC, e.src_id, e.dst_id, e.kind LIMIT $${params.push(p.limit + 1)}`,
    params,
  );
  return {
    edges: rows.slice(0, p.limit).map((r) => ({
      from: r.src_id, to: r.dst_id, kind: r.kind, count: toInt(r.count), firstSeen: toIso(r.first_seen), lastSeen: toIso(r.last_seen),
    })),
    truncated: rows.length > p.limit,
  };
}

/** The tenant's egress allowlist (`destination` baseline entries): hosts, or `*.suffix` patterns. */
export async function getDestinationAllowlist(db: SqlExecutor, p: { tenantId: string }): Promise<string[]> {
  const { rows } = await db.query<{ value: string }>(
    `SELECT value FROM governance_baseline WHERE tenant_id = $1 AND kind = 'destination' ORDER BY value`, [p.tenantId],
  );
  return rows.map((r) => r.value);
}
