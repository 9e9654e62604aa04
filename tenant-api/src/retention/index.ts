/**
 * Telemetry retention: once a day, the telemetry of the UTC days older than the
 * configured number of days is removed (ClickHouse drops whole day partitions;
 * the SQL store deletes by day), and every tenant's audit trail records the run.
 */
import { appendAudit } from '../stores/audit-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import type { TelemetryStore } from '../stores/telemetry-store.ts';
import { listTenantIds } from '../stores/tenants-repository.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** The first run waits a little after start-up so a restart loop does not hammer the stores. */
export const RETENTION_FIRST_RUN_DELAY_MS = 5 * 60 * 1000;
export const RETENTION_INTERVAL_MS = DAY_MS;
/** The actor retention's audit records name: no principal, the system itself. */
export const RETENTION_ACTOR = 'system:retention';

export interface RetentionLogger {
  info(context: Record<string, unknown>, message: string): void;
  error(context: Record<string, unknown>, message: string): void;
}

export interface RetentionOptions {
  db: SqlClient;
  telemetry: TelemetryStore;
  /** keep this many whole UTC days before today; 0 turns retention off */
  days: number;
  now?: () => Date;
  /** schedules `fn` after `ms`; default: an unref'd setTimeout */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  logger?: RetentionLogger;
}

export interface RetentionRun {
  /** telemetry of the days before this one (YYYY-MM-DD) was removed */
  before: string;
  daysDropped: string[];
  /** set when the store failed; the run is still audited */
  error: string | null;
}

export interface RetentionScheduler {
  /** Runs retention now (also what the timer calls); never throws for a store failure. */
  runOnce(): Promise<RetentionRun>;
  /** Stops the timer and waits for a run in progress. */
  close(): Promise<void>;
}

function defaultTimer(fn: () => void, ms: number): { cancel(): void } {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
}

/** The first UTC day that is kept: today minus `days`. */
export function retentionCutoffDay(now: Date, days: number): string {
  return new Date(now.getTime() - days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Starts the daily retention run (first after `RETENTION_FIRST_RUN_DELAY_MS`).
 *
 * @example
 * const retention = startRetention({ db, telemetry, days: config.retentionDays, logger: app.log });
 * // … on shutdown
 * await retention.close();
 */
export function startRetention(options: RetentionOptions): RetentionScheduler {
  const { db, telemetry, days } = options;
  const now = options.now ?? (() => new Date());
  const setTimer = options.setTimer ?? defaultTimer;
  let timer: { cancel(): void } | null = null;
  let running: Promise<RetentionRun> | null = null;
  let closed = false;

  async function run(): Promise<RetentionRun> {
    const at = now();
    const before = retentionCutoffDay(at, days);
    let daysDropped: string[] = [];
    let error: string | null = null;
    try {
      daysDropped = await telemetry.dropDaysBefore({ day: before });
    } catch (err) {
      error = (err as { code?: unknown }).code === undefined ? 'STORE_FAILED' : String((err as { code: unknown }).code);
      options.logger?.error({ err, before }, 'telemetry retention failed');
    }
    const details = { retentionDays: days, before, daysDropped, store: telemetry.kind, ...(error ? { error } : {}) };
    for (const tenantId of await listTenantIds(db)) {
      await db.transaction((tx) => appendAudit(tx, {
        tenantId, at: at.toISOString(),
        entry: { actor: RETENTION_ACTOR, action: error ? 'telemetry_retention_failed' : 'telemetry_retention', target: 'telemetry', details },
      }));
    }
    options.logger?.info({ before, daysDropped: daysDropped.length }, 'telemetry retention ran');
    return { before, daysDropped, error };
  }

  function runOnce(): Promise<RetentionRun> {
    // one run at a time: a manual run and the timer never overlap
    running ??= run().finally(() => { running = null; });
    return running;
  }

  function schedule(ms: number): void {
    if (closed || days <= 0) return;
    timer = setTimer(() => {
      runOnce()
        .catch((err: unknown) => options.logger?.error({ err }, 'telemetry retention could not be recorded'))
        .finally(() => schedule(RETENTION_INTERVAL_MS));
    }, ms);
  }
  schedule(RETENTION_FIRST_RUN_DELAY_MS);

  return {
    runOnce,
    async close() {
      closed = true;
      timer?.cancel();
      await running?.catch(() => undefined);
    },
  };
}
