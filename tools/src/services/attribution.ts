import type { ToolArgs, ToolOutput } from '@higgs/schema';
import type { ServiceContext } from '../services.ts';

/** The attribution operations of the `HiggsServices` port; scoped by `ctx.principal.tenantId`. */
export interface AttributionServices {
  /** Sessions stitched across hops, most recently active first, filtered by user, app, namespace and time; paged. */
  listSessions(ctx: ServiceContext, input: ToolArgs<'list_sessions'>): Promise<ToolOutput<'list_sessions'>>;
  /** One session: its LLM exchanges and MCP tool calls in time order, as recorded (redactions applied). NOT_FOUND otherwise. */
  replaySession(ctx: ServiceContext, input: ToolArgs<'replay_session'>): Promise<ToolOutput<'replay_session'>>;
  /** A user's timeline of calls, tool calls, enforcement decisions and findings, newest first; paged. */
  userTrack(ctx: ServiceContext, input: ToolArgs<'user_track'>): Promise<ToolOutput<'user_track'>>;
  /** PII flows: type × source app × destination provider/model, with counts and first/last seen. */
  dataTracks(ctx: ServiceContext, input: ToolArgs<'data_tracks'>): Promise<ToolOutput<'data_tracks'>>;
  /** LLM cost by user, team, app or model over a range, with totals per day; unknown models are unpriced, not zero. */
  costReport(ctx: ServiceContext, input: ToolArgs<'cost_report'>): Promise<ToolOutput<'cost_report'>>;
}
