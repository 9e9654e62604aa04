import { requireOrSkip } from '@higgs/evals/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseMissing, startClickhouse, type RunningServer } from '../../testing/servers.ts';
import type { SqlClient } from '../sql-client.ts';
import { describeTelemetryStoreContract } from '../telemetry-store.contract.ts';
import { openClickhouseTelemetry } from './clickhouse-telemetry-store.ts';
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

  describe('the literal escaper against the real server', () => {
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
