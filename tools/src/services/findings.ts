import type { ToolArgs, ToolOutput } from '@higgs/schema';
import type { ServiceContext } from '../services.ts';

/** The findings operations of the `HiggsServices` port; scoped by `ctx.principal.tenantId`. */
export interface FindingsServices {
  /** One asset with its findings, governance history and risk score; NOT_FOUND when it is not the tenant's. */
  getAsset(ctx: ServiceContext, input: ToolArgs<'get_asset'>): Promise<ToolOutput<'get_asset'>>;
  /** The risk score of an asset or an application, with its factors and formula. */
  explainRiskScore(ctx: ServiceContext, input: ToolArgs<'explain_risk_score'>): Promise<ToolOutput<'explain_risk_score'>>;
  /** Who calls what: assets as nodes, observed calls and flows as counted edges. */
  topology(ctx: ServiceContext, input: ToolArgs<'topology'>): Promise<ToolOutput<'topology'>>;
  /** Moves an asset to a governance state, recording the transition and an audit record. */
  setGovernanceState(ctx: ServiceContext, input: ToolArgs<'set_governance_state'>): Promise<ToolOutput<'set_governance_state'>>;
  /** Sets a finding's status with the reason, audited. */
  updateFindingStatus(ctx: ServiceContext, input: ToolArgs<'update_finding_status'>): Promise<ToolOutput<'update_finding_status'>>;
}
