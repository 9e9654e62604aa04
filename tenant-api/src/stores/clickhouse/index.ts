export { bindParams, literal } from './escape.ts';
export type { ClickhouseValue } from './escape.ts';
export { openClickhouse } from './query.ts';
export type { Clickhouse } from './query.ts';
export { createClickhouseTelemetryStore, migrateClickhouse, openClickhouseTelemetry } from './clickhouse-telemetry-store.ts';
