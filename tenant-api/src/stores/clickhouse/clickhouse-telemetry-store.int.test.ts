import { requireOrSkip } from '@higgs/evals/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseMissing, startClickhouse, type RunningServer } from '../../testing/servers.ts';
import type { SqlClient } from '../sql-client.ts';
import { describeTelemetryStoreContract } from '../telemetry-store.contract.ts';
import { migrateClickhouse, openClickhouseTelemetry } from './clickhouse-telemetry-store.ts';
import { openClickhouse, type Clickhouse } from './query.ts';

const available = requireOrSkip('SERVICES', clickhouseMissing());

/**
 * The state transaction ClickHouse staging runs beside: it must never use it
 * (telemetry goes to ClickHouse, at commit), so any statement fails the test.
 */
const stateMustNotBeTouched: SqlClient = {
  query: () => Promise.reject(new Error('ClickHouse telemetry touched the state store')),
  exec: () => Promise.reject(new Error('ClickHouse telemetry touched the state store')),
  transaction: (fn) => fn(stateMustNotBeTouched),
  close: async () => undefined,
};

describe.runIf(available)('ClickHouse', () => {
  describeTelemetryStoreContract('ClickHouse', async () => {
    const server: RunningServer = await startClickhouse();
    console.info(`clickhouse-server ${server.version} at ${server.url}`);
    try {
      const store = await openClickhouseTelemetry(server.url);
      return {
        store, db: stateMustNotBeTouched,
        async close() {
          await store.close();
          await server.stop();
        },
      };
    } catch (err) {
      await server.stop();
      throw err;
    }
  });

  // one server for the tests that talk to it directly (the migration test rebuilds its tables; the escaper uses none)
  let server: RunningServer;
  let ch: Clickhouse;
  beforeAll(async () => {
    server = await startClickhouse();
    ch = openClickhouse(server.url);
  }, 60_000);
  afterAll(async () => {
    await ch?.close();
    await server?.stop();
  });

  describe('migration 0005: tool_calls re-ordered by session on an existing install', () => {

    const text = async (sql: string) => (await ch.query<{ t: string }>({ tag: 'migration-test', sql: `SELECT toString((${sql})) AS t` }))[0]?.t;
    const createTable = async () => (await ch.query<{ statement: string }>({ tag: 'migration-test', sql: 'SHOW CREATE TABLE tool_calls' }))[0]!.statement;
    const ids = async (table: string) => (await ch.query<{ id: string }>({ tag: 'migration-test', sql: `SELECT id FROM ${table} ORDER BY id` }))
      .map((r) => r.id);
    /** The migrations table as an install from before 0005 left it. */
    const forget0005 = async () => {
      await ch.command({ tag: 'migration-test', sql: 'DROP TABLE higgs_schema_migrations' });
      await ch.command({ tag: 'migration-test', sql: 'CREATE TABLE higgs_schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = TinyLog' });
      await ch.insert({ tag: 'migration-test', table: 'higgs_schema_migrations', rows: [1, 2, 4].map((version) => ({ version, name: `${version}`, applied_at: 0 })) });
    };
    const row = (id: string, sessionId: string, day: number) => ({
      tenant_id: 'tm', ts: Date.UTC(2026, 10, day) / 1000, ts_ms: Date.UTC(2026, 10, day), id, scanner_id: 'n', host: 'mcp', method: 'tools/call',
      tool_name: null, namespace: null, app: null, session_id: sessionId, verdict: 'allow', body: '{}',
    });

    it('copies every row into the session-ordered table once, also when re-run after an interruption', async () => {
      await migrateClickhouse(ch);
      // tool_calls as 0001 created it, holding rows over two days
      await ch.command({ tag: 'migration-test', sql: 'DROP TABLE tool_calls' });
      await ch.command({
        tag: 'migration-test',
        sql: `CREATE TABLE tool_calls (tenant_id String, ts DateTime, ts_ms Int64, id String, scanner_id String, host String, method String,
                tool_name Nullable(String), namespace Nullable(String), app Nullable(String), session_id String, verdict String, body String)
              ENGINE = MergeTree() PARTITION BY toYYYYMMDD(ts) ORDER BY (tenant_id, ts_ms, id)`,
      });
      const old = [row('t1', 's-b', 19), row('t2', 's-a', 20), row('t3', 's-a', 19)];
      await ch.insert({ tag: 'migration-test', table: 'tool_calls', rows: old });
      await forget0005();
      expect(await migrateClickhouse(ch)).toEqual([5]);
      expect(await createTable()).toContain('ORDER BY (tenant_id, session_id, ts_ms, id)');
      expect(await ids('tool_calls')).toEqual(['t1', 't2', 't3']);
      expect(await text(`SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE 'tool_calls_%'`)).toBe('0');

      // interrupted after the swap: the old table still exists and received a row the new one lacks
      await ch.command({ tag: 'migration-test', sql: 'CREATE TABLE tool_calls_by_time AS tool_calls' });
      await ch.insert({ tag: 'migration-test', table: 'tool_calls_by_time', rows: [...old, row('t4', 's-c', 20)] });
      await forget0005();
      expect(await migrateClickhouse(ch)).toEqual([5]);
      expect(await ids('tool_calls')).toEqual(['t1', 't2', 't3', 't4']);
      expect(await text(`SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE 'tool_calls_%'`)).toBe('0');
      expect(await migrateClickhouse(ch)).toEqual([]);
    });
  });

  describe('the literal escaper against the real server', () => {

    const roundTrip = async (s: string) => (await ch.query<{ s: string }>({ tag: 'escape-test', sql: 'SELECT {s} AS s', params: { s } }))[0]?.s;

    it('round-trips arbitrary strings: NUL, quotes, backslashes, control characters, any unicode', async () => {
      const tricky = fc.constantFrom('\0', "'", '\\', '\\\'', "''", '\n', '\r', '\t', '\b', '\f', '\x1b', '\x7f', '{s}', '?', '$1', '--', '/*', '😀', '\u2028');
      const text = fc.array(fc.oneof(fc.string({ unit: 'binary' }), tricky), { maxLength: 8 }).map((parts) => parts.join(''));
      await fc.assert(fc.asyncProperty(text, async (s) => {
        const wellFormed = s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
        expect(await roundTrip(s)).toBe(wellFormed);
      }), { numRuns: 300 });
    });

    it('round-trips numbers, NULL and arrays of strings', async () => {
      const rows = await ch.query<{ n: number; f: number; z: null; a: string[] }>({
        tag: 'escape-test', sql: 'SELECT {n} AS n, {f} AS f, {z} AS z, {a} AS a',
        params: { n: -42, f: 0.125, z: null, a: ["it's", 'back\\slash', '\0'] },
      });
      expect(rows).toEqual([{ n: -42, f: 0.125, z: null, a: ["it's", 'back\\slash', '\0'] }]);
    });
  });
});
