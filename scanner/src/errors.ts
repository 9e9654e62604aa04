/**
 * The scanner's error catalogue. A `ScannerError` is a local failure with a
 * stable `code`; tests and callers branch on the code, never on the message.
 */
export const SCANNER_ERROR_CODES = [
  'CONFIG_INVALID', // one or more settings failed validation; the message lists every bad key
  'CA_INVALID', // the per-node CA on disk is incomplete or unreadable
  'POLICY_TIMEOUT', // waitForPolicy saw no matching policy in time
  'POLICY_INVALID', // the tenant answered with a body that is not a ScannerPolicy
  'TENANT_UNAVAILABLE', // the tenant could not be reached or answered 5xx
  'TENANT_REJECTED', // the tenant refused a request (4xx)
  'CLOSED', // the scanner was closed while the operation waited
  'EVENT_STREAM_INVALID', // an AWS event-stream frame failed its CRC, bounds or header checks
  'SSE_EVENT_TOO_LARGE', // one server-sent event grew past the decoder's bound before it ended
  'JSON_TOO_DEEP', // a JSON value nested past MAX_JSON_DEPTH: not walked (a recursive walk would overflow the stack)
] as const;
export type ScannerErrorCode = (typeof SCANNER_ERROR_CODES)[number];

export class ScannerError extends Error {
  override readonly name = 'ScannerError';
  constructor(
    readonly code: ScannerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
