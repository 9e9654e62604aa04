import { readdir, readFile } from 'node:fs/promises';
import { TenantError } from '../errors.ts';
import type { SqlClient } from './sql-client.ts';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

/**
 * Applies the numbered SQL files in `migrations/` that are not yet recorded,
 * in order, each in its own transaction. Returns the versions it applied.
 */
export async function migrate(db: SqlClient): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  const applied = new Set(rows.map((r) => r.version));
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => FILE_NAME.test(f)).sort();
  const done: number[] = [];
  for (const file of files) {
    const version = Number(FILE_NAME.exec(file)?.[1]);
    if (applied.has(version)) continue;
    const sql = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
    try {
      await db.transaction(async (tx) => {
        await tx.exec(sql);
        await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
      });
    } catch (cause) {
      throw new TenantError('MIGRATION_FAILED', `migration ${file} failed`, { cause });
    }
    done.push(version);
  }
  return done;
}
