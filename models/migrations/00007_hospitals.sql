-- +goose Up

-- Cohorts: an org admin's group of staff to certify in one course by a due date.
CREATE TABLE cohorts (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    course_code    text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    offering       text NOT NULL CHECK (offering IN ('initial', 'renewal')),
    due_date       date NOT NULL,
    allow_self_pay boolean NOT NULL DEFAULT false, -- without a seat, an invitee may pay themselves
    archived_at    timestamptz,
    created_by     uuid NOT NULL REFERENCES users(id),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX cohorts_org_idx ON cohorts (org_id, created_at DESC, id);

-- One invitation per cohort and address. The link's token is signed and expiring (linktoken);
-- token_version moves on resend or revoke, so only the newest link works.
CREATE TABLE cohort_invitations (
    id             uuid PRIMARY KEY,
    cohort_id      uuid NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    org_id         uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email          citext NOT NULL,
    name           text,
    npi            char(10) CHECK (npi ~ '^[0-9]{10}$'),
    status         text NOT NULL DEFAULT 'invited'
                     CHECK (status IN ('invited', 'pending_approval', 'accepted', 'revoked')),
    token_version  integer NOT NULL DEFAULT 1,
    expires_at     timestamptz NOT NULL,
    user_id        uuid REFERENCES users(id),        -- who accepted
    enrollment_id  uuid REFERENCES enrollments(id),  -- the enrollment accepting created
    seat_used      boolean NOT NULL DEFAULT false,   -- it took a seat of the org's pool
    self_pay       boolean NOT NULL DEFAULT false,
    invited_by     uuid NOT NULL REFERENCES users(id),
    last_sent_at   timestamptz NOT NULL,
    accepted_at    timestamptz,
    revoked_at     timestamptz,
    created_at     timestamptz NOT NULL,
    CONSTRAINT cohort_invitations_email_key UNIQUE (cohort_id, email)
);
CREATE INDEX cohort_invitations_cohort_idx ON cohort_invitations (cohort_id, created_at, id);
CREATE INDEX cohort_invitations_user_idx ON cohort_invitations (user_id) WHERE user_id IS NOT NULL;

-- Due-date reminders to cohort members who have not completed: each kind once.
CREATE TABLE cohort_reminders (
    invitation_id uuid NOT NULL REFERENCES cohort_invitations(id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('due_in_7_days', 'due_today')),
    outbox_id     uuid REFERENCES outbox(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (invitation_id, kind)
);

-- Every verification an org made, single or bulk, with its signed receipt.
CREATE TABLE verifications (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id     uuid REFERENCES users(id),         -- the verifying user, or
    api_key_id  uuid REFERENCES org_api_keys(id),  -- the API key
    item_count  integer NOT NULL,
    npi_count   integer NOT NULL DEFAULT 0,
    results     jsonb NOT NULL,                    -- the readable results, in input order
    receipt     text NOT NULL,                     -- JWT signed with a receipt key
    created_at  timestamptz NOT NULL,
    CHECK (user_id IS NOT NULL OR api_key_id IS NOT NULL)
);
CREATE INDEX verifications_org_idx ON verifications (org_id, created_at DESC, id);

-- Which credentials a verification answered with, so a provider can see who verified them.
CREATE TABLE verification_subjects (
    verification_id uuid NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    credential_id   uuid NOT NULL REFERENCES credentials(id),
    user_id         uuid NOT NULL REFERENCES users(id),
    PRIMARY KEY (verification_id, credential_id)
);
CREATE INDEX verification_subjects_user_idx ON verification_subjects (user_id, verification_id);

-- Lookups by NPI per org and day, for the daily cap.
CREATE TABLE npi_lookups (
    org_id  uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    day     date NOT NULL,
    count   integer NOT NULL,
    PRIMARY KEY (org_id, day)
);

-- Providers an org watches, by NPI or by credential code (resolved to the holder).
CREATE TABLE watchlist (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    npi         char(10) CHECK (npi ~ '^[0-9]{10}$'),
    code        text,
    user_id     uuid REFERENCES users(id),   -- the holder, when known
    added_by    uuid,
    created_at  timestamptz NOT NULL,
    CHECK (npi IS NOT NULL OR code IS NOT NULL),
    CONSTRAINT watchlist_npi_key UNIQUE (org_id, npi),
    CONSTRAINT watchlist_code_key UNIQUE (org_id, code)
);
CREATE INDEX watchlist_user_idx ON watchlist (user_id) WHERE user_id IS NOT NULL;

-- The event feed of each org (kept 30 days): the id is the cursor.
CREATE TABLE org_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    type          text NOT NULL,
    credential_id uuid REFERENCES credentials(id),
    data          jsonb NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX org_events_org_idx ON org_events (org_id, id);
CREATE INDEX org_events_created_idx ON org_events (created_at);

-- Events of a credential that come from time passing (expiring, expired), emitted once.
CREATE TABLE credential_time_events (
    credential_id uuid NOT NULL REFERENCES credentials(id),
    type          text NOT NULL CHECK (type IN ('credential.expiring', 'credential.expired')),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (credential_id, type)
);

-- Webhook endpoints of an org; the signing secret is sealed with the master key.
CREATE TABLE webhooks (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    url             text NOT NULL,
    event_types     text[] NOT NULL,
    secret_sealed   bytea NOT NULL,
    disabled_at     timestamptz,
    disabled_reason text,
    failing_since   timestamptz,
    created_by      uuid NOT NULL REFERENCES users(id),
    created_at      timestamptz NOT NULL
);
CREATE INDEX webhooks_org_idx ON webhooks (org_id, created_at);

-- Each delivery attempt of an event to an endpoint.
CREATE TABLE webhook_deliveries (
    id            uuid PRIMARY KEY,
    webhook_id    uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id      bigint,        -- the org_events row; NULL for a test event
    event_type    text NOT NULL,
    attempt       integer NOT NULL,
    status        text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    response_code integer,
    error         text,
    duration_ms   integer NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);  -- the 30-day prune

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE credential_time_events;
DROP TABLE org_events;
DROP TABLE watchlist;
DROP TABLE npi_lookups;
DROP TABLE verification_subjects;
DROP TABLE verifications;
DROP TABLE cohort_reminders;
DROP TABLE cohort_invitations;
DROP TABLE cohorts;
