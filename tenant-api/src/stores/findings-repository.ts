import type { Finding, FindingCategory, FindingStatus, Severity } from '@higgs/schema';
import { decodeCursor, encodeCursor, toInt, toIso } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

interface FindingRow {
  id: string;
  category: Finding['category'];
  severity: Finding['severity'];
  status: Finding['status'];
  title: string;
  asset_id: string;
  detector: string;
  count: number | string;
  first_seen: Date | string;
  last_seen: Date | string;
  evidence: Finding['evidence'];
  status_by: string | null;
  status_at: Date | string | null;
  status_reason: string | null;
}

const COLUMNS = 'id, category, severity, status, title, asset_id, detector, count, first_seen, last_seen, evidence, status_by, status_at, status_reason';

/** Sort rank of a severity: most severe first. */
export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

function toFinding(row: FindingRow): Finding {
  return {
    id: row.id,
    category: row.category,
    severity: row.severity,
    status: row.status,
    title: row.title,
    assetId: row.asset_id,
    detector: row.detector,
    count: toInt(row.count),
    firstSeen: toIso(row.first_seen),
    lastSeen: toIso(row.last_seen),
    evidence: row.evidence,
    statusNote: row.status_by === null || row.status_at === null
      ? null
      : { by: row.status_by, at: toIso(row.status_at), reason: row.status_reason ?? '' },
  };
}

export async function getFinding(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<Finding | null> {
  const { rows } = await db.query<FindingRow>(`SELECT ${COLUMNS} FROM findings WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.id]);
  return rows[0] ? toFinding(rows[0]) : null;
}

/**
 * The findings for these (asset, detector) de-duplication keys, locked for update
 * inside a transaction, keyed `assetId\u0000detector`. One statement for a batch.
 */
export async function getFindingsByKeysForUpdate(
  db: SqlExecutor, p: { tenantId: string; keys: ReadonlyArray<{ assetId: string; detector: string }> },
): Promise<Map<string, Finding>> {
  if (p.keys.length === 0) return new Map();
  const { rows } = await db.query<FindingRow>(
    `SELECT ${COLUMNS} FROM findings
      WHERE tenant_id = $1 AND (asset_id, detector) IN (SELECT a, d FROM unnest($2::text[], $3::text[]) AS k(a, d))
      ORDER BY id FOR UPDATE`,
    [p.tenantId, p.keys.map((k) => k.assetId), p.keys.map((k) => k.detector)],
  );
  return new Map(rows.map((r) => [`${r.asset_id}\u0000${r.detector}`, toFinding(r)]));
}

/** Inserts new findings, one statement for the batch. */
export async function insertFindings(db: SqlExecutor, p: { tenantId: string; findings: readonly Finding[] }): Promise<void> {
  if (p.findings.length === 0) return;
  const f = p.findings;
  await db.query(
    `INSERT INTO findings (tenant_id, id, category, severity, severity_rank, status, title, asset_id, detector, count,
                           first_seen, last_seen, namespace, app, evidence)
     SELECT $1, id, category, severity, rank, status, title, asset_id, detector, n, first_seen, last_seen, namespace, app, evidence::jsonb
       FROM unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[],
                   $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[], $15::text[])
         AS v(id, category, severity, rank, status, title, asset_id, detector, n, first_seen, last_seen, namespace, app, evidence)`,
    [p.tenantId, f.map((x) => x.id), f.map((x) => x.category), f.map((x) => x.severity), f.map((x) => SEVERITY_RANK[x.severity]),
      f.map((x) => x.status), f.map((x) => x.title), f.map((x) => x.assetId), f.map((x) => x.detector), f.map((x) => x.count),
      f.map((x) => x.firstSeen), f.map((x) => x.lastSeen), f.map((x) => x.evidence.namespace), f.map((x) => x.evidence.app),
      f.map((x) => JSON.stringify(x.evidence))],
  );
}

/**
 * Writes new occurrences' effect on existing findings, one statement for the batch:
 * count, seen range, merged evidence and status (a recurrence reopens a resolved finding).
 */
export async function updateFindingOccurrences(db: SqlExecutor, p: { tenantId: string; findings: readonly Finding[] }): Promise<void> {
  if (p.findings.length === 0) return;
  const f = p.findings;
  await db.query(
    `UPDATE findings SET count = v.n, first_seen = v.first_seen, last_seen = v.last_seen, evidence = v.evidence::jsonb,
            namespace = v.namespace, app = v.app, status = v.status
       FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[])
         AS v(id, n, first_seen, last_seen, evidence, namespace, app, status)
      WHERE findings.tenant_id = $1 AND findings.id = v.id`,
    [p.tenantId, f.map((x) => x.id), f.map((x) => x.count), f.map((x) => x.firstSeen), f.map((x) => x.lastSeen),
      f.map((x) => JSON.stringify(x.evidence)), f.map((x) => x.evidence.namespace), f.map((x) => x.evidence.app), f.map((x) => x.status)],
  );
}

/**
 * A person's status change with its reason, on the finding row locked for update.
 * Returns the finding before and after, or null when it does not exist.
 */
export async function changeFindingStatus(
  db: SqlExecutor, p: { tenantId: string; id: string; status: FindingStatus; by: string; at: string; reason: string },
): Promise<{ before: Finding; after: Finding } | null> {
  const { rows } = await db.query<FindingRow>(`SELECT ${COLUMNS} FROM findings WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [p.tenantId, p.id]);
  const row = rows[0];
  if (!row) return null;
  const before = toFinding(row);
  await db.query(
    `UPDATE findings SET status = $3, status_by = $4, status_at = $5::timestamptz, status_reason = $6 WHERE tenant_id = $1 AND id = $2`,
    [p.tenantId, p.id, p.status, p.by, p.at, p.reason],
  );
  return { before, after: { ...before, status: p.status, statusNote: { by: p.by, at: p.at, reason: p.reason } } };
}

