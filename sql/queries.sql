-- Named queries. `gateway.db.QUERIES[name]` is the text below its `-- name:` line.
-- Sort fields are inserted from a fixed mapping in admin_api/store.py, never from client input.

-- name: tenant_is_active
SELECT is_active FROM tenants WHERE id = $1;

-- name: insert_tenant
INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, is_active, created_at;

-- name: list_tenants
SELECT id, name, is_active, created_at FROM tenants ORDER BY created_at, id;

-- name: deactivate_tenant
UPDATE tenants SET is_active = false WHERE id = $1 RETURNING id;

-- name: tenant_active_keys
SELECT id, key_hash FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL;

-- name: insert_key
INSERT INTO api_keys (id, tenant_id, name, key_hash)
VALUES ($1, $2, $3, $4)
RETURNING id, name, created_at, revoked_at;

-- name: count_keys
SELECT count(*) FROM api_keys
WHERE tenant_id = $1 AND ($2::boolean IS NULL OR (revoked_at IS NULL) = $2);

-- name: list_keys
SELECT id, name, created_at, revoked_at FROM api_keys
WHERE tenant_id = $1 AND ($2::boolean IS NULL OR (revoked_at IS NULL) = $2)
ORDER BY {order_by}
LIMIT $3 OFFSET $4;

-- name: revoke_key
UPDATE api_keys SET revoked_at = now()
WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL
RETURNING id, name, created_at, revoked_at, key_hash;

-- name: key_owner
SELECT tenant_id FROM api_keys WHERE id = $1;

-- name: lookup_key
SELECT k.id, k.tenant_id, (k.revoked_at IS NOT NULL OR NOT t.is_active) AS revoked
FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.key_hash = $1;

-- `serve` refuses to start without HOOKSENTRY_SECRETS_KEY once this is true (SPEC §6); the
-- table is looked up first so that a database not yet migrated reads as "no sources".
-- name: sources_table_exists
SELECT to_regclass('sources') IS NOT NULL;

-- name: any_source
SELECT EXISTS (SELECT 1 FROM sources);

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- name: applied_migrations
SELECT version FROM schema_migrations;

-- name: record_migration
INSERT INTO schema_migrations (version) VALUES ($1);

-- name: lock_migrations
SELECT pg_advisory_lock($1);

-- name: unlock_migrations
SELECT pg_advisory_unlock($1);
