-- Attribution (issue 5): sessions stitched across hops, MCP tool calls in
-- sessions and user timelines, and the indexes the attribution reads use.

-- How the session's user is known (header, jwt, baggage, provider_field, trace)
-- and how many MCP tool calls it made (call_count counts LLM calls).
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS user_source text;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS tool_call_count bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS sessions_by_last_seen ON sessions (tenant_id, last_seen DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (tenant_id, user_id, last_seen DESC);

-- The user of a W3C trace: the first observation in the trace that carried a
-- user of its own. Later hops of the same trace without one inherit it
-- (userSource 'trace'), whichever scanner saw them.
CREATE TABLE IF NOT EXISTS trace_users (
  tenant_id text NOT NULL,
  trace_id text NOT NULL,
  user_id text NOT NULL,
  user_source text NOT NULL,
  first_seen timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, trace_id)
);

-- Embedded telemetry: the tool call's user, and lookups by user and session.
ALTER TABLE tool_calls ADD COLUMN IF NOT EXISTS user_id text;
CREATE INDEX IF NOT EXISTS tool_calls_by_session ON tool_calls (tenant_id, session_id, ts);
CREATE INDEX IF NOT EXISTS tool_calls_by_user ON tool_calls (tenant_id, user_id, ts);
CREATE INDEX IF NOT EXISTS llm_calls_by_user ON llm_calls (tenant_id, user_id, ts);
CREATE INDEX IF NOT EXISTS decisions_by_session ON decisions (tenant_id, session_id, ts);
