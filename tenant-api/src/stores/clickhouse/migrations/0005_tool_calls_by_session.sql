-- Session replay (issue 5) reads one session's tool calls: with tool_calls ordered by
-- (tenant_id, ts_ms, id) that read scanned every tool call of the tenant in the session's time
-- range. This re-creates the table ordered like llm_calls, by (tenant_id, session_id, ts_ms, id),
-- with llm_calls' 1024-row granules (a tool call's body carries its input and output).
-- 18.16 cannot ALTER ORDER BY: create the new table, copy, swap the names, copy what the old table
-- received meanwhile, drop it. Every statement is safe to run again from any point of an
-- interrupted run (the runner re-runs the migration whole until it records it):
--  * the first three statements finish a run interrupted after the swap (tool_calls_by_time exists
--    and is the old table): what it holds that tool_calls lacks is copied, then it is dropped;
--    on a first run they create, read and drop an empty table;
--  * the copies skip rows already copied ((tenant_id, id) is the event's identity), so an
--    interrupted INSERT … SELECT is completed, not doubled;
--  * rows another replica writes to the old table between the copy and the swap are copied by
--    the statement after the swap.
-- Same rules as 0001: runs on 18.16 and current releases, day partitions.

CREATE TABLE IF NOT EXISTS tool_calls_by_time AS tool_calls
;
INSERT INTO tool_calls
SELECT * FROM tool_calls_by_time WHERE (tenant_id, id) NOT IN (SELECT tenant_id, id FROM tool_calls)
;
DROP TABLE IF EXISTS tool_calls_by_time
;
CREATE TABLE IF NOT EXISTS tool_calls_by_session (
  tenant_id String,
  ts DateTime,
  ts_ms Int64,
  id String,
  scanner_id String,
  host String,
  method String,
  tool_name Nullable(String),
  namespace Nullable(String),
  app Nullable(String),
  session_id String,
  verdict String,
  body String
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (tenant_id, session_id, ts_ms, id)
SETTINGS index_granularity = 1024
;
INSERT INTO tool_calls_by_session
SELECT * FROM tool_calls WHERE (tenant_id, id) NOT IN (SELECT tenant_id, id FROM tool_calls_by_session)
;
RENAME TABLE tool_calls TO tool_calls_by_time, tool_calls_by_session TO tool_calls
;
INSERT INTO tool_calls
SELECT * FROM tool_calls_by_time WHERE (tenant_id, id) NOT IN (SELECT tenant_id, id FROM tool_calls)
;
DROP TABLE IF EXISTS tool_calls_by_time
