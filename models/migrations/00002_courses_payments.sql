-- +goose Up

-- The catalog. Seeded from content/ and editable by platform admins.
CREATE TABLE courses (
    code                        text PRIMARY KEY CHECK (code ~ '^[A-Z]{2,10}$'),
    title                       text NOT NULL,
    edition                     text NOT NULL,
    guideline_edition           text NOT NULL,
    description                 text NOT NULL,
    accreditation               text NOT NULL,
    validity_months             integer NOT NULL DEFAULT 24 CHECK (validity_months BETWEEN 1 AND 120),
    skills_check_required       boolean NOT NULL DEFAULT false,
    renewal_window_before_days  integer NOT NULL DEFAULT 90 CHECK (renewal_window_before_days >= 0),
    renewal_window_after_days   integer NOT NULL DEFAULT 30 CHECK (renewal_window_after_days >= 0),
    enrollment_lifetime_months  integer NOT NULL DEFAULT 12 CHECK (enrollment_lifetime_months BETWEEN 1 AND 60),
    ce_approving_body           text NOT NULL DEFAULT '',
    ce_approval_code            text NOT NULL DEFAULT '',
    ce_approval_expires         date,
    -- {"questions", "pass_percent", "time_limit_minutes", "attempts", "blueprint": {domain: share}}
    exam                        jsonb NOT NULL,
    reminder_offsets_days       integer[] NOT NULL DEFAULT '{90,60,30,7,0,-30}',
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE offerings (
    course_code  text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('initial', 'renewal')),
    price_cents  integer NOT NULL CHECK (price_cents >= 0),
    currency     text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
    ce_credits   numeric(4,1) NOT NULL DEFAULT 0 CHECK (ce_credits >= 0),
    active       boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (course_code, kind)
);

CREATE SEQUENCE invoice_number_seq START 1001;

-- What someone is asked to pay: one enrollment, or N seats for an org. The amount is copied
-- from the offering when the order is made, so a later price change never alters it.
CREATE TABLE orders (
    id                          uuid PRIMARY KEY,
    kind                        text NOT NULL CHECK (kind IN ('enrollment', 'seats')),
    buyer_id                    uuid NOT NULL REFERENCES users(id),
    org_id                      uuid REFERENCES orgs(id),
    course_code                 text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    offering                    text NOT NULL CHECK (offering IN ('initial', 'renewal')),
    quantity                    integer NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 10000),
    unit_amount                 integer NOT NULL CHECK (unit_amount >= 0),
    amount                      integer NOT NULL CHECK (amount >= 0),
    currency                    text NOT NULL,
    -- pending: waiting for payment; paid; on_credit: PO accepted, seats or enrollment released,
    -- payment due; expired: checkout expired unpaid; failed: async payment failed; refunded:
    -- refunded in full.
    status                      text NOT NULL DEFAULT 'pending'
                                  CHECK (status IN ('pending', 'paid', 'on_credit', 'expired', 'failed', 'refunded')),
    payment_method              text CHECK (payment_method IN ('card', 'offline', 'purchase_order')),
    amount_refunded             integer NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
    released_at                 timestamptz, -- when the enrollment or seats were released (once)
    paid_at                     timestamptz,
    payment_reference           text,
    po_number                   text,
    invoice_number              text UNIQUE,
    invoice_due_date            date,
    invoice_pdf                 bytea,
    stripe_checkout_session_id  text UNIQUE,
    stripe_payment_intent_id    text UNIQUE,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'seats') = (org_id IS NOT NULL)),
    CHECK (kind = 'seats' OR quantity = 1)
);
CREATE INDEX orders_buyer_idx ON orders (buyer_id, created_at DESC);
CREATE INDEX orders_org_idx ON orders (org_id, created_at DESC) WHERE org_id IS NOT NULL;
CREATE INDEX orders_status_idx ON orders (status, created_at DESC);

