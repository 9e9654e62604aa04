import type { ToolArgs, ToolOutput } from '@higgs/schema';
import type { ServiceContext } from '../services.ts';

/** The kernel operations of the `HiggsServices` port; scoped by `ctx.principal.tenantId`. */
export interface KernelServices {
  /**
   * Orders a session killed: the scanners refuse its requests and reset its
   * open connections. Audited, and the policy version bumped so the long-polls wake.
   */
  killSession(ctx: ServiceContext, input: ToolArgs<'kill_session'>): Promise<ToolOutput<'kill_session'>>;
  /** Lifts the active quarantine of a namespace (by namespace or quarantine id); NOT_FOUND when none is active. Audited. */
  releaseQuarantine(ctx: ServiceContext, input: ToolArgs<'release_quarantine'>): Promise<ToolOutput<'release_quarantine'>>;
  /** Quarantines, active and released, with who ordered and who lifted each and why. */
  listQuarantines(ctx: ServiceContext, input: ToolArgs<'list_quarantines'>): Promise<ToolOutput<'list_quarantines'>>;
}
