/**
 * The agent package's error catalogue. A failed tool call keeps the tool's own
 * code (from `@higgs/tools`) so the planner can tell "not found" from a fault.
 */
export const AGENT_ERROR_CODES = [
  'TOOL_FAILED', // the tool answered with isError; `toolCode` says why
  'BAD_TOOL_OUTPUT', // structuredContent missing or not the tool's output contract
  'FORBIDDEN', // the asking user is not in the agent's tenant
  'CLOSED', // chat() after close()
] as const;
export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    options?: { cause?: unknown; toolCode?: string },
  ) {
    super(message, options);
    this.toolCode = options?.toolCode ?? null;
  }

  /** For TOOL_FAILED: the tool's error code (NOT_FOUND, FORBIDDEN, …) when it reported one. */
  readonly toolCode: string | null;
}
