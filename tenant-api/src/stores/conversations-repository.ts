import type { ConversationKey, ConversationState, ConversationStore } from '@higgs/agent';
import type { SqlClient } from './sql-client.ts';

/**
 * The agent's conversations in the state store: per tenant, user and
 * conversation id, forgotten once idle longer than `ttlMs` (read as missing,
 * deleted with the user's next write).
 */
export function createSqlConversationStore(db: SqlClient, { ttlMs }: { ttlMs: number }): ConversationStore {
  return {
    async get(key: ConversationKey, nowMs: number): Promise<ConversationState | undefined> {
      const { rows } = await db.query<{ state: ConversationState }>(
        `SELECT state FROM agent_conversations
          WHERE tenant_id = $1 AND user_id = $2 AND conversation_id = $3 AND updated_at >= $4::timestamptz`,
        [key.tenantId, key.userId, key.conversationId, new Date(nowMs - ttlMs).toISOString()],
      );
      return rows[0]?.state;
    },
    async set(key: ConversationKey, state: ConversationState): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query(
          'DELETE FROM agent_conversations WHERE tenant_id = $1 AND user_id = $2 AND updated_at < $3::timestamptz',
          [key.tenantId, key.userId, new Date(state.updatedAt - ttlMs).toISOString()],
        );
        await tx.query(
          `INSERT INTO agent_conversations (tenant_id, user_id, conversation_id, state, updated_at)
           VALUES ($1, $2, $3, $4::jsonb, $5::timestamptz)
           ON CONFLICT (tenant_id, user_id, conversation_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
          [key.tenantId, key.userId, key.conversationId, JSON.stringify(state), new Date(state.updatedAt).toISOString()],
        );
      });
    },
  };
}
