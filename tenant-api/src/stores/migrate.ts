import { readdir, readFile } from 'node:fs/promises';
import { TenantError } from '../errors.ts';
import type { SqlClient } from './sql-client.ts';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;
/** A migration that needs a server extension names it on a line `-- requires-extension: <name>`. */
const REQUIRES_EXTENSION = /^--\s*requires-extension:\s*([a-z0-9_]+)\s*$/m;

export interface SkippedMigration {
  version: number;
  name: string;
  reason: string;
}

/**
 * Applies the numbered SQL files in `migrations/` that are not yet recorded,
 * in order, each in its own transaction. Returns the versions it applied.
 *
 * A file that requires an extension the server does not offer (pgvector on a
 * plain Postgres) is not applied: it is recorded with the reason in
 * `schema_migrations.skipped_reason` (see `listSkippedMigrations`) and tried
 * again on the next run.
 */
export async function migrate(db: SqlClient): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );
  ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS skipped_reason text`);
  const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations WHERE skipped_reason IS NULL');
  const applied = new Set(rows.map((r) => r.version));
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => FILE_NAME.test(f)).sort();
  const done: number[] = [];
  for (const file of files) {
    const version = Number(FILE_NAME.exec(file)?.[1]);
    if (applied.has(version)) continue;
    const sql = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
    const extension = REQUIRES_EXTENSION.exec(sql)?.[1];
    const missing = extension === undefined ? null : await missingExtension(db, extension);
    try {
      await db.transaction(async (tx) => {
        if (missing === null) await tx.exec(sql);
        await tx.query(
          `INSERT INTO schema_migrations (version, name, skipped_reason) VALUES ($1, $2, $3)
           ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, applied_at = now(), skipped_reason = EXCLUDED.skipped_reason`,
          [version, file, missing],
        );
      });
    } catch (cause) {
      throw new TenantError('MIGRATION_FAILED', `migration ${file} failed`, { cause });
    }
    if (missing === null) done.push(version);
  }
  return done;
}

async function missingExtension(db: SqlClient, name: string): Promise<string | null> {
  const { rows } = await db.query<{ name: string }>('SELECT name FROM pg_available_extensions WHERE name = $1', [name]);
  return rows.length > 0 ? null : `the server does not offer the ${name} extension (install it, e.g. postgresql-15-pgvector, and restart the tenant)`;
}

/** Migrations left unapplied for a missing server feature, with the reason. */
export async function listSkippedMigrations(db: SqlClient): Promise<SkippedMigration[]> {
  const { rows } = await db.query<{ version: number; name: string; skipped_reason: string }>(
    'SELECT version, name, skipped_reason FROM schema_migrations WHERE skipped_reason IS NOT NULL ORDER BY version',
  );
  return rows.map((r) => ({ version: r.version, name: r.name, reason: r.skipped_reason }));
}
