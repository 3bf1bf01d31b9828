CREATE TABLE sources (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    provider          text NOT NULL,
    token             text NOT NULL,
    require_api_key   boolean NOT NULL DEFAULT false,
    tolerance_seconds integer NOT NULL DEFAULT 300,
    dedup_seconds     integer NOT NULL DEFAULT 600,
    created_at        timestamptz NOT NULL DEFAULT now(),
    deactivated_at    timestamptz
);
CREATE UNIQUE INDEX sources_active_token_idx ON sources (tenant_id, token) WHERE deactivated_at IS NULL;
CREATE TABLE source_secrets (
    id          uuid PRIMARY KEY,
    source_id   uuid NOT NULL REFERENCES sources (id),
    ciphertext  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
