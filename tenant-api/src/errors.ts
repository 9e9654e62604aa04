/**
 * The tenant's error catalogue. Domain failures inside services are `ToolError`s
 * from `@higgs/tools`; these codes cover what only the tenant itself can fail at.
 */
export const TENANT_ERROR_CODES = [
  'CONFIG_INVALID', // one or more env keys / options failed validation
  'MIGRATION_FAILED',
  'BASELINE_INVALID', // HIGGS_BASELINE_FILE is unreadable or not the documented shape
  'UNAUTHENTICATED', // no bearer token, or an unknown one
  'WRONG_TOKEN_KIND', // a scanner token on /api, or a human token on /v1
  'FORBIDDEN', // a person whose role is below the route's least role
  'INVALID_BATCH', // POST /v1/ingest body failed IngestBatch
  'INVALID_REQUEST', // any other request body or query that failed its schema
  'NOT_FOUND',
  'STORE_FAILED', // a telemetry or state store query failed (after retrying what is retryable)
  'EMBEDDINGS_FAILED', // the configured embeddings endpoint failed or answered outside its contract
] as const;
export type TenantErrorCode = (typeof TENANT_ERROR_CODES)[number];

export class TenantError extends Error {
  override readonly name = 'TenantError';
  constructor(
    readonly code: TenantErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
