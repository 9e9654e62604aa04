import type { KernelEnforcement } from '@higgs/schema';
import { appendAudit } from '../stores/audit-repository.ts';
import { insertKernelEnforcements } from '../stores/kernel-enforcements-repository.ts';
import { markQuarantineEnforced } from '../stores/quarantines-repository.ts';
import type { SqlExecutor } from '../stores/sql-client.ts';

const ACTIONS: Record<KernelEnforcement['primitive'], string> = {
  quarantine: 'kernel_quarantine_enforced',
  session_kill: 'kernel_session_killed',
  redirect: 'kernel_redirect_applied',
};

/**
 * Puts each new kernel enforcement report into the tenant's audit chain, in the
 * ingest transaction: the scanner is the actor, the principal who ordered it is
 * in `details.orderedBy`. An event id seen before (a re-sent batch) is stored
 * and audited once; a refused connect marks the namespace's active quarantine
 * `enforced`. Returns how many reports were new.
 */
export async function auditKernelEnforcements(
  tx: SqlExecutor, p: { tenantId: string; scannerId: string; events: readonly KernelEnforcement[] },
): Promise<number> {
  if (p.events.length === 0) return 0;
  const fresh = await insertKernelEnforcements(tx, { tenantId: p.tenantId, events: p.events });
  let audited = 0;
  for (const e of p.events) {
    if (!fresh.delete(e.id)) continue; // a duplicate, or a repeat inside this batch
    await appendAudit(tx, {
      tenantId: p.tenantId,
      entry: {
        actor: `scanner:${p.scannerId}`,
        action: ACTIONS[e.primitive],
        target: e.target,
        details: { eventId: e.id, at: e.ts, count: e.count, latencyUs: e.latencyUs, orderedBy: e.orderedBy, source: e.source },
      },
    });
    audited += 1;
    if (e.primitive === 'quarantine') await markQuarantineEnforced(tx, { tenantId: p.tenantId, namespace: e.target });
  }
  return audited;
}
