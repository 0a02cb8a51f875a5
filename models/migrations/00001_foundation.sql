-- +goose Up
CREATE EXTENSION IF NOT EXISTS citext;

-- Process-wide settings that must not change once set (e.g. the public URL at first issuance).
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id                 uuid PRIMARY KEY,
    email              citext NOT NULL UNIQUE,
    email_verified_at  timestamptz,
    password_hash      text NOT NULL,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_locked_at     timestamptz,
    profession         text,
    npi                char(10) UNIQUE CHECK (npi ~ '^[0-9]{10}$'),
    license_number     text,
    license_state      char(2),
    platform_role      text CHECK (platform_role IN ('admin')),
    totp_secret_enc    bytea,
    totp_enabled_at    timestamptz,
    totp_last_step     bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Single-use, expiring tokens sent by email (verify address, reset password).
-- Only a SHA-256 of the token is kept.
CREATE TABLE user_tokens (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash  bytea NOT NULL UNIQUE,
    email       citext NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_tokens_user_idx ON user_tokens (user_id, purpose);

-- Rotating refresh tokens. A family is one sign-in; presenting a used token revokes the family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    mfa         boolean NOT NULL DEFAULT false,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    user_agent  text NOT NULL DEFAULT '',
    client_ip   text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- Failed-login counters shared by every server. key is 'acct:<user or email>|ip:<addr>',
-- 'ip:<addr>' or 'acct:<user or email>'.
CREATE TABLE login_throttle (
    key           text PRIMARY KEY,
    failures      integer NOT NULL,
    window_start  timestamptz NOT NULL,
    last_failure  timestamptz NOT NULL
);

-- Signing keys, private halves encrypted with the master key. purpose keeps token kinds apart.
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    purpose      text NOT NULL CHECK (purpose IN ('access', 'credential', 'receipt')),
    alg          text NOT NULL,
    private_enc  bytea NOT NULL,
    public_jwk   jsonb NOT NULL,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz
);
CREATE INDEX signing_keys_purpose_idx ON signing_keys (purpose, created_at DESC);

CREATE TABLE orgs (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    approved_at  timestamptz,
    approved_by  uuid REFERENCES users(id),
    created_by   uuid NOT NULL REFERENCES users(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_members (
    org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    roles       text[] NOT NULL CHECK (cardinality(roles) > 0
                  AND roles <@ ARRAY['admin', 'verifier', 'instructor', 'member']::text[]),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user_idx ON org_members (user_id);

CREATE TABLE org_member_invitations (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email        citext NOT NULL,
    roles        text[] NOT NULL CHECK (cardinality(roles) > 0
                   AND roles <@ ARRAY['admin', 'verifier', 'instructor', 'member']::text[]),
    token_hash   bytea NOT NULL UNIQUE,
    invited_by   uuid NOT NULL REFERENCES users(id),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    accepted_by  uuid REFERENCES users(id),
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_member_invitations_org_idx ON org_member_invitations (org_id, created_at DESC);

CREATE TABLE org_api_keys (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix        text NOT NULL UNIQUE,
    secret_hash   bytea NOT NULL,
    scopes        text[] NOT NULL,
    created_by    uuid NOT NULL REFERENCES users(id),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_api_keys_org_idx ON org_api_keys (org_id);

-- Every email, recorded before it is sent. text/html hold the message with live tokens
-- replaced; sealed holds the full message encrypted with the master key until it is sent.
CREATE TABLE outbox (
    id          uuid PRIMARY KEY,
    to_addr     text NOT NULL,
    user_id     uuid REFERENCES users(id) ON DELETE SET NULL,
    subject     text NOT NULL,
    text_body   text NOT NULL,
    html_body   text NOT NULL,
    headers     jsonb NOT NULL DEFAULT '{}',
    sealed      bytea,
    status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'logged')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    sent_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_created_idx ON outbox (created_at DESC, id DESC);
CREATE INDEX outbox_user_idx ON outbox (user_id);

-- Who did what as a platform or org admin.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    actor_id    uuid REFERENCES users(id) ON DELETE SET NULL,
    action      text NOT NULL,
    object_type text NOT NULL,
    object_id   text NOT NULL,
    before      jsonb,
    after       jsonb,
    request_id  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id);

-- Stored responses for POSTs sent with an Idempotency-Key.
CREATE TABLE idempotency_keys (
    user_id       uuid NOT NULL,
    key           text NOT NULL,
    route         text NOT NULL,
    request_hash  bytea NOT NULL,
    status        integer,
    body          bytea,
    content_type  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, route, key)
);

-- +goose Down
DROP TABLE idempotency_keys, audit_log, outbox, org_api_keys, org_member_invitations,
    org_members, orgs, signing_keys, login_throttle, refresh_tokens, user_tokens, users, settings;

