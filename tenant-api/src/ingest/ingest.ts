import type { IngestBatch, IngestResult } from '@higgs/schema';
import { recordCallFindings } from '../findings/findings-engine.ts';
import { recordCallAssets } from '../registry/asset-registry.ts';
import { insertDecision, insertLlmCall, insertToolCall } from '../stores/calls-repository.ts';
import { observeSession } from '../stores/sessions-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { getBaseline } from '../stores/tenants-repository.ts';

/**
 * Stores a validated batch in one transaction: every event or none. An event id
 * already stored is counted as a duplicate and changes nothing, so a scanner may
 * re-send a batch after a timeout. Each new LLM call updates the asset registry,
 * its session and its findings in the same transaction, so no event is stored
 * without its effects (or the other way round).
 */
export async function ingestBatch(db: SqlClient, p: { tenantId: string; batch: IngestBatch }): Promise<IngestResult> {
  const { tenantId } = p;
  const batch = withoutNul(p.batch);
  return db.transaction(async (tx) => {
    const baseline = await getBaseline(tx, { tenantId });
    let accepted = 0;
    let duplicates = 0;
    for (const item of batch.events) {
      let stored: boolean;
      if (item.kind === 'llm_call') {
        const call = item.event;
        stored = await insertLlmCall(tx, { tenantId, call });
        if (stored) {
          const assets = await recordCallAssets(tx, { tenantId, call, baseline });
          await observeSession(tx, {
            tenantId, id: call.attribution.sessionId, traceId: call.attribution.traceId, userId: call.attribution.userId,
            namespace: call.source.namespace, app: call.source.app, at: call.ts,
          });
          await recordCallFindings(tx, { tenantId, call, assets });
        }
      } else if (item.kind === 'tool_call') {
        stored = await insertToolCall(tx, { tenantId, call: item.event });
      } else {
        stored = await insertDecision(tx, { tenantId, decision: item.event });
      }
      if (stored) accepted += 1;
      else duplicates += 1;
    }
    return { accepted, duplicates };
  });
}

/**
 * Postgres text and jsonb cannot hold U+0000, and observed prompts are written by
 * whoever talks to the workload: one NUL must not make the whole batch fail. It
 * is stored as U+FFFD, the replacement character, like any undecodable byte.
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value) as T;
  if (Array.isArray(value)) return value.map((v) => withoutNul(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}
