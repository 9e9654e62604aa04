import { z } from 'zod';
import { Rule } from './domain.schema.ts';
import { EnforcementDecision, KernelEnforcement, LlmCall, NetworkFlow, ToolCall } from './observation.schema.ts';

export const IngestEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('llm_call'), event: LlmCall }),
  z.object({ kind: z.literal('tool_call'), event: ToolCall }),
  z.object({ kind: z.literal('decision'), event: EnforcementDecision }),
  z.object({ kind: z.literal('flow'), event: NetworkFlow }),
  z.object({ kind: z.literal('kernel_enforcement'), event: KernelEnforcement }),
]);
export type IngestEvent = z.infer<typeof IngestEvent>;

/** Body of POST /v1/ingest (scanner token). A batch is accepted whole or not at all. */
export const IngestBatch = z.object({
  scannerId: z.string().min(1).max(128),
  events: z.array(IngestEvent).min(1).max(5000),
});
export type IngestBatch = z.infer<typeof IngestBatch>;

export const IngestResult = z.object({
  accepted: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
});
export type IngestResult = z.infer<typeof IngestResult>;

/** One kernel order carried in the policy: the quarantined namespace or the killed session, and who ordered it. */
export const KernelOrder = z.object({
  primitive: z.enum(['quarantine', 'session_kill']),
  target: z.string(),
  orderedBy: z.string(),
  orderedAt: z.iso.datetime({ offset: true }),
});
export type KernelOrder = z.infer<typeof KernelOrder>;

/**
 * Body of GET /v1/scanners/:id/policy. `version` doubles as the ETag; with
 * `If-None-Match` and `?wait_ms=` the tenant holds the request until it changes.
 */
export const ScannerPolicy = z.object({
  version: z.string(),
  rules: z.array(Rule),
  quarantinedNamespaces: z.array(z.string()),
  blockedSessions: z.array(z.string()),
  /**
   * Who ordered each quarantine and session kill above, so what the kernel then
   * does is audited with its principal (issue 4). Optional for a rolling
   * upgrade: an older tenant does not send it, and the scanner reports null.
   */
  orders: z.array(KernelOrder).optional(),
});
export type ScannerPolicy = z.infer<typeof ScannerPolicy>;

/** Body of every 4xx/5xx from the tenant's HTTP API. */
export const ApiError = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ApiError = z.infer<typeof ApiError>;