export async function setFindingStatus(
  db: SqlExecutor, p: { tenantId: string; id: string; status: FindingStatus; onlyFrom?: FindingStatus },
): Promise<void> {
  const params: unknown[] = [p.tenantId, p.id, p.status];
  const guard = p.onlyFrom ? ` AND status = $${params.push(p.onlyFrom)}` : '';
  await db.query(`UPDATE findings SET status = $3 WHERE tenant_id = $1 AND id = $2${guard}`, params);
}

export interface FindingFilter {
  category?: FindingCategory | undefined;
  severity?: Severity | undefined;
  status?: FindingStatus | undefined;
  namespace?: string | undefined;
  app?: string | undefined;
  assetId?: string | undefined;
  /** a user named in the evidence (which keeps the latest 20 users of a finding) */
  user?: string | undefined;
  /** seen within [from, to): last seen at or after `from`, first seen before `to` */
  from?: string | undefined;
  to?: string | undefined;
}

/** Most severe first, then most recent; `cursor` is the previous page's `nextCursor`. */
export async function listFindings(
  db: SqlExecutor, p: { tenantId: string; filter: FindingFilter; limit: number; cursor?: string | undefined },
): Promise<{ findings: Finding[]; nextCursor: string | null }> {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [p.tenantId];
  const f = p.filter;
  if (f.category) where.push(`category = $${params.push(f.category)}`);
  if (f.severity) where.push(`severity = $${params.push(f.severity)}`);
  if (f.status) where.push(`status = $${params.push(f.status)}`);
  if (f.namespace) where.push(`namespace = $${params.push(f.namespace)}`);
  if (f.app) where.push(`app = $${params.push(f.app)}`);
  if (f.assetId) where.push(`asset_id = $${params.push(f.assetId)}`);
  if (f.user) where.push(`evidence->'users' ? $${params.push(f.user)}`);
  if (f.from) where.push(`last_seen >= $${params.push(f.from)}::timestamptz`);
  if (f.to) where.push(`first_seen < $${params.push(f.to)}::timestamptz`);
  const key = p.cursor ? decodeCursor(p.cursor) : null;
  if (key && typeof key[0] === 'number' && typeof key[1] === 'string' && typeof key[2] === 'string') {
    const rank = `$${params.push(key[0])}`;
    const seen = `$${params.push(key[1])}::timestamptz`;
    const id = `$${params.push(key[2])}`;
    where.push(`(severity_rank > ${rank} OR (severity_rank = ${rank} AND (last_seen, id) < (${seen}, ${id})))`);
  }
  const { rows } = await db.query<FindingRow>(
    `SELECT ${COLUMNS} FROM findings WHERE ${where.join(' AND ')}
      ORDER BY severity_rank ASC, last_seen DESC, id DESC LIMIT $${params.push(p.limit + 1)}`,
    params,
  );
  const page = rows.slice(0, p.limit).map(toFinding);
  const last = page.at(-1);
  return {
    findings: page,
    nextCursor: rows.length > p.limit && last ? encodeCursor([SEVERITY_RANK[last.severity], last.lastSeen, last.id]) : null,
  };
}

/** Open findings per category (categories with none are absent). */
export async function countOpenFindingsByCategory(db: SqlExecutor, p: { tenantId: string }): Promise<Partial<Record<FindingCategory, number>>> {
  const { rows } = await db.query<{ category: FindingCategory; n: number }>(
    `SELECT category, count(*)::int AS n FROM findings WHERE tenant_id = $1 AND status = 'open' GROUP BY category`,
    [p.tenantId],
  );
  return Object.fromEntries(rows.map((r) => [r.category, r.n]));
}

/** The findings a risk score counts (open and acknowledged) on one asset, or in one application. */
export async function listRiskFindings(
  db: SqlExecutor, p: { tenantId: string; assetId?: string | undefined; app?: string | undefined; namespace?: string | undefined },
): Promise<Finding[]> {
  const where = ['tenant_id = $1', "status IN ('open', 'acknowledged')"];
  const params: unknown[] = [p.tenantId];
  if (p.assetId !== undefined) where.push(`asset_id = $${params.push(p.assetId)}`);
  if (p.app !== undefined) where.push(`app = $${params.push(p.app)}`);
  if (p.namespace !== undefined) where.push(`namespace = $${params.push(p.namespace)}`);
  if (params.length === 1) throw new RangeError('a risk score is for one asset or one application');
  const { rows } = await db.query<FindingRow>(
    `SELECT ${COLUMNS} FROM findings WHERE ${where.join(' AND ')} ORDER BY severity_rank, last_seen DESC, id DESC`, params,
  );
  return rows.map(toFinding);
}

/** Open findings per asset among `assetIds`: how many, and the most severe one's rank. */
export async function summarizeOpenFindingsByAsset(
  db: SqlExecutor, p: { tenantId: string; assetIds: readonly string[] },
): Promise<Map<string, { open: number; minRank: number }>> {
  if (p.assetIds.length === 0) return new Map();
  const { rows } = await db.query<{ asset_id: string; n: number; min_rank: number }>(
    `SELECT asset_id, count(*)::int AS n, min(severity_rank)::int AS min_rank FROM findings
      WHERE tenant_id = $1 AND status = 'open' AND asset_id = ANY($2::text[]) GROUP BY asset_id`,
    [p.tenantId, [...new Set(p.assetIds)]],
  );
  return new Map(rows.map((r) => [r.asset_id, { open: r.n, minRank: r.min_rank }]));
}
