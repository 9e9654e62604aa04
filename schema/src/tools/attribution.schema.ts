/**
 * Tool contracts of the attribution area, spread into `ToolContracts` (tools.schema.ts):
 * sessions stitched across hops, session replay, a user's timeline, PII flows
 * (Data Tracks) and LLM cost. Definitions: tools/src/definitions/attribution-tools.ts;
 * services: tools/src/services/attribution.ts.
 */
import { z } from 'zod';
import { PiiFlow, Session, SessionExchange } from '../domain.schema.ts';
import { FindingCategory, FindingStatus, PiiType, Severity, Verdict } from '../enums.ts';
import { Attribution } from '../observation.schema.ts';

const IsoTime = z.iso.datetime({ offset: true });
const Limit = z.number().int().min(1).max(200).default(50);
const Cursor = z.string().max(400).optional();
const Name = z.string().min(1).max(256);

/** How a session's (or a call's) user was learned; null when no hop carried one. */
export const UserSource = Attribution.shape.userSource;

/**
 * A session as listed: the stored session plus how its user is known. `trace`
 * means an earlier hop of the same W3C trace carried the user (cross-hop
 * stitching); `jwt` is a claim of a token the scanner decoded (see scanner README
 * on verification); `header`/`baggage`/`provider_field` are what the workload sent.
 */
export const AttributedSession = Session.extend({
  userSource: UserSource,
  /** MCP tool calls observed in the session */
  toolCallCount: z.number().int().nonnegative(),
});
export type AttributedSession = z.infer<typeof AttributedSession>;

export const ListSessionsInput = z.object({
  userId: Name.optional(),
  app: Name.optional(),
  namespace: Name.optional(),
  /** sessions active at or after this time (lastSeen ≥ from) */
  from: IsoTime.optional(),
  /** sessions that started before this time (firstSeen < to) */
  to: IsoTime.optional(),
  limit: Limit,
  cursor: Cursor,
});
export const ListSessionsOutput = z.object({ sessions: z.array(AttributedSession), nextCursor: z.string().nullable() });

/** An MCP tool call of a replayed session, arguments and result as recorded (redactions applied by the scanner). */
export const SessionToolCall = z.object({
  toolCallId: z.string(),
  ts: IsoTime,
  host: z.string(),
  method: z.string(),
  toolName: z.string().nullable(),
  input: z.string().nullable(),
  output: z.string().nullable(),
  isError: z.boolean(),
  verdict: Verdict,
  ruleIds: z.array(z.string()),
  piiTypes: z.array(PiiType),
});
export type SessionToolCall = z.infer<typeof SessionToolCall>;

/** One step of a replay, in time order: an LLM exchange or an MCP tool call. */
export const ReplayStep = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('llm_call'), id: z.string(), ts: IsoTime }),
  z.object({ kind: z.literal('tool_call'), id: z.string(), ts: IsoTime }),
]);

export const ReplaySessionInput = z.object({ sessionId: z.string().min(1).max(128) });
/**
 * A session replayed. Added in issue 5, optional so replays written to the first
 * shape (session + LLM exchanges) still parse: the session's `userSource` and
 * `toolCallCount`, the MCP tool calls and the merged order of the steps.
 */
export const ReplaySessionOutput = z.object({
  session: Session.extend({ userSource: UserSource.optional(), toolCallCount: z.number().int().nonnegative().optional() }),
  /** the LLM calls in time order, prompts and responses as recorded (PII and secrets masked by the scanner) */
  exchanges: z.array(SessionExchange),
  /** the MCP tool calls in time order */
  toolCalls: z.array(SessionToolCall).optional(),
  /** exchanges and tool calls merged by time: the order the session happened in */
  steps: z.array(ReplayStep).optional(),
});

