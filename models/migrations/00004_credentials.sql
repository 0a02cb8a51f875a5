-- +goose Up

-- Credentials this issuer granted: one per completed enrollment. Expiry is not a status: a
-- credential reads "expired" when valid_until has passed (computed at read time).
CREATE TABLE credentials (
    id                 uuid PRIMARY KEY,
    enrollment_id      uuid NOT NULL UNIQUE REFERENCES enrollments(id),
    user_id            uuid NOT NULL REFERENCES users(id),
    course_code        text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    code               text NOT NULL UNIQUE,
    holder_name        text NOT NULL,
    edition            text NOT NULL,
    guideline_edition  text NOT NULL,
    ce_credits         numeric,
    ce_approval_code   text,
    assessment         jsonb NOT NULL,  -- {"exam": "online-unproctored", "skills_check"?: {"instructor", "org"}}
    email_salt         text NOT NULL,   -- salt of the hashed email in the VC, fixed per credential
    issued_on          date NOT NULL,
    awarded_on         date NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_through      date NOT NULL,
    valid_until        timestamptz NOT NULL,
    renews             uuid REFERENCES credentials(id),
    revocation_list    integer NOT NULL,
    revocation_index   integer NOT NULL CHECK (revocation_index >= 0),
    suspension_list    integer NOT NULL,
    suspension_index   integer NOT NULL CHECK (suspension_index >= 0),
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'suspended', 'superseded')),
    superseded_by      uuid REFERENCES credentials(id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credentials_revocation_slot_key UNIQUE (revocation_list, revocation_index),
    CONSTRAINT credentials_suspension_slot_key UNIQUE (suspension_list, suspension_index)
);
-- Lookups by code use the unique index of code.
CREATE INDEX credentials_user_idx ON credentials (user_id, course_code, valid_through DESC);
CREATE INDEX credentials_renews_idx ON credentials (renews) WHERE renews IS NOT NULL;

-- +goose Down
DROP TABLE credentials;
