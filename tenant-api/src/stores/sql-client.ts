import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';

/** What repositories run SQL through: a client or an open transaction. */
export interface SqlExecutor {
  /** One parameterised statement ($1, $2 …); values are never spliced into the text. */
  query<T>(sql: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
}

/**
 * The one seam between the tenant and its state store. PGlite is the embedded
 * default; a node-postgres implementation (issue 5) provides the same four calls.
 */
export interface SqlClient extends SqlExecutor {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor & Pick<SqlClient, 'exec'>) => Promise<T>): Promise<T>;
  /** Multi-statement SQL without parameters: migrations only. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the embedded PGlite store with the `vector` extension loaded.
 * `dataDir` is a directory path, or `memory://` for a throw-away database.
 */
export async function openPglite(dataDir: string): Promise<SqlClient> {
  const db = await PGlite.create(dataDir, { extensions: { vector } });
  return {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await db.query<T>(sql, [...params]);
      return { rows: result.rows };
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    transaction<T>(fn: (tx: SqlExecutor & Pick<SqlClient, 'exec'>) => Promise<T>) {
      return db.transaction(async (tx) => fn({
        async query<R>(sql: string, params: readonly unknown[] = []) {
          const result = await tx.query<R>(sql, [...params]);
          return { rows: result.rows };
        },
        async exec(sql: string) {
          await tx.exec(sql);
        },
      }));
    },
    async close() {
      await db.close();
    },
  };
}
