import type {
  EnforcementDecision, IngestBatch, IngestResult, KernelEnforcement, LlmCall, NetworkFlow, ToolCall,
} from '@higgs/schema';
import { recordCallsFindings, recordToolCallAndFlowEffects } from '../findings/findings-engine.ts';
import { auditKernelEnforcements } from './kernel-enforcements.ts';
import { recordCallsAssets } from '../registry/asset-registry.ts';
import {
  getTraceUsers, observeSessions, recordTraceUsers, type SessionObservation, type TraceUser,
} from '../stores/sessions-repository.ts';
import type { SqlClient, SqlExecutor } from '../stores/sql-client.ts';
import { createSqlTelemetryStore } from '../stores/sql-telemetry-store.ts';
import type { TelemetryStore } from '../stores/telemetry-store.ts';
import { getBaseline } from '../stores/tenants-repository.ts';

/**
 * Stores a validated batch in one transaction: every event or none. An event id
 * already stored is counted as a duplicate and changes nothing, so a scanner may
 * re-send a batch after a timeout. Each new LLM call updates the asset registry,
 * its session and its findings in the same transaction, so no event is stored
 * without its effects (or the other way round).
 *
 * Set-based: one multi-row insert per event kind, then the effects of the new
 * calls tallied per asset, session and finding — a 500-event batch is a handful
 * of statements, not thousands (PGlite costs ~1 ms a statement).
 *
 * The events go to `telemetry` (default: the SQL tables in `db`, written in the
 * same transaction); ClickHouse stores them once the state transaction committed
 * (what it refuses then waits in its outbox: clickhouse/outbox.ts).
 */
export async function ingestBatch(
  db: SqlClient, p: { tenantId: string; batch: IngestBatch; telemetry?: TelemetryStore },
): Promise<IngestResult> {
  const [result] = await storeGroup(db, { tenantId: p.tenantId, batches: [p.batch], telemetry: p.telemetry });
  return result!;
}

/** Events a group commit takes at most: bounds its memory and the state transaction's size. */
export const GROUP_MAX_EVENTS = 50_000;

export interface IngestQueue {
  /**
   * Stores `batch` as ingestBatch does; resolves once it is durable (its group committed).
   * `nulFree`: the caller already replaced U+0000 (withoutNul), the batch is not walked again.
   */
  submit(p: { tenantId: string; batch: IngestBatch; nulFree?: boolean }): Promise<IngestResult>;
}

interface Pending { batch: IngestBatch; resolve(r: IngestResult): void; reject(err: unknown): void }

/**
 * Group commit per tenant. Batches that arrive while the tenant's previous group
 * is being stored wait and are stored together, as one group: one dedup query,
 * one state transaction with every effect tallied over the whole group, one
 * telemetry insert. A batch is answered only when its group committed, so an
 * answer still means "stored with its effects", exactly as ingestBatch.
 *
 * Why: concurrent batches of one tenant touch the same hot rows (its workloads,
 * providers, findings, live sessions). As separate Postgres transactions they
 * queue on those row locks, each holding them for a whole batch; as a group the
 * rows are written once. Groups of one tenant run one after another, so a batch
 * re-sent while its first copy is still being stored is deduplicated against the
 * stored copy — the same guarantee for concurrent re-sends as PGlite's single
 * connection gives. (Within this process: several tenant-api processes sharing a
 * store do not coordinate their groups, as before.)
 *
 * Groups grow with the load: the first batch runs alone, the ones that came in
 * meanwhile form the next group, up to `maxGroupEvents` events.
 */
export function createIngestQueue(
  db: SqlClient,
  options: {
    telemetry?: TelemetryStore | undefined;
    maxGroupEvents?: number;
    /** a group whose state transaction failed, before its batches are retried one by one */
    onGroupFailed?: (err: unknown, batches: number) => void;
  } = {},
): IngestQueue {
  const maxGroupEvents = options.maxGroupEvents ?? GROUP_MAX_EVENTS;
  const queues = new Map<string, Pending[]>();

  async function drain(tenantId: string, pending: Pending[]): Promise<void> {
    while (pending.length > 0) {
      const group: Pending[] = [pending.shift()!];
      let events = group[0]!.batch.events.length;
      while (pending.length > 0 && events + pending[0]!.batch.events.length <= maxGroupEvents) {
        events += pending[0]!.batch.events.length;
        group.push(pending.shift()!);
      }
      await storeGroupSettled(db, { tenantId, group, telemetry: options.telemetry, onGroupFailed: options.onGroupFailed });
    }
    queues.delete(tenantId);
  }

  return {
    submit({ tenantId, batch: given, nulFree }) {
      const batch = nulFree ? given : withoutNul(given);
      return new Promise<IngestResult>((resolve, reject) => {
        const pending = queues.get(tenantId);
        if (pending) {
          pending.push({ batch, resolve, reject });
          return;
        }
        const fresh: Pending[] = [{ batch, resolve, reject }];
        queues.set(tenantId, fresh);
        // drain settles every batch it takes; it cannot reject
        void drain(tenantId, fresh);
      });
    },
  };
}

