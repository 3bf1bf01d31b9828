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

-- Sources (SPEC §6). A source's columns, as the admin API and the store read them.
-- name: insert_source
WITH s AS (
    INSERT INTO sources
        (id, tenant_id, name, provider, token, require_api_key, tolerance_seconds, dedup_seconds)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    RETURNING *
), secret AS (
    INSERT INTO source_secrets (id, source_id, ciphertext)
    SELECT $9, s.id, $10 FROM s
    RETURNING id
)
SELECT s.* FROM s, secret;

-- name: get_source
SELECT * FROM sources WHERE id = $1 AND tenant_id = $2;

-- name: source_owner
SELECT tenant_id FROM sources WHERE id = $1;

-- name: source_secrets
SELECT id, source_id, created_at, expires_at FROM source_secrets
WHERE source_id = ANY($1::uuid[])
ORDER BY created_at, id;

-- name: count_sources
SELECT count(*) FROM sources
WHERE tenant_id = $1 AND ($2::boolean IS NULL OR (deactivated_at IS NULL) = $2);

-- name: list_sources
SELECT * FROM sources
WHERE tenant_id = $1 AND ($2::boolean IS NULL OR (deactivated_at IS NULL) = $2)
ORDER BY {order_by}
LIMIT $3 OFFSET $4;

-- name: patch_source
UPDATE sources SET
    name = coalesce($3, name),
    require_api_key = coalesce($4, require_api_key),
    tolerance_seconds = coalesce($5, tolerance_seconds),
    dedup_seconds = coalesce($6, dedup_seconds)
WHERE id = $1 AND tenant_id = $2 AND deactivated_at IS NULL
RETURNING *;

-- Older secrets end at now + overlap, never later than they already would ($5: overlap seconds).
-- name: rotate_source_secret
WITH s AS (
    SELECT id FROM sources
    WHERE id = $1 AND tenant_id = $2 AND deactivated_at IS NULL
    FOR UPDATE
), ended AS (
    UPDATE source_secrets SET expires_at = now() + make_interval(secs => $5)
    WHERE source_id IN (SELECT id FROM s)
      AND (expires_at IS NULL OR expires_at > now() + make_interval(secs => $5))
    RETURNING id
), secret AS (
    INSERT INTO source_secrets (id, source_id, ciphertext)
    SELECT $3, s.id, $4 FROM s
    RETURNING id
)
SELECT s.id FROM s, secret;

-- name: deactivate_source
UPDATE sources SET deactivated_at = now()
WHERE id = $1 AND tenant_id = $2 AND deactivated_at IS NULL
RETURNING *;

-- A tenant's active sources with their unexpired secrets, one row per secret; no row at all
-- means no such tenant (a tenant without sources gives one row of NULL source columns).
-- read_at orders two reads of one set in Redis (gateway.l2): the statement's start, just before
-- its snapshot.
-- name: lookup_tenant_sources
SELECT extract(epoch FROM statement_timestamp())::float8 AS read_at, t.is_active, s.id AS source_id, s.token, s.provider, s.require_api_key,
       s.tolerance_seconds, s.dedup_seconds,
       k.id AS secret_id, k.ciphertext, extract(epoch FROM k.expires_at)::float8 AS expires_at
FROM tenants t
LEFT JOIN sources s ON s.tenant_id = t.id AND s.deactivated_at IS NULL
LEFT JOIN source_secrets k
       ON k.source_id = s.id AND (k.expires_at IS NULL OR k.expires_at > now())
WHERE t.id = $1
ORDER BY s.id, k.created_at, k.id;
