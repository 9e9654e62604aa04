-- requires-extension: vector
-- pgvector, for knowledge embeddings. PGlite always has it; on a Postgres
-- server without the extension installed this migration is skipped and the
-- reason recorded in schema_migrations (it is retried on every start).
CREATE EXTENSION IF NOT EXISTS vector;
