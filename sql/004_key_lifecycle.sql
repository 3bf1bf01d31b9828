-- Keys with a lifecycle (SPEC §8): an expiry, the last use (written in batches, never on the
-- request path), the sender addresses a key is pinned to (NULL = any).
ALTER TABLE api_keys
    ADD COLUMN expires_at    timestamptz,
    ADD COLUMN last_used_at  timestamptz,
    ADD COLUMN allowed_cidrs cidr[];

-- Who changed what. Written in the same transaction as each change; no API updates or deletes it.
CREATE TABLE audit_log (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    role         text,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    request_id   text,
    ip           text,
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at DESC, id DESC);
