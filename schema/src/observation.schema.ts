import { z } from 'zod';
import { PiiType, Provider, Verdict, WorkloadMode } from './enums.ts';

const IsoTime = z.iso.datetime({ offset: true });
/** Event ids are chosen by the scanner and make ingest idempotent. */
export const EventId = z.string().min(8).max(64).regex(/^[A-Za-z0-9_-]+$/, 'event id must be [A-Za-z0-9_-]');

export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool', 'developer']),
  /** Text as recorded: detected PII and secrets are already masked as [TYPE:hash8]. */
  content: z.string(),
  toolName: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const ToolUse = z.object({ id: z.string().nullable(), name: z.string(), input: z.string() });
export type ToolUse = z.infer<typeof ToolUse>;

/** One detected sensitive value. The raw value never leaves the scanner: only its salted hash. */
export const Detection = z.object({
  type: PiiType,
  field: z.enum(['prompt', 'system', 'response', 'tool_input', 'tool_output']),
  /** sha256 of the tenant salt + value, hex, first 16 chars */
  hash: z.string().min(8).max(64),
});
export type Detection = z.infer<typeof Detection>;

/** Who the call is attributed to, and how we know. */
export const Attribution = z.object({
  userId: z.string().max(256).nullable(),
  userSource: z.enum(['baggage', 'header', 'jwt', 'provider_field', 'trace']).nullable(),
  traceId: z.string().regex(/^[0-9a-f]{32}$/).nullable(),
  parentSpanId: z.string().regex(/^[0-9a-f]{16}$/).nullable(),
  sessionId: z.string().min(1).max(128),
});
export type Attribution = z.infer<typeof Attribution>;

/** Where the call came from: the workload ("pod") the source address or cgroup resolves to. */
export const WorkloadRef = z.object({
  ip: z.string().max(64),
  namespace: z.string().max(253).nullable(),
  app: z.string().max(253).nullable(),
  mode: WorkloadMode.nullable(),
});
export type WorkloadRef = z.infer<typeof WorkloadRef>;

export const Usage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cachedTokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

/** A normalized LLM call, whatever the provider and wire format. */
export const LlmCall = z.object({
  id: EventId,
  scannerId: z.string().min(1).max(128),
  ts: IsoTime,
  durationMs: z.number().nonnegative(),
  tap: z.enum(['proxy', 'tls', 'flow']),
  provider: Provider,
  /** chat | messages | responses | embeddings | … */
  endpoint: z.string().max(64),
  host: z.string().max(253),
  path: z.string().max(2048),
  /** false when the body could not be understood: passed through and recorded as unparsed */
  parsed: z.boolean(),
  model: z.string().max(256).nullable(),
  stream: z.boolean(),
  system: z.string().nullable(),
  messages: z.array(ChatMessage),
  tools: z.array(z.string()).default([]),
  response: z.object({
    content: z.string().nullable(),
    finishReason: z.string().nullable(),
    toolCalls: z.array(ToolUse).default([]),
  }).nullable(),
  usage: Usage.nullable(),
  status: z.number().int().min(0).max(999),
  error: z.string().max(4096).nullable(),
  source: WorkloadRef,
  attribution: Attribution,
  detections: z.array(Detection),
  injectionScore: z.number().min(0).max(100),
  verdict: Verdict,
  ruleIds: z.array(z.string()).default([]),
  /**
   * Added in issue 3 (optional: older scanners do not send it). True when the call went through
   * without all of its inspection: a rule could not be decided (fail-open), the body was over the
   * inspection size limit, or the detectors failed on it (or refused it: a full inspection queue).
   */
  uninspected: z.boolean().optional(),
  /**
   * Added in issue 5 (optional: older scanners do not send it). Whether the request carried
   * credentials (an Authorization, x-api-key or api-key header); absent means unknown.
   */
  authenticated: z.boolean().optional(),
});
export type LlmCall = z.infer<typeof LlmCall>;

/** An MCP tools/call (or other JSON-RPC method) seen through the proxy. */
export const ToolCall = z.object({
  id: EventId,
  scannerId: z.string().min(1).max(128),
  ts: IsoTime,
  durationMs: z.number().nonnegative(),
  host: z.string().max(253),
  method: z.string().max(128),
  toolName: z.string().max(256).nullable(),
  input: z.string().nullable(),
  output: z.string().nullable(),
  isError: z.boolean(),
  source: WorkloadRef,
  attribution: Attribution,
  detections: z.array(Detection),
  verdict: Verdict,
  ruleIds: z.array(z.string()).default([]),
  /** Added in issue 3 (optional: older scanners do not send it), as on LlmCall: a rule could not be decided and the call went through (fail-open). */
  uninspected: z.boolean().optional(),
  /** Added in issue 5, optional as on LlmCall: whether the request carried credentials; absent means unknown. */
  authenticated: z.boolean().optional(),
});
export type ToolCall = z.infer<typeof ToolCall>;

/** One enforcement decision: which rule matched, what was done, how long it took. */
export const EnforcementDecision = z.object({
  id: EventId,
  scannerId: z.string().min(1).max(128),
  ts: IsoTime,
  callId: EventId.nullable(),
  ruleId: z.string().nullable(),
  action: Verdict,
  primitive: z.enum(['inline', 'quarantine', 'session_kill']),
  latencyUs: z.number().nonnegative(),
  matchedField: z.string().max(64).nullable(),
  /** hash of the matched value, never the value */
  matchedHash: z.string().max(64).nullable(),
  sessionId: z.string().max(128).nullable(),
  source: WorkloadRef,
});
export type EnforcementDecision = z.infer<typeof EnforcementDecision>;

/**
 * A TCP connection seen at the network layer (flow tracing): who opened it and
 * where to, with no payload. Discovery turns destinations that resolve to AI
 * providers or inference endpoints into assets even when no payload was seen.
 */
export const NetworkFlow = z.object({
  id: EventId,
  scannerId: z.string().min(1).max(128),
  ts: IsoTime,
  pid: z.number().int().nonnegative(),
  comm: z.string().max(64),
  cgroupId: z.string().max(32),
  srcIp: z.string().max(64),
  srcPort: z.number().int().min(0).max(65535),
  dstIp: z.string().max(64),
  dstPort: z.number().int().min(0).max(65535),
  /** the hostname the scanner resolved or observed for dstIp (DNS, SNI, Host), when known */
  dstHost: z.string().max(253).nullable(),
  /** the provider dstHost or dstIp belongs to, when it is a known one */
  provider: Provider.nullable(),
  state: z.string().max(32),
  source: WorkloadRef,
});
export type NetworkFlow = z.infer<typeof NetworkFlow>;

/**
 * An enforcement the kernel carried out: the first refused connection of a
 * quarantined workload, a killed session. Audited by the tenant with the
 * principal that ordered it (`orderedBy`, from the policy the scanner applied).
 */
export const KernelEnforcement = z.object({
  id: EventId,
  scannerId: z.string().min(1).max(128),
  ts: IsoTime,
  primitive: z.enum(['quarantine', 'session_kill', 'redirect']),
  /** what the scanner did: the quarantined namespace or the killed session id */
  target: z.string().max(253),
  /** sockets destroyed, connections refused, … */
  count: z.number().int().nonnegative(),
  /** time from the order reaching the scanner to the kernel acting, in µs */
  latencyUs: z.number().nonnegative(),
  orderedBy: z.string().max(256).nullable(),
  source: WorkloadRef.nullable(),
});
export type KernelEnforcement = z.infer<typeof KernelEnforcement>;
