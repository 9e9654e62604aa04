import type { ScannerPolicy } from '@higgs/schema';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TenantError } from '../errors.ts';
import type { PolicyNotifier } from '../policy/policy-notifier.ts';
import { getPolicyVersion } from '../stores/policy-repository.ts';
import { listQuarantines } from '../stores/quarantines-repository.ts';
import { listRules } from '../stores/rules-repository.ts';
import { listSessionKills } from '../stores/session-kills-repository.ts';
import { listBlockedSessionIds } from '../stores/sessions-repository.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { principalFor, SCANNER_ONLY } from './auth-hooks.ts';
import { zodMessage } from './zod-message.ts';

/** The longest a scanner's long-poll is held. */
export const MAX_POLICY_WAIT_MS = 30_000;

const PolicyQuery = z.object({
  wait_ms: z.coerce.number().int().min(0).max(MAX_POLICY_WAIT_MS).default(0),
});

async function readPolicy(db: SqlClient, tenantId: string): Promise<ScannerPolicy> {
  return db.transaction(async (tx) => {
    const version = await getPolicyVersion(tx, { tenantId });
    const rules = await listRules(tx, { tenantId, includeDisabled: false });
    const quarantines = await listQuarantines(tx, { tenantId, activeOnly: true });
    const kills = await listSessionKills(tx, { tenantId });
    const blockedSessions = [...new Set([...await listBlockedSessionIds(tx, { tenantId }), ...kills.map((k) => k.sessionId)])].sort();
    const orders = [
      ...quarantines.map((q) => ({ primitive: 'quarantine' as const, target: q.namespace, orderedBy: q.createdBy, orderedAt: q.createdAt })),
      ...kills.map((k) => ({ primitive: 'session_kill' as const, target: k.sessionId, orderedBy: k.killedBy, orderedAt: k.killedAt })),
    ];
    return {
      version: String(version),
      rules,
      quarantinedNamespaces: [...new Set(quarantines.map((q) => q.namespace))].sort(),
      blockedSessions,
      // optional on the wire (rolling upgrade): sent only when there is an order to attribute
      ...(orders.length > 0 ? { orders } : {}),
    };
  });
}

/** `"7"`, `W/"7"` and `7` all name version 7. */
function etagVersion(header: string | undefined): string | null {
  if (!header) return null;
  return header.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export function registerPolicyRoutes(app: FastifyInstance, deps: { db: SqlClient; notifier: PolicyNotifier }): void {
  // held long-polls answer 304 at shutdown instead of keeping close() waiting up to 30 s
  const held = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const poll of held) poll.abort();
  });

  app.get<{ Params: { id: string } }>('/v1/scanners/:id/policy', async (request, reply) => {
    const principal = await principalFor(deps.db, request, SCANNER_ONLY);
    const query = PolicyQuery.safeParse(request.query);
    if (!query.success) throw new TenantError('INVALID_REQUEST', zodMessage(query.error));
    const tenantId = principal.tenantId;
    const known = etagVersion(request.headers['if-none-match']);
    const deadline = Date.now() + query.data.wait_ms;
    const poll = new AbortController();
    held.add(poll);
    // the response's close (not the request's, which fires once the body is read) means the scanner went away
    reply.raw.once('close', () => poll.abort());
    try {
      // after a change notice the version is read with the policy; before one it is checked alone
      let notified = false;
      for (;;) {
        // subscribe before reading, so a change between the read and the wait still wakes us
        const remaining = deadline - Date.now();
        const change = remaining > 0 && !poll.signal.aborted
          ? deps.notifier.waitForChange(tenantId, remaining, poll.signal)
          : null;
        // one statement while nothing changed; the whole policy (five, in a transaction) only when it did
        if (known === null || notified || String(await getPolicyVersion(deps.db, { tenantId })) !== known) {
          const policy = await readPolicy(deps.db, tenantId);
          if (policy.version !== known) {
            void reply.header('etag', `"${policy.version}"`).header('cache-control', 'no-store');
            return policy;
          }
        }
        if (!change || !(await change)) return reply.code(304).header('etag', `"${known}"`).send();
        notified = true;
      }
    } finally {
      // ends a pending wait and forgets this poll
      poll.abort();
      held.delete(poll);
    }
  });
}
