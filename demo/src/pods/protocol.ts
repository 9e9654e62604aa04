/**
 * What the launcher and its pod processes say to each other: the pod's spec
 * (argv), its reports (JSON lines on stdout) and the launcher's notes to a
 * hop (JSON lines on stdin). Both ends parse with these schemas.
 */
import { z } from 'zod';
import type { CallOutcome } from '../workloads/index.ts';

const Name = z.string().min(1).max(253);
const Port = z.number().int().min(1).max(65535);

const Workload = z.object({
  namespace: Name,
  app: Name,
  ip: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  provider: z.enum(['openai', 'anthropic']),
  model: Name,
});

/**
 * A pod process's whole configuration, as its one argument: the workload it
 * is, its scripted LLM calls (through the proxy, or `direct` to the
 * provider's address like an unconfigured workload) and/or the hop of the
 * three-hop path it serves.
 */
export const PodSpec = z.object({
  workload: Workload,
  proxyUrl: z.string().url(),
  caCertPem: z.string().min(1),
  calls: z.object({
    intervalMs: z.number().int().min(1),
    /** stagger, so the pods' calls interleave */
    startDelayMs: z.number().int().min(0),
    direct: z.object({ host: z.string().min(1), port: Port, caCertPem: z.string().min(1) }).nullable(),
  }).nullable(),
  hop: z.object({ role: z.enum(['frontdoor', 'orders-api', 'summariser']), jwtSecret: z.string().min(16) }).nullable(),
});
export type PodSpec = z.infer<typeof PodSpec>;

const OutcomeBase = {
  namespace: Name,
  app: Name,
  provider: z.enum(['openai', 'anthropic']),
  model: z.string(),
  promptId: z.string(),
  userId: z.string(),
  traceId: z.string(),
  stream: z.boolean(),
  at: z.string(),
  durationMs: z.number(),
};

const Outcome = z.discriminatedUnion('kind', [
  z.object({
    ...OutcomeBase,
    kind: z.literal('ok'),
    text: z.string(),
    finishReason: z.string().nullable(),
    usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }).nullable(),
    requestId: z.string().nullable(),
  }),
  z.object({ ...OutcomeBase, kind: z.literal('blocked'), status: z.number(), message: z.string(), requestId: z.string().nullable() }),
  z.object({ ...OutcomeBase, kind: z.literal('error'), status: z.number().nullable(), message: z.string() }),
]);
// the wire shape is exactly the in-process one
const _sameShape: z.ZodType<CallOutcome> = Outcome;

/** A pod's report, one JSON line on its stdout. */
export const PodMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('outcome'), outcome: _sameShape }),
  /** a hop is serving on this port of its workload address */
  z.object({ type: z.literal('listening'), port: Port }),
]);
export type PodMessage = z.infer<typeof PodMessage>;

/** To a hop, on its stdin: where the next hop listens. */
export const NextHop = z.object({ type: z.literal('next'), port: Port });
export type NextHop = z.infer<typeof NextHop>;

/** One line of JSON through a schema; null (never a throw) for anything else. */
export function parseLine<T>(schema: z.ZodType<T>, line: string): T | null {
  try {
    const r = schema.safeParse(JSON.parse(line));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
