/**
 * The StateStore on a PostgreSQL server through node-postgres: the same
 * `SqlClient` seam, the same numbered migrations as the embedded PGlite store.
 */
import pg from 'pg';
import type { SqlClient, SqlExecutor } from '../sql-client.ts';

/**
 * Opens a connection pool to `url` (`postgres://user:password@host:5432/db`) and
 * checks it with one round trip.
 */
export async function openPostgres(url: string, options: { maxConnections?: number } = {}): Promise<SqlClient> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
  // an idle client that loses its server must not crash the process; the next query reconnects
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end();
    throw err;
  }
  return {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await pool.query(sql, [...params]);
      return { rows: result.rows as T[] };
    },
    async exec(sql: string) {
      // no parameters: the simple query protocol runs several statements
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: SqlExecutor & Pick<SqlClient, 'exec'>) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const value = await fn({
          async query<R>(sql: string, params: readonly unknown[] = []) {
            const result = await client.query(sql, [...params]);
            return { rows: result.rows as R[] };
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
          broken = rollbackErr;
        });
        throw err;
      } finally {
        // a connection whose rollback failed is in an unknown state: destroy it, never reuse it
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
