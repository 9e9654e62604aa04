/**
 * Tool contracts of the knowledge area, spread into `ToolContracts` (tools.schema.ts):
 * `search_knowledge`, retrieval over the knowledge base the team writes
 * (remediation per detection type, what compliance frameworks ask for, how each
 * enforcement primitive behaves), embedded and searched in pgvector.
 */
import { z } from 'zod';

export const KnowledgeTopic = z.enum(['remediation', 'compliance', 'enforcement']);
export type KnowledgeTopic = z.infer<typeof KnowledgeTopic>;

export const SearchKnowledgeInput = z.object({
  query: z.string().min(1).max(2000),
  /** narrow to one part of the knowledge base */
  topic: KnowledgeTopic.optional(),
  limit: z.number().int().min(1).max(20).default(4),
});

/** One retrieved passage; cite it by `id` and `title`. */
export const KnowledgeChunk = z.object({
  /** stable: `<document>#<ordinal>`, e.g. `remediation-pii#2` */
  id: z.string(),
  /** the document's title, then the section heading the passage sits under */
  title: z.string(),
  topic: KnowledgeTopic,
  text: z.string(),
  /** cosine similarity of the query and the passage, in [-1, 1] */
  score: z.number(),
});
export type KnowledgeChunk = z.infer<typeof KnowledgeChunk>;

export const SearchKnowledgeOutput = z.object({
  chunks: z.array(KnowledgeChunk),
  /** which embedder produced the vectors, e.g. `hashed-ngram-256` or `openai:text-embedding-3-small` */
  embedder: z.string(),
  /**
   * Where the nearest neighbours were computed: `pgvector` in the state store, or
   * `in-process` when the Postgres server lacks the vector extension (exact cosine in the tenant).
   */
  index: z.enum(['pgvector', 'in-process']),
});
export type SearchKnowledgeOutput = z.infer<typeof SearchKnowledgeOutput>;

export const knowledgeToolContracts = {
  search_knowledge: { input: SearchKnowledgeInput, output: SearchKnowledgeOutput },
} as const;
