-- The agent's conversations, per tenant, user and conversation id, so a
-- follow-up ("block it") still resolves after the tenant restarts. The state
-- is the agent's own small JSON (the finding in question, the last ask, the
-- last few exchanges); rows idle longer than the agent's time to live are
-- deleted when the user's next turn is stored.
CREATE TABLE agent_conversations (
  tenant_id text NOT NULL,
  user_id text NOT NULL,
  conversation_id text NOT NULL,
  state jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, user_id, conversation_id)
);
CREATE INDEX agent_conversations_by_age ON agent_conversations (tenant_id, user_id, updated_at);
