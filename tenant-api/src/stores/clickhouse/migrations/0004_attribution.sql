-- Attribution (issue 5): token usage per tenant × day × provider × model × user ×
-- workload, for the cost report, summed as parts merge (readers always sum()).
-- 18.16 has no ADD COLUMN IF NOT EXISTS and no nullable sorting keys: this is a
-- new rollup fed by a materialized view, with '' for an absent model, user or
-- workload. The token counts come from the stored call's `usage` object, whose
-- keys appear nowhere else in the JSON (observed text is escaped inside strings).
-- Calls stored before this migration are not in the rollup.

CREATE TABLE IF NOT EXISTS llm_usage_daily (
  tenant_id String,
  day Date,
  provider String,
  model String,
  user_id String,
  namespace String,
  app String,
  calls UInt64,
  calls_without_usage UInt64,
  input_tokens UInt64,
  output_tokens UInt64,
  cached_tokens UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (tenant_id, day, provider, model, user_id, namespace, app)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS llm_usage_daily_mv TO llm_usage_daily AS
SELECT tenant_id, toDate(ts) AS day, provider, ifNull(model, '') AS model, ifNull(user_id, '') AS user_id,
       ifNull(namespace, '') AS namespace, ifNull(app, '') AS app,
       count() AS calls,
       countIf(position(body, '"usage":null') > 0) AS calls_without_usage,
       sum(visitParamExtractUInt(body, 'inputTokens')) AS input_tokens,
       sum(visitParamExtractUInt(body, 'outputTokens')) AS output_tokens,
       sum(visitParamExtractUInt(body, 'cachedTokens')) AS cached_tokens
FROM llm_calls GROUP BY tenant_id, day, provider, model, user_id, namespace, app