/**
 * Stores a group and answers each of its batches. When the state transaction
 * fails (nothing of the group was written) and the group holds several batches,
 * each is retried on its own, so one batch the store refuses fails alone.
 */
async function storeGroupSettled(
  db: SqlClient,
  p: { tenantId: string; group: readonly Pending[]; telemetry: TelemetryStore | undefined; onGroupFailed?: ((err: unknown, batches: number) => void) | undefined },
): Promise<void> {
  const progress = { committed: false };
  try {
    const results = await storeGroup(db, { tenantId: p.tenantId, batches: p.group.map((g) => g.batch), telemetry: p.telemetry, nulFree: true }, progress);
    p.group.forEach((g, i) => g.resolve(results[i]!));
  } catch (err) {
    if (progress.committed || p.group.length === 1) {
      for (const g of p.group) g.reject(err);
      return;
    }
    p.onGroupFailed?.(err, p.group.length);
    for (const g of p.group) {
      try {
        const [result] = await storeGroup(db, { tenantId: p.tenantId, batches: [g.batch], telemetry: p.telemetry, nulFree: true });
        g.resolve(result!);
      } catch (one) {
        g.reject(one);
      }
    }
  }
}

/** The events of a group, per kind, in arrival order. */
interface Split {
  calls: LlmCall[];
  toolCalls: ToolCall[];
  decisions: EnforcementDecision[];
  flows: NetworkFlow[];
}

/**
 * Stores batches as one: one transaction, effects tallied over all of them. The
 * first occurrence of an id (in batch order) is stored and counted as accepted
 * for its batch; every later one is a duplicate of its own batch.
 */
async function storeGroup(
  db: SqlClient, p: { tenantId: string; batches: readonly IngestBatch[]; telemetry?: TelemetryStore | undefined; nulFree?: boolean },
  progress: { committed: boolean } = { committed: false },
): Promise<IngestResult[]> {
  const { tenantId } = p;
  const batches = p.nulFree ? p.batches : p.batches.map((b) => withoutNul(b));
  const all: Split = { calls: [], toolCalls: [], decisions: [], flows: [] };
  const enforcements: KernelEnforcement[][] = [];
  for (const batch of batches) {
    const kernel: KernelEnforcement[] = [];
    for (const item of batch.events) {
      switch (item.kind) {
        case 'llm_call': all.calls.push(item.event); break;
        case 'tool_call': all.toolCalls.push(item.event); break;
        case 'decision': all.decisions.push(item.event); break;
        case 'flow': all.flows.push(item.event); break;
        case 'kernel_enforcement': kernel.push(item.event); break;
      }
    }
    enforcements.push(kernel);
  }
  const telemetry = p.telemetry ?? createSqlTelemetryStore(db);
  const { results, staged, stagedFlows } = await db.transaction(async (tx) => {
    const traced = await attributeByTrace(tx, { tenantId, calls: all.calls, toolCalls: all.toolCalls });
    const staged = await telemetry.stage(tx, { tenantId, batch: { calls: traced.calls, toolCalls: traced.toolCalls, decisions: all.decisions } });
    const { calls: storedCalls, toolCalls: storedTools, decisions: storedDecisions } = staged;
    const stagedFlows = await telemetry.stageFlows(tx, { tenantId, flows: all.flows });
    // a repeated id inside the group is stored once: the first occurrence carries the effects
    const fresh = firstOfEach(traced.calls, storedCalls);
    const freshTools = firstOfEach(traced.toolCalls, storedTools);
    if (fresh.length > 0) {
      const baseline = await getBaseline(tx, { tenantId });
      const assets = await recordCallsAssets(tx, { tenantId, calls: fresh, baseline });
      await recordCallsFindings(tx, { tenantId, calls: fresh.map((call, i) => ({ call, assets: assets[i]! })) });
    }
    if (fresh.length > 0 || freshTools.length > 0) await observeSessions(tx, { tenantId, sessions: tallySessions(fresh, freshTools) });
    await recordToolCallAndFlowEffects(tx, { tenantId, toolCalls: all.toolCalls, storedToolCalls: storedTools, flows: all.flows, storedFlows: stagedFlows.ids });
    const enforced: number[] = [];
    for (const [i, batch] of batches.entries()) {
      enforced.push(await auditKernelEnforcements(tx, { tenantId, scannerId: batch.scannerId, events: enforcements[i]! }));
    }
    // each stored id is accepted once, by the first batch that holds it
    const claim = claimer([storedCalls, storedTools, storedDecisions, stagedFlows.ids]);
    const results = batches.map((batch, i) => {
      const accepted = enforced[i]! + claim(batch);
      return { accepted, duplicates: batch.events.length - accepted };
    });
    return { results, staged, stagedFlows };
  });
  progress.committed = true;
  await staged.commit();
  await stagedFlows.commit();
  return results;
}

