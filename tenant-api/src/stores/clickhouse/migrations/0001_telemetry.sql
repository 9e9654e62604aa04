-- Telemetry on ClickHouse. Written for 18.16 (Debian's server) and current
-- releases alike: DateTime (seconds) for partitioning plus ts_ms for order and
-- exact ranges (no DateTime64 in 18.16), plain MergeTree, no skip indexes, no
-- LowCardinality. Partitions are days: retention drops whole partitions.
-- Statements are separated by a line holding only `;` (the HTTP interface runs one at a time).

CREATE TABLE IF NOT EXISTS llm_calls (
  tenant_id String,
  session_id String,
  ts DateTime,
  ts_ms Int64,
  id String,
  scanner_id String,
  provider String,
  model Nullable(String),
  host String,
  namespace Nullable(String),
  app Nullable(String),
  user_id Nullable(String),
  verdict String,
  status Int32,
  injection_score Float32,
  pii_types Array(String),
  body String
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (tenant_id, session_id, ts_ms, id)
-- Session replay reads one session: every granule it touches decompresses `body` (~1 KB a call) for
-- all of its rows. 1024 rows a granule instead of 8192: replay p95 29 ms instead of 125 ms with 2 M
-- calls on 18.16 (evals/src/bench/tenant-scale.bench.ts); the primary index grows 8x, ~1 MB per 1 G rows.
SETTINGS index_granularity = 1024
;
CREATE TABLE IF NOT EXISTS tool_calls (
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
ORDER BY (tenant_id, ts_ms, id)
;
CREATE TABLE IF NOT EXISTS decisions (
  tenant_id String,
  ts DateTime,
  ts_ms Int64,
  id String,
  scanner_id String,
  call_id Nullable(String),
  rule_id Nullable(String),
  action String,
  primitive String,
  session_id Nullable(String),
  body String
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (tenant_id, ts_ms, id)
;
-- Rollups for the Briefing's counts: summed per tenant × day as parts merge;
-- readers always sum() (a SummingMergeTree may hold unmerged rows).
CREATE TABLE IF NOT EXISTS llm_calls_daily (
  tenant_id String,
  day Date,
  provider String,
  calls UInt64,
  blocked UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (tenant_id, day, provider)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS llm_calls_daily_mv TO llm_calls_daily AS
SELECT tenant_id, toDate(ts) AS day, provider, count() AS calls, countIf(verdict = 'block') AS blocked
FROM llm_calls GROUP BY tenant_id, day, provider
;
CREATE TABLE IF NOT EXISTS decisions_daily (
  tenant_id String,
  day Date,
  action String,
  decisions UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (tenant_id, day, action)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS decisions_daily_mv TO decisions_daily AS
SELECT tenant_id, toDate(ts) AS day, action, count() AS decisions
FROM decisions GROUP BY tenant_id, day, action
