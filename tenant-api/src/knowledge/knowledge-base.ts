/**
 * The knowledge base: the team's markdown in `kb/`, chunked, embedded and kept
 * in pgvector per tenant, searched by cosine distance. When the state store has
 * no pgvector (migration 0006 skipped on a plain Postgres), the same chunks are
 * ranked by exact cosine in process, and every answer says which it was.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { KnowledgeTopic, SearchKnowledgeOutput } from '@higgs/schema';
import type { SqlClient } from '../stores/sql-client.ts';
import { chunkDocument, parseDocument, type Chunk } from './chunking.ts';
import { cosine, createHashedEmbedder, type Embedder } from './embedder.ts';
import { deleteChunks, hasKnowledgeTable, listChunkHashes, searchChunks, upsertChunk } from './knowledge-repository.ts';

const KB_DIR = new URL('./kb/', import.meta.url);

export interface KnowledgeSearch {
  query: string;
  topic?: KnowledgeTopic | undefined;
  limit: number;
}

export interface KnowledgeBase {
  /** Embeds the query and returns the nearest passages; indexes the tenant's copy of the knowledge base first if needed. */
  search(tenantId: string, input: KnowledgeSearch): Promise<SearchKnowledgeOutput>;
}

export interface KnowledgeBaseOptions {
  db: SqlClient;
  /** default: the local hashed n-gram embedder */
  embedder?: Embedder;
  /** default: the markdown files in `kb/` */
  loadChunks?: () => Promise<Chunk[]>;
}

/** Reads and chunks every `kb/*.md`, in file-name order. */
export async function loadKnowledgeChunks(): Promise<Chunk[]> {
  const files = (await readdir(KB_DIR)).filter((f) => f.endsWith('.md')).sort();
  const chunks: Chunk[] = [];
  for (const file of files) {
    const doc = parseDocument(file.slice(0, -3), await readFile(new URL(file, KB_DIR), 'utf8'));
    chunks.push(...await chunkDocument(doc));
  }
  return chunks;
}

export function createKnowledgeBase(opts: KnowledgeBaseOptions): KnowledgeBase {
  const { db } = opts;
  const embedder = opts.embedder ?? createHashedEmbedder();
  const loadChunks = opts.loadChunks ?? loadKnowledgeChunks;
  // what is computed once per process: the chunks, whether pgvector is there, and (without it) their vectors
  let chunks: Promise<Chunk[]> | null = null;
  let pgvector: Promise<boolean> | null = null;
  let inProcess: Promise<Array<{ chunk: Chunk; vector: number[] }>> | null = null;
  const indexed = new Map<string, Promise<void>>();

  const once = <T>(get: () => Promise<T> | null, set: (p: Promise<T> | null) => void, make: () => Promise<T>): Promise<T> => {
    const existing = get();
    if (existing) return existing;
    // a failure is not remembered: the next search tries again
    const p = make().catch((error: unknown) => {
      set(null);
      throw error;
    });
    set(p);
    return p;
  };
  const allChunks = () => once(() => chunks, (p) => { chunks = p; }, loadChunks);
  const hasPgvector = () => once(() => pgvector, (p) => { pgvector = p; }, () => hasKnowledgeTable(db));
  const inProcessIndex = () => once(() => inProcess, (p) => { inProcess = p; }, async () => {
    const all = await allChunks();
    const vectors = await embedder.embed(all.map(embeddedText));
    return all.map((chunk, i) => ({ chunk, vector: vectors[i]! }));
  });

  /** Brings the tenant's stored chunks in line with the documents: new and changed ones embedded, removed ones deleted. */
  const ensureIndexed = (tenantId: string): Promise<void> => {
    const existing = indexed.get(tenantId);
    if (existing) return existing;
    const work = (async () => {
      const all = await allChunks();
      const stored = await listChunkHashes(db, { tenantId, embedder: embedder.id });
      const hashed = all.map((chunk) => ({ chunk, hash: contentHash(chunk) }));
      const changed = hashed.filter(({ chunk, hash }) => stored.get(chunk.id) !== hash);
      const current = new Set(all.map((c) => c.id));
      const stale = [...stored.keys()].filter((id) => !current.has(id));
      if (changed.length === 0 && stale.length === 0) return;
      const vectors = await embedder.embed(changed.map(({ chunk }) => embeddedText(chunk)));
      await db.transaction(async (tx) => {
        for (const [i, { chunk, hash }] of changed.entries()) {
          await upsertChunk(tx, { tenantId, embedder: embedder.id, chunk: { ...chunk, contentHash: hash, embedding: vectors[i]! } });
        }
        await deleteChunks(tx, { tenantId, embedder: embedder.id, ids: stale });
      });
    })();
    indexed.set(tenantId, work);
    work.catch(() => indexed.delete(tenantId));
    return work;
  };

  return {
    async search(tenantId, input) {
      const [query] = await embedder.embed([input.query]);
      const topic = input.topic ?? null;
      const base = { embedder: embedder.id };
      // a query of stop words only has no direction: nothing is near it
      if (!query || query.every((x) => x === 0)) return { ...base, index: (await hasPgvector()) ? 'pgvector' : 'in-process', chunks: [] };
      if (await hasPgvector()) {
        await ensureIndexed(tenantId);
        const hits = await searchChunks(db, { tenantId, embedder: embedder.id, embedding: query, topic, limit: input.limit });
        return { ...base, index: 'pgvector', chunks: hits.map(rounded) };
      }
      const ranked = (await inProcessIndex())
        .filter(({ chunk }) => topic === null || chunk.topic === topic)
        .map(({ chunk, vector }) => ({ id: chunk.id, title: chunk.title, topic: chunk.topic, text: chunk.text, score: cosine(query, vector) }))
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
        .slice(0, input.limit);
      return { ...base, index: 'in-process', chunks: ranked.map(rounded) };
    },
  };
}

/** The title is embedded with the text: a section heading often holds the words a question uses. */
function embeddedText(chunk: Chunk): string {
  return `${chunk.title}\n${chunk.text}`;
}

function contentHash(chunk: Chunk): string {
  return createHash('sha256').update(`${chunk.topic}\n${chunk.title}\n${chunk.text}`).digest('hex');
}

// four decimals are what a person or a model can use; float noise is not
function rounded<T extends { score: number }>(hit: T): T {
  return { ...hit, score: Math.round(hit.score * 10_000) / 10_000 };
}
