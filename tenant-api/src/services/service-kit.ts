/**
 * What every area's services share: the stores, the clock, the tenant of a
 * call, and `audited` — one transaction for a change, its audit record and its
 * policy-version bump. Each area (findings-services.ts, attribution-services.ts,
 * …) is built from one kit and spread into `createHiggsServices`.
 */
import type { ServiceContext } from '@higgs/tools';
import type { PolicyNotifier } from '../policy/policy-notifier.ts';
import { appendAudit, type AuditEntry } from '../stores/audit-repository.ts';
import { bumpPolicyVersion } from '../stores/policy-repository.ts';
import type { SqlClient, SqlExecutor } from '../stores/sql-client.ts';
import type { TelemetryStore } from '../stores/telemetry-store.ts';

export interface AuditedWork<T> {
  value: T;
  /** null: nothing changed — no audit record, no policy bump */
  audit: Omit<AuditEntry, 'actor'> | null;
  policyChanged: boolean;
}

export interface ServiceKit {
  db: SqlClient;
  telemetry: TelemetryStore;
  notifier: PolicyNotifier;
  /** the current time as ISO 8601 */
  now(): string;
  tenantOf(ctx: ServiceContext): string;
  /** Runs `work` in one transaction with its audit record (and policy version bump). */
  audited<T>(ctx: ServiceContext, work: (tx: SqlExecutor) => Promise<AuditedWork<T>>): Promise<T>;
}

export function createServiceKit(deps: {
  db: SqlClient;
  telemetry: TelemetryStore;
  notifier: PolicyNotifier;
  now?: () => Date;
}): ServiceKit {
  const { db, telemetry, notifier } = deps;
  const clock = deps.now ?? (() => new Date());
  const tenantOf = (ctx: ServiceContext) => ctx.principal.tenantId;
  return {
    db,
    telemetry,
    notifier,
    now: () => clock().toISOString(),
    tenantOf,
    async audited(ctx, work) {
      const tenantId = tenantOf(ctx);
      const { value, changedPolicy } = await db.transaction(async (tx) => {
        const out = await work(tx);
        if (out.audit === null) return { value: out.value, changedPolicy: false };
        if (out.policyChanged) await bumpPolicyVersion(tx, { tenantId });
        await appendAudit(tx, { tenantId, entry: { ...out.audit, actor: ctx.principal.id } });
        return { value: out.value, changedPolicy: out.policyChanged };
      });
      if (changedPolicy) notifier.notify(tenantId);
      return value;
    },
  };
}
