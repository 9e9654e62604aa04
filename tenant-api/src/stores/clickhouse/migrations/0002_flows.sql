-- Network flows (issue 5): TCP connections seen by flow tracing, with no payload.
-- Same rules as 0001: runs on 18.16 and current releases, day partitions.
CREATE TABLE IF NOT EXISTS network_flows (
  tenant_id String,
  ts DateTime,
  ts_ms Int64,
  id String,
  scanner_id String,
  namespace Nullable(String),
  app Nullable(String),
  dst_ip String,
  dst_port UInt16,
  dst_host Nullable(String),
  provider Nullable(String),
  body String
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (tenant_id, ts_ms, id)
