import type { Proposal } from '@higgs/schema';
import { toIso, toIsoOrNull } from './rows.ts';
import type { SqlExecutor } from './sql-client.ts';

interface ProposalRow {
  id: string;
  tool: Proposal['tool'];
  args: Record<string, unknown>;
  args_hash: string;
  title: string;
  rationale: string;
  finding_id: string | null;
  status: Proposal['status'];
  proposed_by: string;
  created_at: Date | string;
  expires_at: Date | string;
  decided_by: string | null;
  decided_at: Date | string | null;
  result: Record<string, unknown> | null;
}

const COLUMNS = 'id, tool, args, args_hash, title, rationale, finding_id, status, proposed_by, created_at, expires_at, decided_by, decided_at, result';

function toProposal(row: ProposalRow): Proposal {
  return {
    id: row.id,
    tool: row.tool,
    args: row.args,
    argsHash: row.args_hash,
    title: row.title,
    rationale: row.rationale,
    findingId: row.finding_id,
    status: row.status,
    proposedBy: row.proposed_by,
    createdAt: toIso(row.created_at),
    expiresAt: toIso(row.expires_at),
    decidedBy: row.decided_by,
    decidedAt: toIsoOrNull(row.decided_at),
    result: row.result,
  };
}

export async function insertProposal(db: SqlExecutor, p: { tenantId: string; proposal: Proposal }): Promise<void> {
  const x = p.proposal;
  await db.query(
    `INSERT INTO proposals (tenant_id, id, tool, args, args_hash, title, rationale, finding_id, status, proposed_by,
                            created_at, expires_at, decided_by, decided_at, result)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11::timestamptz, $12::timestamptz, NULL, NULL, NULL)`,
    [p.tenantId, x.id, x.tool, JSON.stringify(x.args), x.argsHash, x.title, x.rationale, x.findingId, x.status, x.proposedBy,
      x.createdAt, x.expiresAt],
  );
}

export async function getProposal(db: SqlExecutor, p: { tenantId: string; id: string }): Promise<Proposal | null> {
  const { rows } = await db.query<ProposalRow>(`SELECT ${COLUMNS} FROM proposals WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.id]);
  return rows[0] ? toProposal(rows[0]) : null;
}

/** Newest first. */
export async function listProposals(db: SqlExecutor, p: { tenantId: string; status?: Proposal['status'] | undefined }): Promise<Proposal[]> {
  const { rows } = await db.query<ProposalRow>(
    `SELECT ${COLUMNS} FROM proposals WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
      ORDER BY created_at DESC, id DESC LIMIT 500`,
    [p.tenantId, p.status ?? null],
  );
  return rows.map(toProposal);
}

/**
 * Moves a pending proposal to its final state: compare-and-set on
 * status = 'pending', so exactly one decision wins. Null when it was not pending.
 */
export async function decidePendingProposal(
  db: SqlExecutor,
  p: { tenantId: string; id: string; status: Exclude<Proposal['status'], 'pending'>; decidedBy: string; decidedAt: string; result: Record<string, unknown> | null },
): Promise<Proposal | null> {
  const { rows } = await db.query<ProposalRow>(
    `UPDATE proposals SET status = $3, decided_by = $4, decided_at = $5::timestamptz, result = $6::jsonb
      WHERE tenant_id = $1 AND id = $2 AND status = 'pending'
      RETURNING ${COLUMNS}`,
    [p.tenantId, p.id, p.status, p.decidedBy, p.decidedAt, p.result === null ? null : JSON.stringify(p.result)],
  );
  return rows[0] ? toProposal(rows[0]) : null;
}

/**
 * Records the outcome of an approved (claimed) proposal: only one still
 * 'approved' with no result changes, so the outcome is written once. Null otherwise.
 */
export async function completeApprovedProposal(
  db: SqlExecutor,
  p: { tenantId: string; id: string; status: 'approved' | 'failed'; result: Record<string, unknown> },
): Promise<Proposal | null> {
  const { rows } = await db.query<ProposalRow>(
    `UPDATE proposals SET status = $3, result = $4::jsonb
      WHERE tenant_id = $1 AND id = $2 AND status = 'approved' AND result IS NULL
      RETURNING ${COLUMNS}`,
    [p.tenantId, p.id, p.status, JSON.stringify(p.result)],
  );
  return rows[0] ? toProposal(rows[0]) : null;
}

export async function countPendingProposals(db: SqlExecutor, p: { tenantId: string }): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM proposals WHERE tenant_id = $1 AND status = 'pending'`, [p.tenantId],
  );
  return rows[0]?.n ?? 0;
}
