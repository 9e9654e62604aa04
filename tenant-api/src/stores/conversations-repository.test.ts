import { createAgent } from '@higgs/agent';
import type { ChatEvent, Principal } from '@higgs/schema';
import { createRegistry } from '@higgs/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../ingest/ingest.ts';
import { createPolicyNotifier } from '../policy/policy-notifier.ts';
import { createHiggsServices } from '../services/higgs-services.ts';
import { batchOf, createTestTenant, llmCall, openTestDb } from '../testing/fixtures.ts';
import { createSqlConversationStore } from './conversations-repository.ts';
import type { SqlClient } from './sql-client.ts';

let db: SqlClient;
beforeAll(async () => {
  db = await openTestDb();
}, 60_000);
afterAll(async () => { await db?.close(); });

const key = (conversationId: string, userId = 'u1', tenantId = 't1') => ({ tenantId, userId, conversationId });

describe('the agent conversations in the state store', () => {
  it('keeps state per tenant, user and conversation, overwriting on the next turn', async () => {
    const store = createSqlConversationStore(db, { ttlMs: 1000 });
    await store.set(key('c1'), { findingId: 'f1', updatedAt: 0 });
    await store.set(key('c1'), { findingId: 'f2', intent: 'explain', candidates: ['f2', 'f3'], updatedAt: 10 });
    expect(await store.get(key('c1'), 20)).toEqual({ findingId: 'f2', intent: 'explain', candidates: ['f2', 'f3'], updatedAt: 10 });
    expect(await store.get(key('c1', 'u2'), 20)).toBeUndefined();
    expect(await store.get(key('c1', 'u1', 't2'), 20)).toBeUndefined();
    expect(await store.get(key('c2'), 20)).toBeUndefined();
  });

  it('forgets a conversation idle longer than its time to live, and deletes it with the user\'s next turn', async () => {
    const store = createSqlConversationStore(db, { ttlMs: 1000 });
    await store.set(key('old', 'u3'), { findingId: 'f1', updatedAt: 0 });
    expect((await store.get(key('old', 'u3'), 1000))?.findingId).toBe('f1');
    expect(await store.get(key('old', 'u3'), 1001)).toBeUndefined();
    await store.set(key('new', 'u3'), { findingId: 'f9', updatedAt: 5000 });
    const { rows } = await db.query<{ conversation_id: string }>(
      "SELECT conversation_id FROM agent_conversations WHERE tenant_id = 't1' AND user_id = 'u3'",
    );
    expect(rows.map((r) => r.conversation_id)).toEqual(['new']);
  });

  it('lets "block it" resolve after the tenant restarts', async () => {
    const t = await createTestTenant(db);
    await ingestBatch(db, {
      tenantId: t.tenantId,
      batch: batchOf(llmCall({ detections: [{ type: 'ssn', field: 'prompt', hash: 'aaaa1111' }] })),
    });
    const services = createHiggsServices({ db, notifier: createPolicyNotifier() });
    const registry = createRegistry(services);
    const ssn = (await services.listFindings({ principal: t.admin }, { category: 'pii', limit: 50 })).findings
      .find((f) => f.detector === 'pii.ssn')!;
    const turn = async (message: string, conversationId: string, findingId?: string, user: Principal = t.admin) => {
      // a new agent each turn: nothing is carried in memory from one to the next
      const agent = createAgent({ registry, agentPrincipal: t.agent, conversations: createSqlConversationStore(db, { ttlMs: 60_000 }) });
      const events: ChatEvent[] = [];
      for await (const e of agent.chat({ message, conversationId, context: findingId ? { findingId } : {} }, user)) events.push(e);
      await agent.close();
      return events;
    };
    const first = await turn('why does this finding matter?', 'conv-restart', ssn.id);
    expect(first.at(-1)).toEqual({ type: 'done' });
    const second = await turn('block it', 'conv-restart');
    const proposal = second.flatMap((e) => (e.type === 'proposal' ? [e.proposal] : []))[0];
    expect(proposal?.args).toMatchObject({ findingId: ssn.id });
    // the conversation is the user's: another person using the same id continues nothing
    const other: Principal = { id: 'viewer-2', tenantId: t.tenantId, name: 'Viewer', kind: 'human', role: 'viewer' };
    const stranger = await turn('block it', 'conv-restart', undefined, other);
    expect(stranger.some((e) => e.type === 'proposal')).toBe(false);
  });
});
