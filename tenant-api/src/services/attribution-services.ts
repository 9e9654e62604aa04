/**
 * The attribution area: sessions stitched across hops, session replay, a user's
 * timeline, PII flows (Data Tracks) and LLM cost. Every read is scoped by the
 * caller's tenant; none changes anything.
 */
import type { Finding, LlmCall, ToolArgs, ToolCall, ToolOutput, TrackEvent } from '@higgs/schema';
import { ToolError, type AttributionServices } from '@higgs/tools';
import { createPricer, type CostSettings, type TokenTotals } from '../cost/index.ts';
import { listFindings } from '../stores/findings-repository.ts';
import { decodeCursor, encodeCursor } from '../stores/rows.ts';
import { getSession, listSessions, listUserSessionIds } from '../stores/sessions-repository.ts';
import { compareTrackKeys, TRACK_RANK, type TrackKey, type UserEvent, userEventKey } from '../stores/telemetry-store.ts';
import type { ServiceKit } from './service-kit.ts';

type CostRow = ToolOutput<'cost_report'>['rows'][number];

const DAY_MS = 86_400_000;
/** A user's sessions a timeline reads the events of: the most recently active ones. */
const USER_SESSIONS_LIMIT = 1000;
/** The findings naming a user a timeline merges in (most severe first). */
const USER_FINDINGS_LIMIT = 200;
const DATA_TRACKS_DEFAULT_DAYS = 7;
const COST_DEFAULT_DAYS = 30;

/** The tenant's attribution services; `cost` is the tenant's price overrides and team mapping (HIGGS_COST_FILE). */
export function createAttributionServices(kit: ServiceKit, opts: { cost?: CostSettings } = {}): AttributionServices {
  const { db, telemetry, tenantOf } = kit;
  const pricer = createPricer(opts.cost);
  const nowMs = () => Date.parse(kit.now());
  const range = (input: { from?: string | undefined; to?: string | undefined }, defaultDays: number) => {
    const to = input.to ?? new Date(nowMs()).toISOString();
    const from = input.from ?? new Date(Date.parse(to) - defaultDays * DAY_MS).toISOString();
    if (Date.parse(from) >= Date.parse(to)) throw new ToolError('INVALID_INPUT', '`from` must be before `to`');
    return { from: new Date(Date.parse(from)).toISOString(), to: new Date(Date.parse(to)).toISOString() };
  };

  return {
    async listSessions(ctx, input) {
      const { limit, cursor, ...filter } = input;
      return listSessions(db, { tenantId: tenantOf(ctx), filter, limit, cursor });
    },

    async replaySession(ctx, input) {
      const tenantId = tenantOf(ctx);
      const session = await getSession(db, { tenantId, id: input.sessionId });
      if (!session) throw new ToolError('NOT_FOUND', `session ${input.sessionId} not found`);
      // the session's first/last seen cover all of its events: ClickHouse then reads only those days
      const seen = { first: session.firstSeen, last: session.lastSeen };
      const [exchanges, tools] = await Promise.all([
        telemetry.listSessionExchanges({ tenantId, sessionId: input.sessionId, seen }),
        telemetry.listSessionToolCalls({ tenantId, sessionId: input.sessionId, seen }),
      ]);
      const toolCalls = tools.map((t) => ({
        toolCallId: t.id, ts: t.ts, host: t.host, method: t.method, toolName: t.toolName, input: t.input, output: t.output,
        isError: t.isError, verdict: t.verdict, ruleIds: t.ruleIds, piiTypes: piiTypesOf(t),
      }));
      const steps = [
        ...exchanges.map((e) => ({ kind: 'llm_call' as const, id: e.callId, ts: e.ts })),
        ...toolCalls.map((t) => ({ kind: 'tool_call' as const, id: t.toolCallId, ts: t.ts })),
      ].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { session, exchanges, toolCalls, steps };
    },

    async userTrack(ctx, input) {
      const tenantId = tenantOf(ctx);
      const { from, to } = range(input, Math.ceil(nowMs() / DAY_MS) + 1);
      const after = input.cursor ? trackKeyOf(input.cursor) : null;
      const sessionIds = await listUserSessionIds(db, { tenantId, userId: input.userId, from, limit: USER_SESSIONS_LIMIT });
      const [events, findings] = await Promise.all([
        telemetry.listUserEvents({ tenantId, userId: input.userId, sessionIds, from, to, after, limit: input.limit + 1 }),
        listFindings(db, { tenantId, filter: { user: input.userId, from, to }, limit: USER_FINDINGS_LIMIT }),
      ]);
      type Keyed = { key: TrackKey; event: TrackEvent };
      const merged: Keyed[] = [
        ...events.map((e) => ({ key: userEventKey(e), event: toTrackEvent(e) })),
        ...findings.findings
          .map((f) => ({ key: { ts: f.lastSeen, rank: TRACK_RANK.finding, id: f.id }, event: findingEvent(f) }))
          .filter((k) => after === null || compareTrackKeys(k.key, after) > 0),
      ].sort((a, b) => compareTrackKeys(a.key, b.key));
      const page = merged.slice(0, input.limit);
      const last = page.at(-1);
      return {
        userId: input.userId,
        events: page.map((k) => k.event),
        nextCursor: merged.length > input.limit && last ? encodeCursor([last.key.ts, last.key.rank, last.key.id]) : null,
      };
    },

    async dataTracks(ctx, input) {
      const { from, to } = range(input, DATA_TRACKS_DEFAULT_DAYS);
      const flows = (await telemetry.listPiiFlows({ tenantId: tenantOf(ctx), from, to })).filter((f) =>
        (!input.piiType || f.piiType === input.piiType) && (!input.app || f.app === input.app)
        && (!input.namespace || f.namespace === input.namespace) && (!input.provider || f.provider === input.provider)
        && (!input.model || f.model === input.model));
      const totals: Record<string, number> = {};
      for (const f of flows) totals[f.piiType] = (totals[f.piiType] ?? 0) + f.count;
      return { range: { from, to }, flows, totals };
    },

    async costReport(ctx, input) {
      return costReport(tenantOf(ctx), input);
    },
  };

  async function costReport(tenantId: string, input: ToolArgs<'cost_report'>): Promise<ToolOutput<'cost_report'>> {
    const { from, to } = range(input, COST_DEFAULT_DAYS);
    const usage = (await telemetry.summarizeUsage({ tenantId, from, to, userId: input.userId, app: input.app }))
      .filter((u) => !input.team || pricer.teamOf(u.namespace, u.app) === input.team);
    const rows = new Map<string | null, CostRow>();
    const days = new Map<string, { day: string; calls: number; costUsd: number; unpricedCalls: number }>();
    const total = { calls: 0, costUsd: 0, unpricedCalls: 0 };
    for (const u of usage) {
      const key = input.by === 'user' ? u.userId
        : input.by === 'team' ? pricer.teamOf(u.namespace, u.app)
          : input.by === 'app' ? u.app
            : `${u.provider}/${u.model ?? 'unknown'}`;
      const tokens: TokenTotals = {
        calls: u.calls, callsWithoutUsage: u.callsWithoutUsage, input: u.inputTokens, output: u.outputTokens, cached: u.cachedTokens,
      };
      const cost = pricer.costOf(u.provider, u.model, tokens);
      const row = rows.get(key) ?? {
        key, calls: 0, tokens: { input: 0, output: 0, cached: 0 }, costUsd: 0, unpricedCalls: 0, callsWithoutUsage: 0, unpricedModels: [],
      };
      row.calls += u.calls;
      row.tokens.input += u.inputTokens;
      row.tokens.output += u.outputTokens;
      row.tokens.cached += u.cachedTokens;
      row.callsWithoutUsage += u.callsWithoutUsage;
      const day = days.get(u.day) ?? { day: u.day, calls: 0, costUsd: 0, unpricedCalls: 0 };
      day.calls += u.calls;
      total.calls += u.calls;
      if (cost === null) {
        row.unpricedCalls += u.calls;
        day.unpricedCalls += u.calls;
        total.unpricedCalls += u.calls;
        const name = `${u.provider}/${u.model ?? 'unknown'}`;
        if (!row.unpricedModels.includes(name)) row.unpricedModels.push(name);
      } else {
        row.costUsd += cost;
        day.costUsd += cost;
        total.costUsd += cost;
      }
      rows.set(key, row);
      days.set(u.day, day);
    }
    const usd = (n: number) => Math.round(n * 1e6) / 1e6;
    return {
      by: input.by,
      range: { from, to },
      currency: 'USD',
      rows: [...rows.values()]
        .map((r) => ({ ...r, costUsd: usd(r.costUsd), unpricedModels: r.unpricedModels.sort() }))
        .sort((a, b) => b.costUsd - a.costUsd || b.calls - a.calls || String(a.key).localeCompare(String(b.key))),
      days: [...days.values()].map((d) => ({ ...d, costUsd: usd(d.costUsd) })).sort((a, b) => a.day.localeCompare(b.day)),
      total: { ...total, costUsd: usd(total.costUsd) },
      prices: { asOf: pricer.asOf, source: pricer.source, overridden: pricer.overridden },
    };
  }
}

