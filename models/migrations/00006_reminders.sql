-- +goose Up

-- Whether the holder wants renewal reminder emails (PATCH /v1/me, or the unsubscribe link).
ALTER TABLE users ADD COLUMN reminder_emails boolean NOT NULL DEFAULT true;

-- One row per reminder a credential is due: the intent, recorded before anything is sent. The
-- unique (credential, offset) makes each reminder go out at most once however many scanners
-- run; the outbox row it points to says whether it was delivered.
CREATE TABLE reminders (
    id            uuid PRIMARY KEY,
    credential_id uuid NOT NULL REFERENCES credentials(id),
    user_id       uuid NOT NULL REFERENCES users(id),
    offset_days   integer NOT NULL,   -- days before valid_through; negative after it
    due_on        date NOT NULL,      -- valid_through - offset_days, on the issuer's calendar
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'queued', 'skipped')),
    skip_reason   text,               -- why a pending reminder was not sent after all
    outbox_id     uuid REFERENCES outbox(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL,
    queued_at     timestamptz,
    CONSTRAINT reminders_credential_offset_key UNIQUE (credential_id, offset_days)
);
CREATE INDEX reminders_pending_idx ON reminders (created_at) WHERE status = 'pending';

-- Each completed reminder scan: the days it covered. The next scan starts after the last day
-- covered, so days the service was down are scanned late rather than skipped.
CREATE TABLE reminder_scans (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_day    date NOT NULL,
    through_day date NOT NULL,
    found       integer NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL
);

-- The scan reads active credentials by expiry day.
CREATE INDEX credentials_active_through_idx ON credentials (valid_through) WHERE status = 'active';

-- One weekly digest per org admin: the unique key makes a second run of the same week a no-op.
CREATE TABLE org_digests (
    org_id     uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    week_of    date NOT NULL,          -- the Monday of the week, on the issuer's calendar
    outbox_id  uuid REFERENCES outbox(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_id, week_of)
);

-- Browser sessions of platform admins for the jobs dashboard (/admin/jobs): the cookie holds a
-- random token, stored here only as its SHA-256.
CREATE TABLE admin_sessions (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expires_idx ON admin_sessions (expires_at);

-- +goose Down
DROP TABLE admin_sessions;
DROP TABLE org_digests;
DROP INDEX credentials_active_through_idx;
DROP TABLE reminder_scans;
DROP TABLE reminders;
ALTER TABLE users DROP COLUMN reminder_emails;