CREATE TABLE enrollments (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users(id),
    course_code   text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    offering      text NOT NULL CHECK (offering IN ('initial', 'renewal')),
    status        text NOT NULL DEFAULT 'pending_payment'
                    CHECK (status IN ('pending_payment', 'active', 'completed', 'failed', 'cancelled', 'lapsed')),
    order_id      uuid UNIQUE REFERENCES orders(id),
    org_id        uuid REFERENCES orgs(id),  -- set when an org seat paid for it
    activated_at  timestamptz,
    expires_at    timestamptz,  -- end of the enrollment's lifetime, set at activation
    completed_at  timestamptz,
    ended_at      timestamptz,  -- when it became failed, cancelled or lapsed
    end_reason    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- A provider holds at most one open enrollment per course: the database is the last line.
CREATE UNIQUE INDEX enrollments_one_open_idx ON enrollments (user_id, course_code)
    WHERE status IN ('pending_payment', 'active');
CREATE INDEX enrollments_user_idx ON enrollments (user_id, created_at DESC);
CREATE INDEX enrollments_active_expiry_idx ON enrollments (expires_at) WHERE status = 'active';

-- An org's seats per course and offering. total grows when a seat purchase is paid (or
-- accepted on credit); used grows when a seat funds an enrollment (cohorts).
CREATE TABLE seat_pools (
    org_id       uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    course_code  text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    offering     text NOT NULL CHECK (offering IN ('initial', 'renewal')),
    total        integer NOT NULL DEFAULT 0 CHECK (total >= 0),
    used         integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, course_code, offering),
    CHECK (used <= total)
);

-- Every Stripe event processed, written in the same transaction as its effect, so each
-- event ID takes effect at most once.
CREATE TABLE stripe_events (
    id            text PRIMARY KEY,
    type          text NOT NULL,
    order_id      uuid REFERENCES orders(id),
    processed_at  timestamptz NOT NULL DEFAULT now()
);

-- The refund state Stripe reported for a payment intent (cumulative and only growing), kept
-- even when it arrives before the payment itself, so events apply in any order.
CREATE TABLE stripe_refund_states (
    payment_intent_id  text PRIMARY KEY,
    amount_refunded    integer NOT NULL CHECK (amount_refunded >= 0),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Refunds made by an admin (through Stripe or recorded as offline).
CREATE TABLE refunds (
    id               uuid PRIMARY KEY,
    order_id         uuid NOT NULL REFERENCES orders(id),
    amount           integer NOT NULL CHECK (amount > 0),
    seats            integer NOT NULL DEFAULT 0 CHECK (seats >= 0),
    method           text NOT NULL CHECK (method IN ('card', 'offline')),
    stripe_refund_id text UNIQUE,
    reason           text NOT NULL DEFAULT '',
    created_by       uuid REFERENCES users(id),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order_idx ON refunds (order_id);

-- Cards from other issuers that a provider uploaded to prove a current credential for a
-- renewal; a platform admin verifies or rejects them.
CREATE TABLE external_credentials (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    course_code   text NOT NULL REFERENCES courses(code) ON UPDATE CASCADE,
    issuer        text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 200),
    card_number   text NOT NULL CHECK (length(card_number) BETWEEN 1 AND 100),
    issued_on     date NOT NULL,
    expires_on    date NOT NULL CHECK (expires_on > issued_on),
    file_name     text NOT NULL,
    content_type  text NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    file_data     bytea NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'rejected')),
    reviewed_by   uuid REFERENCES users(id),
    reviewed_at   timestamptz,
    review_reason text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX external_credentials_user_idx ON external_credentials (user_id, course_code);
CREATE INDEX external_credentials_pending_idx ON external_credentials (created_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE external_credentials, refunds, stripe_refund_states, stripe_events, seat_pools,
    enrollments, orders, offerings, courses;
DROP SEQUENCE invoice_number_seq;