function piiTypesOf(e: LlmCall | ToolCall) {
  return [...new Set(e.detections.map((d) => d.type))].sort();
}

function trackKeyOf(cursor: string): TrackKey {
  const k = decodeCursor(cursor);
  if (!k || typeof k[0] !== 'string' || Number.isNaN(Date.parse(k[0])) || typeof k[1] !== 'number' || typeof k[2] !== 'string') {
    throw new ToolError('INVALID_INPUT', 'cursor is not one this tool returned');
  }
  return { ts: k[0], rank: k[1], id: k[2] };
}

function toTrackEvent(e: UserEvent): TrackEvent {
  switch (e.kind) {
    case 'llm_call': {
      const c = e.call;
      return {
        kind: 'llm_call', id: c.id, ts: c.ts, sessionId: c.attribution.sessionId, userSource: c.attribution.userSource,
        provider: c.provider, model: c.model, namespace: c.source.namespace, app: c.source.app, verdict: c.verdict,
        piiTypes: piiTypesOf(c), injectionScore: c.injectionScore,
      };
    }
    case 'tool_call': {
      const t = e.call;
      return {
        kind: 'tool_call', id: t.id, ts: t.ts, sessionId: t.attribution.sessionId, userSource: t.attribution.userSource,
        host: t.host, method: t.method, toolName: t.toolName, namespace: t.source.namespace, app: t.source.app,
        verdict: t.verdict, isError: t.isError,
      };
    }
    case 'decision': {
      const d = e.decision;
      return {
        kind: 'decision', id: d.id, ts: d.ts, sessionId: d.sessionId, callId: d.callId, ruleId: d.ruleId, action: d.action,
        primitive: d.primitive,
      };
    }
  }
}

function findingEvent(f: Finding): TrackEvent {
  return {
    kind: 'finding', id: f.id, ts: f.lastSeen, category: f.category, severity: f.severity, status: f.status, title: f.title, count: f.count,
  };
}
