-- +goose Up

-- Question banks. Items are data: loaded from content/banks by seed and importable by admins.
-- A retired item is kept for history (attempts refer to it) and never drawn again.
CREATE TABLE items (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Z]{2,10}-[A-Za-z0-9-]{1,40}$'),
    course_code  text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    domain       text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('single', 'multiple')),
    stem         text NOT NULL,
    vitals       jsonb,           -- {hr, bp, spo2, etco2, rhythm, peak_airway_pressure, text}
    options      jsonb NOT NULL,  -- [{"id", "text"}]
    correct      text[] NOT NULL CHECK (cardinality(correct) > 0),
    rationale    text NOT NULL,
    retired_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_live_idx ON items (course_code, domain) WHERE retired_at IS NULL;

-- Exam time accommodations: every later attempt's time limit is multiplied.
CREATE TABLE accommodations (
    user_id     uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    multiplier  numeric(3,2) NOT NULL CHECK (multiplier >= 1 AND multiplier <= 4),
    reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    granted_by  uuid NOT NULL REFERENCES users(id),
    granted_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE attempts (
    id               uuid PRIMARY KEY,
    enrollment_id    uuid NOT NULL REFERENCES enrollments(id),
    user_id          uuid NOT NULL REFERENCES users(id),
    course_code      text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    number           integer NOT NULL CHECK (number >= 1),
    status           text NOT NULL DEFAULT 'in_progress' CHECK (status IN ('in_progress', 'graded')),
    -- The form: items in order, each with its options in order: [{"item_id", "options": [...]}].
    form             jsonb NOT NULL,
    time_multiplier  numeric(3,2) NOT NULL DEFAULT 1,
    started_at       timestamptz NOT NULL,
    deadline         timestamptz NOT NULL,
    attested_at      timestamptz NOT NULL,  -- the honor attestation
    client_ip        text NOT NULL DEFAULT '',
    user_agent       text NOT NULL DEFAULT '',
    submitted_at     timestamptz,           -- null when graded at the deadline by the job
    graded_at        timestamptz,
    correct          integer,
    total            integer,
    score            numeric(5,2),          -- percent
    pass_mark        integer,
    passed           boolean,
    domains          jsonb,                 -- [{"domain", "correct", "total"}]
    flagged          boolean NOT NULL DEFAULT false,
    flag_reasons     text[] NOT NULL DEFAULT '{}',
    UNIQUE (enrollment_id, number)
);
-- One attempt in progress per enrollment, whoever wins a race.
CREATE UNIQUE INDEX attempts_one_open_idx ON attempts (enrollment_id) WHERE status = 'in_progress';
CREATE INDEX attempts_open_deadline_idx ON attempts (deadline) WHERE status = 'in_progress';
CREATE INDEX attempts_user_course_idx ON attempts (user_id, course_code);
CREATE INDEX attempts_flagged_idx ON attempts (graded_at DESC) WHERE flagged;

-- Autosaved answers: one row per item, overwritten by each save.
CREATE TABLE attempt_answers (
    attempt_id   uuid NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    item_id      text NOT NULL REFERENCES items(id),
    choices      text[] NOT NULL,
    answered_at  timestamptz NOT NULL,
    client_ip    text NOT NULL DEFAULT '',
    correct      boolean,  -- set at grading
    PRIMARY KEY (attempt_id, item_id)
);
CREATE INDEX attempt_answers_item_idx ON attempt_answers (item_id) WHERE correct IS NOT NULL;

-- Hands-on skills checks (courses that need one), attested by an instructor of an approved org.
CREATE TABLE skills_checks (
    enrollment_id  uuid PRIMARY KEY REFERENCES enrollments(id),
    org_id         uuid NOT NULL REFERENCES orgs(id),
    instructor_id  uuid NOT NULL REFERENCES users(id),
    passed         boolean NOT NULL,
    notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    attested_at    timestamptz NOT NULL
);

ALTER TABLE enrollments
    ADD COLUMN exam_passed_at    timestamptz,
    ADD COLUMN skills_org_id     uuid REFERENCES orgs(id),  -- the training site the learner chose
    ADD COLUMN skills_passed_at  timestamptz;

-- +goose Down
ALTER TABLE enrollments DROP COLUMN exam_passed_at, DROP COLUMN skills_org_id, DROP COLUMN skills_passed_at;
DROP TABLE skills_checks, attempt_answers, attempts, accommodations, items;
