import { ToolError, type KernelServices } from '@higgs/tools';
import { getQuarantine, listQuarantineRecords, releaseActiveQuarantines } from '../stores/quarantines-repository.ts';
import { getSessionKill, insertSessionKill } from '../stores/session-kills-repository.ts';
import type { ServiceKit } from './service-kit.ts';

/**
 * The tenant's kernel services: a kill or a release is one transaction with
 * its audit record and a policy-version bump, which wakes the scanners'
 * long-polls; the scanners then act in the proxy and the kernel and report
 * back as `kernel_enforcement` events (audited at ingest).
 */
export function createKernelServices(kit: ServiceKit): KernelServices {
  const { db, tenantOf, audited, now } = kit;
  return {
    async killSession(ctx, input) {
      const tenantId = tenantOf(ctx);
      return audited(ctx, async (tx) => {
        const kill = await insertSessionKill(tx, { tenantId, sessionId: input.sessionId, reason: input.reason, killedBy: ctx.principal.id, killedAt: now() });
        if (!kill) {
          // already killed: the first order stands, nothing changes
          const existing = await getSessionKill(tx, { tenantId, sessionId: input.sessionId });
          if (!existing) throw new ToolError('INTERNAL', `session kill ${input.sessionId} vanished`);
          return { value: { kill: existing }, audit: null, policyChanged: false };
        }
        return {
          value: { kill }, policyChanged: true,
          audit: { action: 'kill_session', target: input.sessionId, details: { reason: input.reason, known: kill.known } },
        };
      });
    },

    async releaseQuarantine(ctx, input) {
      const tenantId = tenantOf(ctx);
      return audited(ctx, async (tx) => {
        let namespace = input.namespace;
        if (input.quarantineId !== undefined) {
          const q = await getQuarantine(tx, { tenantId, id: input.quarantineId });
          if (!q) throw new ToolError('NOT_FOUND', `quarantine ${input.quarantineId} not found`);
          if (!q.active) throw new ToolError('CONFLICT', `quarantine ${q.id} of ${q.namespace} was already released at ${q.releasedAt ?? '?'}`);
          namespace = q.namespace;
        }
        const released = await releaseActiveQuarantines(tx, {
          tenantId, namespace: namespace!, releasedBy: ctx.principal.id, releasedAt: now(), reason: input.reason,
        });
        const first = released[0];
        if (!first) throw new ToolError('NOT_FOUND', `namespace ${namespace} is not quarantined`);
        return {
          value: { quarantine: first }, policyChanged: true,
          audit: { action: 'release_quarantine', target: first.namespace, details: { quarantineIds: released.map((q) => q.id), reason: input.reason } },
        };
      });
    },

    async listQuarantines(ctx, input) {
      return {
        quarantines: await listQuarantineRecords(db, {
          tenantId: tenantOf(ctx), activeOnly: input.activeOnly, ...(input.namespace ? { namespace: input.namespace } : {}),
        }),
      };
    },
  };
}