/** Counts the events of a batch whose id was stored and not yet claimed by an earlier batch of the group. */
function claimer(stored: ReadonlyArray<ReadonlySet<string>>): (batch: IngestBatch) => number {
  const [calls, tools, decisions, flows] = stored.map((ids) => ({ ids, claimed: new Set<string>() }));
  return (batch) => {
    let n = 0;
    for (const item of batch.events) {
      const set = item.kind === 'llm_call' ? calls : item.kind === 'tool_call' ? tools : item.kind === 'decision' ? decisions
        : item.kind === 'flow' ? flows : null;
      if (set && set.ids.has(item.event.id) && !set.claimed.has(item.event.id)) {
        set.claimed.add(item.event.id);
        n += 1;
      }
    }
    return n;
  };
}

function firstOfEach<T extends { id: string }>(calls: readonly T[], stored: ReadonlySet<string>): T[] {
  const seen = new Set<string>();
  return calls.filter((c) => {
    if (!stored.has(c.id) || seen.has(c.id)) return false;
    seen.add(c.id);
    return true;
  });
}

/**
 * Cross-hop attribution on the tenant side. The first event of a W3C trace that
 * carries a user (its own header, JWT, baggage or provider field, or a user the
 * scanner already stitched) names the trace's user in `trace_users`; every event
 * of the same trace without a user of its own — from any scanner, in this batch
 * or a later one — is attributed to that user with userSource 'trace' before it
 * is stored. An event that arrives before any user-bearing hop of its trace keeps
 * a null user; its session (t-<traceId>) still gets the user when the hop arrives.
 */
async function attributeByTrace(
  tx: SqlExecutor, p: { tenantId: string; calls: LlmCall[]; toolCalls: ToolCall[] },
): Promise<{ calls: LlmCall[]; toolCalls: ToolCall[] }> {
  const events = [...p.calls, ...p.toolCalls];
  const known = new Map<string, TraceUser>();
  for (const e of events) {
    const { traceId, userId, userSource } = e.attribution;
    if (traceId === null || userId === null || userSource === null) continue;
    const seen = known.get(traceId);
    if (!seen || Date.parse(e.ts) < Date.parse(seen.firstSeen)) known.set(traceId, { traceId, userId, userSource, firstSeen: e.ts });
  }
  if (known.size > 0) await recordTraceUsers(tx, { tenantId: p.tenantId, traces: [...known.values()] });
  const wanting = events.filter((e) => e.attribution.traceId !== null && e.attribution.userId === null).map((e) => e.attribution.traceId!);
  if (wanting.length === 0) return p;
  const users = await getTraceUsers(tx, { tenantId: p.tenantId, traceIds: wanting });
  const attribute = <T extends LlmCall | ToolCall>(e: T): T => {
    const user = e.attribution.userId === null && e.attribution.traceId !== null ? users.get(e.attribution.traceId) : undefined;
    return user ? { ...e, attribution: { ...e.attribution, userId: user.userId, userSource: 'trace' } } : e;
  };
  return { calls: p.calls.map(attribute), toolCalls: p.toolCalls.map(attribute) };
}

/** One observation per session, as counting its calls one by one in batch order would leave it. */
function tallySessions(calls: readonly LlmCall[], toolCalls: readonly ToolCall[] = []): SessionObservation[] {
  const byId = new Map<string, SessionObservation & { firstMs: number; lastMs: number }>();
  const tally = (c: LlmCall | ToolCall, llm: boolean) => {
    const a = c.attribution;
    const ms = Date.parse(c.ts);
    const s = byId.get(a.sessionId);
    if (!s) {
      byId.set(a.sessionId, {
        id: a.sessionId, traceId: a.traceId, userId: a.userId, userSource: a.userId === null ? null : a.userSource,
        namespace: c.source.namespace, app: c.source.app,
        firstAt: c.ts, lastAt: c.ts, count: llm ? 1 : 0, toolCount: llm ? 0 : 1, firstMs: ms, lastMs: ms,
      });
      return;
    }
    s.traceId ??= a.traceId;
    if (s.userId === null && a.userId !== null) [s.userId, s.userSource] = [a.userId, a.userSource];
    s.namespace ??= c.source.namespace;
    s.app ??= c.source.app;
    if (llm) s.count += 1;
    else s.toolCount += 1;
    if (ms < s.firstMs) [s.firstMs, s.firstAt] = [ms, c.ts];
    if (ms > s.lastMs) [s.lastMs, s.lastAt] = [ms, c.ts];
  };
  for (const c of calls) tally(c, true);
  for (const t of toolCalls) tally(t, false);
  return [...byId.values()].map(({ firstMs: _f, lastMs: _l, ...s }) => s);
}

/**
 * Postgres text and jsonb cannot hold U+0000, and observed prompts are written by
 * whoever talks to the workload: one NUL must not make the whole batch fail. It
 * is stored as U+FFFD, the replacement character, like any undecodable byte.
 */
export function withoutNul<T>(value: T): T {
  // almost no batch holds a NUL: look first, copy only when there is one (the copy was ~10 % of ingest CPU)
  return hasNul(value) ? replaceNul(value) : value;
}

function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(hasNul);
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || hasNul(v)) return true;
  }
  return false;
}

function replaceNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value) as T;
  if (Array.isArray(value)) return value.map((v) => replaceNul(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [replaceNul(k), replaceNul(v)])) as T;
  }
  return value;
}