/** One event on a user's timeline. */
export const TrackEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('llm_call'), id: z.string(), ts: IsoTime, sessionId: z.string(), userSource: UserSource,
    provider: z.string(), model: z.string().nullable(), namespace: z.string().nullable(), app: z.string().nullable(),
    verdict: Verdict, piiTypes: z.array(PiiType), injectionScore: z.number(),
  }),
  z.object({
    kind: z.literal('tool_call'), id: z.string(), ts: IsoTime, sessionId: z.string(), userSource: UserSource,
    host: z.string(), method: z.string(), toolName: z.string().nullable(), namespace: z.string().nullable(), app: z.string().nullable(),
    verdict: Verdict, isError: z.boolean(),
  }),
  z.object({
    kind: z.literal('decision'), id: z.string(), ts: IsoTime, sessionId: z.string().nullable(), callId: z.string().nullable(),
    ruleId: z.string().nullable(), action: Verdict, primitive: z.string(),
  }),
  z.object({
    kind: z.literal('finding'), id: z.string(), ts: IsoTime, category: FindingCategory, severity: Severity, status: FindingStatus,
    title: z.string(), count: z.number().int(),
  }),
]);
export type TrackEvent = z.infer<typeof TrackEvent>;

export const UserTrackInput = z.object({
  userId: Name,
  from: IsoTime.optional(),
  to: IsoTime.optional(),
  limit: Limit,
  cursor: Cursor,
});
export const UserTrackOutput = z.object({
  userId: z.string(),
  /** newest first; findings are placed at their last occurrence */
  events: z.array(TrackEvent),
  nextCursor: z.string().nullable(),
});

export const DataTracksInput = z.object({
  piiType: PiiType.optional(),
  app: Name.optional(),
  namespace: Name.optional(),
  provider: Name.optional(),
  model: Name.optional(),
  /** default: the last 7 days */
  from: IsoTime.optional(),
  to: IsoTime.optional(),
});
/** One PII flow of Data Tracks: the same row a compliance pack carries. */
export const DataFlow = PiiFlow;
export const DataTracksOutput = z.object({
  range: z.object({ from: IsoTime, to: IsoTime }),
  flows: z.array(DataFlow),
  /** calls per PII type across the flows */
  totals: z.record(z.string(), z.number().int()),
});

export const CostDimension = z.enum(['user', 'team', 'app', 'model']);
export type CostDimension = z.infer<typeof CostDimension>;
export const CostReportInput = z.object({
  by: CostDimension.default('user'),
  /** default: the last 30 days */
  from: IsoTime.optional(),
  to: IsoTime.optional(),
  userId: Name.optional(),
  app: Name.optional(),
  team: Name.optional(),
});
const Tokens = z.object({ input: z.number().int(), output: z.number().int(), cached: z.number().int() });
export const CostRow = z.object({
  /** the user, team, app or `provider/model`; null when unattributed */
  key: z.string().nullable(),
  calls: z.number().int(),
  tokens: Tokens,
  /** USD of the priced calls */
  costUsd: z.number(),
  /** calls whose provider/model is not in the price table: counted, never priced as zero */
  unpricedCalls: z.number().int(),
  /** calls that reported no token usage (blocked before the provider, failed, or a stream without usage) */
  callsWithoutUsage: z.number().int(),
  unpricedModels: z.array(z.string()),
});
export const CostReportOutput = z.object({
  by: CostDimension,
  range: z.object({ from: IsoTime, to: IsoTime }),
  currency: z.literal('USD'),
  rows: z.array(CostRow),
  /** per UTC day, all rows together */
  days: z.array(z.object({ day: z.string(), calls: z.number().int(), costUsd: z.number(), unpricedCalls: z.number().int() })),
  total: z.object({ calls: z.number().int(), costUsd: z.number(), unpricedCalls: z.number().int() }),
  /** where the prices come from: the checked-in table's date and source, and any tenant override */
  prices: z.object({ asOf: z.string(), source: z.string(), overridden: z.number().int() }),
});

export const attributionToolContracts = {
  list_sessions: { input: ListSessionsInput, output: ListSessionsOutput },
  replay_session: { input: ReplaySessionInput, output: ReplaySessionOutput },
  user_track: { input: UserTrackInput, output: UserTrackOutput },
  data_tracks: { input: DataTracksInput, output: DataTracksOutput },
  cost_report: { input: CostReportInput, output: CostReportOutput },
} as const;
