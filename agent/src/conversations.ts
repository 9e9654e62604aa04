/**
 * What a conversation is about, per user and conversation id. The store is an
 * interface so the tenant can keep conversations in its database (they then
 * survive a restart); the default here is in memory and bounded: the least
 * recently used conversation is dropped first.
 */

export interface ConversationState {
  /** the finding the conversation is currently about, so "block it" resolves */
  findingId: string | null;
  /** the ask of the last turn, so "and the other one?" repeats it */
  intent?: string | null;
  /** the findings the last turn listed or chose among */
  candidates?: string[];
  /** the last few exchanges as text, for the Claude loop's context */
  history?: Array<{ role: 'user' | 'assistant'; text: string }>;
  /** ms since the epoch of the last turn */
  updatedAt: number;
}

export interface ConversationStore {
  /** the state, unless it is unknown or older than the store's time to live at `nowMs` */
  get(key: ConversationKey, nowMs: number): Promise<ConversationState | undefined>;
  set(key: ConversationKey, state: ConversationState): Promise<void>;
}

/** The in-memory store, with its size for tests. */
export interface MemoryConversationStore extends ConversationStore {
  readonly size: number;
}

export interface ConversationKey {
  tenantId: string;
  userId: string;
  conversationId: string;
}

export interface ConversationLimits {
  maxConversations: number;
  ttlMs: number;
}

export function createConversationStore({ maxConversations, ttlMs }: ConversationLimits): MemoryConversationStore {
  const states = new Map<string, ConversationState>();
  // JSON keeps distinct triples distinct whatever characters the ids hold
  const keyOf = (k: ConversationKey): string => JSON.stringify([k.tenantId, k.userId, k.conversationId]);
  return {
    async get(key, nowMs) {
      const k = keyOf(key);
      const state = states.get(k);
      if (state !== undefined && nowMs - state.updatedAt > ttlMs) {
        states.delete(k);
        return undefined;
      }
      if (state !== undefined) {
        // Map keeps insertion order: re-inserting marks it most recently used
        states.delete(k);
        states.set(k, state);
      }
      return state;
    },
    async set(key, state) {
      const k = keyOf(key);
      states.delete(k);
      states.set(k, state);
      while (states.size > maxConversations) {
        const oldest = states.keys().next().value;
        if (oldest === undefined) break;
        states.delete(oldest);
      }
    },
    get size() {
      return states.size;
    },
  };
}
