-- requires-extension: vector
-- The knowledge base, chunked and embedded per tenant (tenant-api/src/knowledge/).
-- Needs pgvector: PGlite always has it; on a Postgres server without the
-- extension this migration is skipped (recorded in schema_migrations) and
-- search_knowledge ranks the same chunks in process instead, saying so in its
-- `index` field.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE knowledge_chunks (
  tenant_id text NOT NULL,
  -- which embedder made the vector: chunks of two embedders never compare
  embedder text NOT NULL,
  id text NOT NULL,
  document text NOT NULL,
  title text NOT NULL,
  topic text NOT NULL,
  body text NOT NULL,
  -- sha256 of title + body: a changed passage is re-embedded, an unchanged one is not
  content_hash text NOT NULL,
  -- 256 dimensions: the local hashed embedder's size, and what a provider is asked for
  embedding vector(256) NOT NULL,
  PRIMARY KEY (tenant_id, embedder, id)
);

-- cosine distance (<=>) is what search orders by
CREATE INDEX knowledge_chunks_embedding_idx ON knowledge_chunks USING hnsw (embedding vector_cosine_ops);
