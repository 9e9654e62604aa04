import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireOrSkip, until } from '@higgs/evals/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseMissing, startClickhouse, type RunningServer } from '../../testing/servers.ts';
import type { SqlClient } from '../sql-client.ts';
import { describeTelemetryStoreContract } from '../telemetry-store.contract.ts';
import { ingestBatch } from '../../ingest/ingest.ts';
import { batchOf, createTestTenant, llmCall, openTestDb } from '../../testing/fixtures.ts';
import { listFindings } from '../findings-repository.ts';
import { createClickhouseTelemetryStore, migrateClickhouse, openClickhouseTelemetry } from './clickhouse-telemetry-store.ts';
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

  describe('the outbox: telemetry ClickHouse refuses after its state committed', () => {
    const silent = { warn: () => undefined, info: () => undefined };
    const stored = async (tenantId: string) => Number((await ch.query<{ n: string }>({
      tag: 'outbox-test', sql: 'SELECT count() AS n FROM llm_calls WHERE tenant_id = {tenantId}', params: { tenantId },
    }))[0]!.n);
    /** The real server, but the next `refusals` llm_calls inserts fail: after the server took the rows (`reached`), or before. */
    /** The shared client, which a store's close() must not close. */
    const borrowed = (): Clickhouse => ({ ...ch, close: async () => undefined });
    const failing = (state: { refusals: number; reached: boolean }): Clickhouse => ({
      ...borrowed(),
      async insert(p) {
        if (p.table !== 'llm_calls' || state.refusals === 0) return ch.insert(p);
        state.refusals -= 1;
        if (state.reached) await ch.insert(p);
        throw new Error(state.reached ? 'injected: the answer to the insert was lost' : 'injected: the insert was refused');
      },
    });
    const emailCall = () => llmCall({ detections: [{ type: 'email', field: 'prompt', hash: 'aaaa1111' }] as ReturnType<typeof llmCall>['detections'] });
    const findingCount = async (db: SqlClient, tenantId: string) =>
      (await listFindings(db, { tenantId, filter: {}, limit: 50 })).findings.reduce((n, f) => n + f.count, 0);

    it('answers the batch, counts a re-send as duplicates without doubling its effects, and delivers each event once, also after a restart', async () => {
      await migrateClickhouse(ch);
      const db = await openTestDb();
      const dir = await mkdtemp(join(tmpdir(), 'higgs-outbox-'));
      try {
        const { tenantId } = await createTestTenant(db);
        // refused before reaching the server; the scanner re-sends (its answer was lost too)
        const refused = { refusals: 1, reached: false };
        const first = await createClickhouseTelemetryStore(failing(refused), { outboxDir: dir, log: silent, outboxRetryMs: 60_000 });
        const batch = batchOf(emailCall(), emailCall());
        expect(await ingestBatch(db, { tenantId, batch, telemetry: first })).toEqual({ accepted: 2, duplicates: 0 });
        // occurrences a call adds to its findings (PII, shadow AI, compliance…)
        const perCall = (await findingCount(db, tenantId)) / 2;
        expect(perCall).toBeGreaterThan(0);
        expect(await ingestBatch(db, { tenantId, batch, telemetry: first })).toEqual({ accepted: 0, duplicates: 2 });
        expect(await stored(tenantId)).toBe(0);
        expect(await findingCount(db, tenantId)).toBe(2 * perCall);
        expect(await readdir(dir)).toHaveLength(1);
        expect(first.heldEvents?.()).toBe(2);
        await first.close();

        // a restarted tenant finds the held events on disk and delivers them
        const second = await createClickhouseTelemetryStore(borrowed(), { outboxDir: dir, log: silent, outboxRetryMs: 10 });
        try {
          await until('held events delivered', async () => ((await readdir(dir)).length === 0 ? true : undefined), 10_000, 20);
          expect(await stored(tenantId)).toBe(2);
          expect(second.heldEvents?.()).toBe(0);
          expect(await ingestBatch(db, { tenantId, batch, telemetry: second })).toEqual({ accepted: 0, duplicates: 2 });
          expect(await findingCount(db, tenantId)).toBe(2 * perCall);

          // an insert whose answer was lost after the server took it: delivery finds the rows stored and inserts none again
          const lost = { refusals: 1, reached: true };
          const third = await createClickhouseTelemetryStore(failing(lost), { outboxDir: dir, log: silent, outboxRetryMs: 10 });
          expect(await ingestBatch(db, { tenantId, batch: batchOf(emailCall()), telemetry: third })).toEqual({ accepted: 1, duplicates: 0 });
          await until('the ambiguous insert settled', async () => ((await readdir(dir)).length === 0 ? true : undefined), 10_000, 20);
          expect(await stored(tenantId)).toBe(3);
          expect(await findingCount(db, tenantId)).toBe(3 * perCall);
          await third.close();
        } finally {
          await second.close();
        }
      } finally {
        await db.close();
        await rm(dir, { recursive: true, force: true });
      }
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
