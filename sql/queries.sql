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

-- A key's columns as the admin API shows them (never the hash), and the record's fields the
-- cache markers need (gateway.keyrecord: expires_at and read_at as Unix seconds; read_at is
-- taken after the row lock, so of two changes to one key the later has the later time).
-- name: insert_key
INSERT INTO api_keys (id, tenant_id, name, key_hash)
VALUES ($1, $2, $3, $4)
RETURNING id, name, created_at, revoked_at, expires_at, last_used_at, allowed_cidrs;

-- name: insert_key_with_lifecycle
INSERT INTO api_keys (id, tenant_id, name, key_hash, expires_at, allowed_cidrs)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, name, created_at, revoked_at, expires_at, last_used_at, allowed_cidrs;

-- "Active" is usable now: neither revoked nor expired (SPEC §8).
-- name: count_keys
SELECT count(*) FROM api_keys
WHERE tenant_id = $1
  AND ($2::boolean IS NULL
       OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) = $2);

-- name: list_keys
SELECT id, name, created_at, revoked_at, expires_at, last_used_at, allowed_cidrs FROM api_keys
WHERE tenant_id = $1
  AND ($2::boolean IS NULL
       OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) = $2)
ORDER BY {order_by}
LIMIT $3 OFFSET $4;

-- name: get_key
SELECT id, name, created_at, revoked_at, expires_at, last_used_at, allowed_cidrs FROM api_keys
WHERE id = $1 AND tenant_id = $2;

-- name: revoke_key
UPDATE api_keys SET revoked_at = now()
WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL
RETURNING id, name, created_at, revoked_at, expires_at, last_used_at, allowed_cidrs, key_hash;

-- $3 name or NULL (kept); $4 whether to set expires_at to $5; $6 whether to set allowed_cidrs
-- to $7 (NULL clears either).
-- name: patch_key
UPDATE api_keys SET
    name = coalesce($3, name),
    expires_at = CASE WHEN $4::boolean THEN $5::timestamptz ELSE expires_at END,
    allowed_cidrs = CASE WHEN $6::boolean THEN $7::cidr[] ELSE allowed_cidrs END
WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL
RETURNING id, tenant_id, name, created_at, revoked_at, expires_at, last_used_at, allowed_cidrs,
          key_hash, false AS revoked, extract(epoch FROM expires_at)::float8 AS expires_epoch,
          extract(epoch FROM clock_timestamp())::float8 AS read_at;

-- The rotated key ends at now + overlap ($3 seconds), never later than it already would.
-- name: end_key_for_rotation
UPDATE api_keys
SET expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => $3))
WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL
RETURNING id, tenant_id, name, created_at, revoked_at, expires_at, last_used_at, allowed_cidrs,
          key_hash, false AS revoked, extract(epoch FROM expires_at)::float8 AS expires_epoch,
          extract(epoch FROM clock_timestamp())::float8 AS read_at;

-- name: key_owner
SELECT tenant_id FROM api_keys WHERE id = $1;

-- On a streaming replica (gateway.recordcache's replica routing) the read time is that of the
-- last transaction it replayed, not its clock: a lagging replica's answer is as old as its data,
-- so it never outranks a newer marker in Redis (gateway.keyrecord).
-- name: lookup_key
SELECT k.id, k.tenant_id, (k.revoked_at IS NOT NULL OR NOT t.is_active) AS revoked,
       extract(epoch FROM k.expires_at)::float8 AS expires_at, k.allowed_cidrs,
       extract(epoch FROM CASE WHEN pg_is_in_recovery()
                               THEN least(statement_timestamp(),
                                          coalesce(pg_last_xact_replay_timestamp(), 'epoch'))
                               ELSE statement_timestamp() END)::float8 AS read_at
FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.key_hash = $1;

-- lastUsedAt, written in batches (gateway.lastused): one statement per flush; a key's value
-- only moves forward, and at most once a minute.
-- name: record_last_used
UPDATE api_keys AS k SET last_used_at = u.at
FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
WHERE k.id = u.id
  AND (k.last_used_at IS NULL OR k.last_used_at < u.at - interval '60 seconds');

-- name: insert_audit
INSERT INTO audit_log
    (id, tenant_id, actor, role, action, target_type, target_id, request_id, ip, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb);

-- name: count_audit
SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND ($2::text IS NULL OR action = $2);

-- name: list_audit
SELECT id, at, actor, role, action, target_type, target_id, request_id, ip, details::text
FROM audit_log
WHERE tenant_id = $1 AND ($2::text IS NULL OR action = $2)
ORDER BY {order_by}
LIMIT $3 OFFSET $4;

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
