-- The findings model (issue 5): governance transitions, the status note a person
-- leaves on a finding, who-calls-what edges for the topology, the destination
-- allowlist, and the embedded telemetry table for network flows.

-- Every governance change of an asset, in order: who, when, why.
CREATE TABLE governance_transitions (
  tenant_id text NOT NULL,
  asset_id text NOT NULL,
  seq bigserial,
  from_state text,
  to_state text NOT NULL,
  changed_by text NOT NULL,
  changed_at timestamptz NOT NULL,
  reason text NOT NULL,
  PRIMARY KEY (tenant_id, asset_id, seq)
);

ALTER TABLE findings ADD COLUMN status_by text;
ALTER TABLE findings ADD COLUMN status_at timestamptz;
ALTER TABLE findings ADD COLUMN status_reason text;
CREATE INDEX findings_by_asset ON findings (tenant_id, asset_id);

-- Who calls what, with counts: workload -> provider / model / MCP server, MCP server -> tool,
-- and workload -> destination seen only as a network flow.
CREATE TABLE asset_edges (
  tenant_id text NOT NULL,
  src_id text NOT NULL,
  dst_id text NOT NULL,
  kind text NOT NULL,
  count bigint NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, src_id, dst_id, kind)
);
CREATE INDEX asset_edges_by_dst ON asset_edges (tenant_id, dst_id);

-- Egress allowlist for access findings: a `destination` entry is a host, or `*.suffix`.
ALTER TABLE governance_baseline DROP CONSTRAINT IF EXISTS governance_baseline_kind_check;
ALTER TABLE governance_baseline ADD CONSTRAINT governance_baseline_kind_check
  CHECK (kind IN ('namespace', 'provider', 'destination'));

-- Telemetry (the embedded TelemetryStore): TCP connections seen by flow tracing.
CREATE TABLE network_flows (
  tenant_id text NOT NULL,
  id text NOT NULL,
  scanner_id text NOT NULL,
  ts timestamptz NOT NULL,
  namespace text,
  app text,
  dst_ip text NOT NULL,
  dst_port integer NOT NULL,
  dst_host text,
  provider text,
  body jsonb NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX network_flows_by_ts ON network_flows (tenant_id, ts);
