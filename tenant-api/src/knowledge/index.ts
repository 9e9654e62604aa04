/** The knowledge base's parts, for the evals that test them against real endpoints (`@higgs/tenant-api/knowledge`). */
export { createHashedEmbedder, createProviderEmbedder, cosine, EMBEDDING_DIMENSIONS } from './embedder.ts';
export type { Embedder, ProviderEmbedderOptions } from './embedder.ts';
export { createKnowledgeBase, loadKnowledgeChunks } from './knowledge-base.ts';
export type { KnowledgeBase, KnowledgeBaseOptions } from './knowledge-base.ts';
