-- Principals and API tokens managed by admins, and the audit trail's query paths.
-- A token gets a public id (what list_principals shows and revoke_token takes:
-- never its hash), a label, who issued it, and a revocation stamp. A revoked
-- token stops authenticating at once; its row stays as evidence.
ALTER TABLE api_tokens ADD COLUMN id text;
-- existing tokens get an id that reveals nothing of their hash
UPDATE api_tokens SET id = 'tok_' || md5('higgs-token-id:' || token_hash) WHERE id IS NULL;
ALTER TABLE api_tokens ALTER COLUMN id SET NOT NULL;
ALTER TABLE api_tokens ADD COLUMN label text NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN created_by text;
ALTER TABLE api_tokens ADD COLUMN revoked_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN revoked_by text;
CREATE UNIQUE INDEX api_tokens_by_id ON api_tokens (tenant_id, id);

-- audit_log filters: by time (newest first) and by actor / target within a tenant
CREATE INDEX audit_log_by_ts ON audit_log (tenant_id, ts DESC, seq DESC);
CREATE INDEX audit_log_by_actor ON audit_log (tenant_id, actor, seq DESC);
CREATE INDEX audit_log_by_target ON audit_log (tenant_id, target, seq DESC);
