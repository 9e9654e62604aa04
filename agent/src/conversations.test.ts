import { describe, expect, it } from 'vitest';
import { createConversationStore } from './conversations.ts';

const key = (conversationId: string, userId = 'u1') => ({ tenantId: 't1', userId, conversationId });

describe('conversation store', () => {
  it('keeps state per user and conversation', async () => {
    const store = createConversationStore({ maxConversations: 10, ttlMs: 1000 });
    await store.set(key('c1'), { findingId: 'f1', updatedAt: 0 });
    expect((await store.get(key('c1'), 10))?.findingId).toBe('f1');
    expect(await store.get(key('c1', 'u2'), 10)).toBeUndefined();
    expect(await store.get(key('c2'), 10)).toBeUndefined();
  });

  it('forgets the least recently used conversation beyond its bound', async () => {
    const store = createConversationStore({ maxConversations: 2, ttlMs: 1000 });
    await store.set(key('a'), { findingId: 'fa', updatedAt: 0 });
    await store.set(key('b'), { findingId: 'fb', updatedAt: 0 });
    await store.get(key('a'), 0); // a is now more recent than b
    await store.set(key('c'), { findingId: 'fc', updatedAt: 0 });
    expect(store.size).toBe(2);
    expect(await store.get(key('b'), 0)).toBeUndefined();
    expect((await store.get(key('a'), 0))?.findingId).toBe('fa');
  });

  it('forgets a conversation idle longer than its time to live', async () => {
    const store = createConversationStore({ maxConversations: 10, ttlMs: 1000 });
    await store.set(key('c1'), { findingId: 'f1', updatedAt: 0 });
    expect((await store.get(key('c1'), 1000))?.findingId).toBe('f1');
    expect(await store.get(key('c1'), 1001)).toBeUndefined();
  });
});
