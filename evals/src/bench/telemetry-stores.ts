/**
 * Runs one measurement on every TelemetryStore this machine can host: PGlite
 * (always, in memory, with the state tables beside it) and a ClickHouse server
 * started for the run when `clickhouse` is installed.
 */
import { createSqlTelemetryStore, migrate, openClickhouseTelemetry, openPglite, type TelemetryStore } from '@higgs/tenant-api';
import { clickhouseMissing, startClickhouse } from '@higgs/tenant-api/testing';
import type { BenchResult } from './types.ts';

/** What a store's `stage` runs in: the PGlite client itself, or a no-op transaction for ClickHouse (no state tables). */
export type StageTx = { transaction<T>(fn: (tx: never) => Promise<T>): Promise<T> };

const noState: StageTx = { transaction: <T>(fn: (tx: never) => Promise<T>) => fn(undefined as never) };

export async function onEveryTelemetryStore(
  measure: (label: string, store: TelemetryStore, tx: StageTx, kind: 'pglite' | 'clickhouse') => Promise<BenchResult[]>,
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const db = await openPglite('memory://');
  try {
    await migrate(db);
    results.push(...await measure('PGlite', createSqlTelemetryStore(db), db as never, 'pglite'));
  } finally {
    await db.close();
  }
  if (clickhouseMissing() === null) {
    const server = await startClickhouse();
    try {
      const store = await openClickhouseTelemetry(server.url);
      try {
        results.push(...await measure(`ClickHouse ${server.version}`, store, noState, 'clickhouse'));
      } finally {
        await store.close();
      }
    } finally {
      await server.stop();
    }
  }
  return results;
}
