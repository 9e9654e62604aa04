/**
 * The one execution seam to ClickHouse (Langfuse's `queryClickhouse`): binds
 * values through the literal escaper, tags every query with a `query_id` naming
 * its purpose (visible in `system.query_log` / `system.processes`), retries what
 * is retryable and wraps failures in `TenantError` STORE_FAILED.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { TenantError } from '../../errors.ts';
import { bindParams, type ClickhouseValue } from './escape.ts';

export interface Clickhouse {
  /** Rows of a SELECT, one object per row (64-bit integers arrive as strings). */
  query<T>(p: { tag: string; sql: string; params?: Readonly<Record<string, ClickhouseValue>> }): Promise<T[]>;
  /** A statement without a result (DDL, ALTER). */
  command(p: { tag: string; sql: string; params?: Readonly<Record<string, ClickhouseValue>> }): Promise<void>;
  /** One batched JSONEachRow insert; values travel as JSON, never as SQL text. */
  insert(p: { tag: string; table: string; rows: readonly Record<string, unknown>[] }): Promise<void>;
  close(): Promise<void>;
}

const ATTEMPTS = 3;
const BACKOFF_MS = [50, 250];
/** Socket failures where the server may be restarting or a keep-alive socket went stale. */
const RETRYABLE_SOCKET = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET']);
/** ClickHouse server codes worth another try: too many queries / parts, timeouts, network. */
const RETRYABLE_SERVER = new Set(['159', '202', '209', '210', '252']);

function isRetryable(err: unknown, idempotent: boolean): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  // An insert that may have reached the server is not retried: MergeTree would store it twice. A refused
  // connection or a write into a socket the server had already closed (EPIPE: a stale keep-alive
  // socket, seen under load) cannot have delivered a whole body, and a partial JSONEachRow body is refused.
  if (!idempotent) return code === 'ECONNREFUSED' || code === 'EPIPE';
  return RETRYABLE_SOCKET.has(code) || RETRYABLE_SERVER.has(code) || /socket hang up/i.test(String(e.message ?? ''));
}

/** Opens a client to `url` (`http://user:password@host:8123/database`); no request is made until the first query. */
export function openClickhouse(url: string, options: { requestTimeoutMs?: number } = {}): Clickhouse {
  const client: ClickHouseClient = createClient({ url, request_timeout: options.requestTimeoutMs ?? 30_000 });

  async function run<T>(tag: string, idempotent: boolean, fn: (queryId: string) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await fn(`higgs:${tag}:${randomUUID()}`);
      } catch (cause) {
        if (attempt < ATTEMPTS && isRetryable(cause, idempotent)) {
          await new Promise((r) => setTimeout(r, BACKOFF_MS[attempt - 1]));
          continue;
        }
        throw new TenantError('STORE_FAILED', `clickhouse ${tag} failed`, { cause });
      }
    }
  }

  return {
    query<T>(p: { tag: string; sql: string; params?: Readonly<Record<string, ClickhouseValue>> }) {
      const sql = bindParams(p.sql, p.params ?? {});
      return run(p.tag, true, async (queryId) => {
        const result = await client.query({ query: sql, format: 'JSONEachRow', query_id: queryId });
        return result.json<T>();
      });
    },
    async command(p) {
      const sql = bindParams(p.sql, p.params ?? {});
      await run(p.tag, true, (queryId) => client.command({ query: sql, query_id: queryId }));
    },
    async insert(p) {
      if (p.rows.length === 0) return;
      await run(p.tag, false, (queryId) => client.insert({ table: p.table, values: [...p.rows], format: 'JSONEachRow', query_id: queryId }));
    },
    close: () => client.close(),
  };
}
