-- State and embedded telemetry for the walking skeleton. Every table carries
-- tenant_id first in its key: every query filters on it.

CREATE TABLE tenants (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE principals (
  tenant_id text NOT NULL REFERENCES tenants (id),
  id text NOT NULL,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('human', 'agent', 'scanner')),
  role text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- sha256 of the bearer token only; the raw token is shown once and never stored.
CREATE TABLE api_tokens (
  token_hash text PRIMARY KEY,
  tenant_id text NOT NULL,
  principal_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id)
);

CREATE TABLE governance_baseline (
  tenant_id text NOT NULL REFERENCES tenants (id),
  kind text NOT NULL CHECK (kind IN ('namespace', 'provider')),
  value text NOT NULL,
  PRIMARY KEY (tenant_id, kind, value)
);

CREATE TABLE assets (
  tenant_id text NOT NULL,
  id text NOT NULL,
  domain text NOT NULL,
  kind text NOT NULL,
  name text NOT NULL,
  namespace text,
  app text,
  governance text NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  call_count bigint NOT NULL DEFAULT 0,
  attributes jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX assets_by_seen ON assets (tenant_id, last_seen DESC, id DESC);

CREATE TABLE findings (
  tenant_id text NOT NULL,
  id text NOT NULL,
  category text NOT NULL,
  severity text NOT NULL,
  -- 0 critical … 3 low: the sort key for "most severe first"
  severity_rank smallint NOT NULL,
  status text NOT NULL,
  title text NOT NULL,
  asset_id text NOT NULL,
  detector text NOT NULL,
  count bigint NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  namespace text,
  app text,
  evidence jsonb NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, asset_id, detector)
);
CREATE INDEX findings_by_rank ON findings (tenant_id, severity_rank, last_seen DESC, id DESC);

CREATE TABLE rules (
  tenant_id text NOT NULL,
  id text NOT NULL,
  name text NOT NULL,
  action text NOT NULL,
  match jsonb NOT NULL,
  enabled boolean NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  source_finding_id text,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE quarantines (
  tenant_id text NOT NULL,
  id text NOT NULL,
  namespace text NOT NULL,
  reason text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  active boolean NOT NULL,
  released_at timestamptz,
  enforcement text NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE sessions (
  tenant_id text NOT NULL,
  id text NOT NULL,
  trace_id text,
  user_id text,
  namespace text,
  app text,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  call_count bigint NOT NULL,
  verdict text NOT NULL DEFAULT 'allow',
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE proposals (
  tenant_id text NOT NULL,
  id text NOT NULL,
  tool text NOT NULL,
  args jsonb NOT NULL,
  args_hash text NOT NULL,
  title text NOT NULL,
  rationale text NOT NULL,
  finding_id text,
  status text NOT NULL,
  proposed_by text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  decided_by text,
  decided_at timestamptz,
  result jsonb,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE audit_log (
  tenant_id text NOT NULL,
  seq bigint NOT NULL,
  id text NOT NULL,
  ts timestamptz NOT NULL,
  -- the ISO text the hash was computed over, so verification never depends on timestamp formatting
  ts_text text NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  details jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

-- One row per tenant, locked FOR UPDATE while appending: concurrent writers queue
-- instead of forking the chain.
CREATE TABLE audit_heads (
  tenant_id text PRIMARY KEY,
  seq bigint NOT NULL,
  hash text NOT NULL
);

CREATE TABLE policy_versions (
  tenant_id text PRIMARY KEY,
  version bigint NOT NULL
);

CREATE TABLE compliance_packs (
  tenant_id text NOT NULL,
  id text NOT NULL,
  generated_at timestamptz NOT NULL,
  generated_by text NOT NULL,
  range_from timestamptz NOT NULL,
  range_to timestamptz NOT NULL,
  digest text NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

-- Telemetry (the embedded TelemetryStore): the scanner's observations as sent,
-- plus the columns queries filter and group on.
CREATE TABLE llm_calls (
  tenant_id text NOT NULL,
  id text NOT NULL,
  scanner_id text NOT NULL,
  ts timestamptz NOT NULL,
  provider text NOT NULL,
  model text,
  host text NOT NULL,
  namespace text,
  app text,
  session_id text NOT NULL,
  user_id text,
  verdict text NOT NULL,
  status integer NOT NULL,
  injection_score real NOT NULL,
  pii_types text[] NOT NULL,
  body jsonb NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX llm_calls_by_ts ON llm_calls (tenant_id, ts);
CREATE INDEX llm_calls_by_session ON llm_calls (tenant_id, session_id, ts);

CREATE TABLE tool_calls (
  tenant_id text NOT NULL,
  id text NOT NULL,
  scanner_id text NOT NULL,
  ts timestamptz NOT NULL,
  host text NOT NULL,
  method text NOT NULL,
  tool_name text,
  namespace text,
  app text,
  session_id text NOT NULL,
  verdict text NOT NULL,
  body jsonb NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tool_calls_by_ts ON tool_calls (tenant_id, ts);

CREATE TABLE decisions (
  tenant_id text NOT NULL,
  id text NOT NULL,
  scanner_id text NOT NULL,
  ts timestamptz NOT NULL,
  call_id text,
  rule_id text,
  action text NOT NULL,
  primitive text NOT NULL,
  session_id text,
  body jsonb NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX decisions_by_ts ON decisions (tenant_id, ts);
