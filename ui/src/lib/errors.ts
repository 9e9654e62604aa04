/**
 * The UI's error catalogue. Every failure the API client reports is an
 * `ApiError`: either a code the tenant sent in its `{error:{code,message}}`
 * body (FORBIDDEN, NOT_FOUND, APPROVAL_MISMATCH, …) or one of these local codes.
 */
export const UI_ERROR_CODES = [
  'NETWORK', // the request never got an HTTP answer (tenant down, connection reset)
  'HTTP_ERROR', // an error status without the tenant's error body (e.g. a proxy's 502 page)
  'BAD_RESPONSE', // the body is not JSON, or does not match the tool's output contract
  'ABORTED', // the caller cancelled (component unmounted, newer poll started)
  'INSECURE_CONTEXT', // no Web Crypto (plain http off localhost): approvals cannot be hashed
] as const;
export type UiErrorCode = (typeof UI_ERROR_CODES)[number];

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** a tenant error code, or a `UiErrorCode` */
    readonly code: UiErrorCode | (string & {}),
    message: string,
    /** the HTTP status, or null when there was no HTTP answer */
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The tenant refused the token: the page should ask for a new one. */
  get isUnauthorized(): boolean {
    return this.status === 401;
  }
}

/** Any thrown value as an ApiError, so views render one shape. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DOMException && err.name === 'AbortError') return new ApiError('ABORTED', 'request cancelled', null, { cause: err });
  return new ApiError('NETWORK', err instanceof Error ? err.message : String(err), null, { cause: err });
}
