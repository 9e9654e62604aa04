/**
 * The tools package's error catalogue. Services throw `ToolError` for domain
 * failures the caller can act on; anything else is an internal fault.
 */
export const TOOL_ERROR_CODES = [
  'INVALID_INPUT', // the arguments do not satisfy the tool's input schema
  'UNKNOWN_TOOL',
  'FORBIDDEN', // the principal's role is below the tool's least role, or the agent tried to act
  'NOT_FOUND',
  'CONFLICT', // e.g. a proposal that is no longer pending
  'APPROVAL_MISMATCH', // the approved argsHash is not the proposal's
  'EXPIRED',
  'INTERNAL',
] as const;
export type ToolErrorCode = (typeof TOOL_ERROR_CODES)[number];

export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(
    readonly code: ToolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The process environment does not configure this entry point; the message lists every bad key, never a value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}
