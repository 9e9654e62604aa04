-- Issue 4: kernel enforcement wired end to end.

-- Who lifted a quarantine and why (the order is already in created_by / reason).
ALTER TABLE quarantines ADD COLUMN IF NOT EXISTS released_by text;
ALTER TABLE quarantines ADD COLUMN IF NOT EXISTS release_reason text;

-- kill_session orders. A session may be killed before the tenant has stored
-- any of its calls (a stream is recorded when it ends), so this is not a
-- column of `sessions`.
CREATE TABLE session_kills (
  tenant_id text NOT NULL,
  session_id text NOT NULL,
  reason text NOT NULL,
  killed_by text NOT NULL,
  killed_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, session_id)
);

-- What the scanners' kernels did, by event id: a re-sent batch is audited once.
CREATE TABLE kernel_enforcements (
  tenant_id text NOT NULL,
  id text NOT NULL,
  scanner_id text NOT NULL,
  ts timestamptz NOT NULL,
  primitive text NOT NULL,
  target text NOT NULL,
  count bigint NOT NULL,
  latency_us double precision NOT NULL,
  ordered_by text,
  PRIMARY KEY (tenant_id, id)
);
