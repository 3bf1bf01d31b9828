-- The source-set lookup and rotation find a source's secrets by source_id; the admin list pages
-- a tenant's sources. Without these both scan whole tables as sources accumulate.
CREATE INDEX source_secrets_source_idx ON source_secrets (source_id, created_at, id);
CREATE INDEX sources_tenant_created_idx ON sources (tenant_id, created_at, id);
