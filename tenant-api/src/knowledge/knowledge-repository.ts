/** SQL for the knowledge chunks (migration 0006). Every query filters on the tenant and the embedder. */
import type { KnowledgeTopic } from '@higgs/schema';
import type { SqlExecutor } from '../stores/sql-client.ts';

export interface StoredChunk {
  id: string;
  document: string;
  title: string;
  topic: KnowledgeTopic;
  text: string;
  contentHash: string;
  embedding: readonly number[];
}

export interface ChunkHit {
  id: string;
  title: string;
  topic: KnowledgeTopic;
  text: string;
  score: number;
}

/** pgvector's text form: `[0.1,0.2,…]`, passed as a parameter and cast with `::vector`. */
function vectorLiteral(v: readonly number[]): string {
  return `[${v.map((x) => (Number.isFinite(x) ? x : 0)).join(',')}]`;
}

/** False when migration 0006 was skipped (a Postgres server without pgvector). */
export async function hasKnowledgeTable(db: SqlExecutor): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>("SELECT to_regclass('knowledge_chunks') IS NOT NULL AS present");
  return rows[0]?.present === true;
}

export async function listChunkHashes(db: SqlExecutor, p: { tenantId: string; embedder: string }): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; content_hash: string }>(
    'SELECT id, content_hash FROM knowledge_chunks WHERE tenant_id = $1 AND embedder = $2',
    [p.tenantId, p.embedder],
  );
  return new Map(rows.map((r) => [r.id, r.content_hash]));
}

export async function upsertChunk(db: SqlExecutor, p: { tenantId: string; embedder: string; chunk: StoredChunk }): Promise<void> {
  const c = p.chunk;
  await db.query(
    `INSERT INTO knowledge_chunks (tenant_id, embedder, id, document, title, topic, body, content_hash, embedding)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::vector)
     ON CONFLICT (tenant_id, embedder, id) DO UPDATE SET document = EXCLUDED.document, title = EXCLUDED.title,
       topic = EXCLUDED.topic, body = EXCLUDED.body, content_hash = EXCLUDED.content_hash, embedding = EXCLUDED.embedding`,
    [p.tenantId, p.embedder, c.id, c.document, c.title, c.topic, c.text, c.contentHash, vectorLiteral(c.embedding)],
  );
}

export async function deleteChunks(db: SqlExecutor, p: { tenantId: string; embedder: string; ids: readonly string[] }): Promise<void> {
  if (p.ids.length === 0) return;
  await db.query('DELETE FROM knowledge_chunks WHERE tenant_id = $1 AND embedder = $2 AND id = ANY($3::text[])', [p.tenantId, p.embedder, [...p.ids]]);
}

/** The `limit` chunks nearest to `embedding` by cosine distance, nearest first. */
export async function searchChunks(db: SqlExecutor, p: {
  tenantId: string; embedder: string; embedding: readonly number[]; topic: KnowledgeTopic | null; limit: number;
}): Promise<ChunkHit[]> {
  const { rows } = await db.query<{ id: string; title: string; topic: KnowledgeTopic; body: string; distance: number }>(
    `SELECT id, title, topic, body, embedding <=> $3::vector AS distance
       FROM knowledge_chunks
      WHERE tenant_id = $1 AND embedder = $2 AND ($4::text IS NULL OR topic = $4)
      ORDER BY embedding <=> $3::vector, id
      LIMIT $5`,
    [p.tenantId, p.embedder, vectorLiteral(p.embedding), p.topic, p.limit],
  );
  return rows.map((r) => ({ id: r.id, title: r.title, topic: r.topic, text: r.body, score: 1 - Number(r.distance) }));
}
