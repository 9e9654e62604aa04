/**
 * Tool contracts of the kernel area, spread into `ToolContracts` (tools.schema.ts):
 * session kill, quarantine release and the quarantine history. The order reaches
 * the scanners through their policy (`blockedSessions`, `quarantinedNamespaces`,
 * `orders`); what the kernel then did comes back as `kernel_enforcement` events
 * and lands in the audit chain.
 */
import { z } from 'zod';
import { Quarantine } from '../domain.schema.ts';

const IsoTime = z.iso.datetime({ offset: true });
const Reason = z.string().min(1).max(2000);

export const KillSessionInput = z.object({
  /** the session id the scanner attributed (`t-<traceId>` or `s-<hash>`), as replay_session and findings show it */
  sessionId: z.string().min(1).max(128),
  reason: Reason,
});
/** A killed session: the scanners refuse its requests and reset its open connections. */
export const SessionKill = z.object({
  sessionId: z.string(),
  reason: z.string(),
  killedBy: z.string(),
  killedAt: IsoTime,
  /** false when the tenant had not yet seen a call of this session (a stream still open counts only when it ends) */
  known: z.boolean(),
});
export type SessionKill = z.infer<typeof SessionKill>;
export const KillSessionOutput = z.object({ kill: SessionKill });

export const ReleaseQuarantineInput = z.object({
  /** the quarantined namespace; or give `quarantineId` */
  namespace: z.string().min(1).max(253).optional(),
  quarantineId: z.string().min(1).max(64).optional(),
  reason: Reason,
}).refine((i) => (i.namespace === undefined) !== (i.quarantineId === undefined), { message: 'give exactly one of namespace or quarantineId' });

/** A quarantine with who released it and why (null while active). */
export const QuarantineRecord = Quarantine.extend({
  releasedBy: z.string().nullable(),
  releaseReason: z.string().nullable(),
});
export type QuarantineRecord = z.infer<typeof QuarantineRecord>;
export const ReleaseQuarantineOutput = z.object({ quarantine: QuarantineRecord });

export const ListQuarantinesInput = z.object({
  /** only the quarantines in force; default: active and released */
  activeOnly: z.boolean().default(false),
  namespace: z.string().min(1).max(253).optional(),
});
/** Oldest first. */
export const ListQuarantinesOutput = z.object({ quarantines: z.array(QuarantineRecord) });

export const kernelToolContracts = {
  kill_session: { input: KillSessionInput, output: KillSessionOutput },
  release_quarantine: { input: ReleaseQuarantineInput, output: ReleaseQuarantineOutput },
  list_quarantines: { input: ListQuarantinesInput, output: ListQuarantinesOutput },
} as const;
