/**
 * The embedded TelemetryStore: the telemetry tables live in the state database
 * (PGlite or Postgres) and events are written in the ingest transaction itself.
 */
import {
  countEnforcementActions, countLlmCalls, insertDecisions, insertLlmCalls, insertToolCalls, listDecisions, listPiiFlows,
  listSessionExchanges, summarizeCalls,
} from './calls-repository.ts';
import { listSessionToolCalls, listUserEvents, summarizeUsage } from './calls-repository.ts';
import { insertFlows, summarizeFlows } from './flows-repository.ts';
import type { SqlClient } from './sql-client.ts';
import { dayStartMs, type TelemetryStore } from './telemetry-store.ts';

const TABLES = ['llm_calls', 'tool_calls', 'decisions', 'network_flows'] as const;

/** Telemetry over `db`; closing it leaves `db` open (its owner closes it). */
export function createSqlTelemetryStore(db: SqlClient): TelemetryStore {
  return {
    kind: 'sql',
    async stage(tx, p) {
      const { tenantId, batch } = p;
      return {
        calls: await insertLlmCalls(tx, { tenantId, calls: batch.calls }),
        toolCalls: await insertToolCalls(tx, { tenantId, calls: batch.toolCalls }),
        decisions: await insertDecisions(tx, { tenantId, decisions: batch.decisions }),
        commit: async () => undefined,
      };
    },
    listSessionExchanges: (p) => listSessionExchanges(db, p),
    countLlmCalls: (p) => countLlmCalls(db, p),
    countEnforcementActions: (p) => countEnforcementActions(db, p),
    summarizeCalls: (p) => summarizeCalls(db, p),
    listPiiFlows: (p) => listPiiFlows(db, p),
    listDecisions: (p) => listDecisions(db, p),
    listSessionToolCalls: (p) => listSessionToolCalls(db, p),
    listUserEvents: (p) => listUserEvents(db, p),
    summarizeUsage: (p) => summarizeUsage(db, p),
    async stageFlows(tx, p) {
      return { ids: await insertFlows(tx, p), commit: async () => undefined };
    },
    summarizeFlows: (p) => summarizeFlows(db, p),
    async dropDaysBefore(p) {
      const before = new Date(dayStartMs(p.day)).toISOString();
      const days = new Set<string>();
      await db.transaction(async (tx) => {
        for (const table of TABLES) {
          // retention is system-wide maintenance: it is the one statement not scoped to a tenant
          const { rows } = await tx.query<{ day: string }>(
            `DELETE FROM ${table} WHERE ts < $1::timestamptz RETURNING to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day`, [before],
          );
          for (const r of rows) days.add(r.day);
        }
      });
      return [...days].sort();
    },
    close: async () => undefined,
  };
}
