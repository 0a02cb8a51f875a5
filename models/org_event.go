package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Event types of an org's feed and webhooks.
const (
	EventCredentialIssued     = "credential.issued"
	EventCredentialRenewed    = "credential.renewed"
	EventCredentialExpiring   = "credential.expiring"
	EventCredentialExpired    = "credential.expired"
	EventCredentialSuspended  = "credential.suspended"
	EventCredentialRevoked    = "credential.revoked"
	EventCredentialReinstated = "credential.reinstated"
	EventCredentialSuperseded = "credential.superseded"
)

// EventTypes lists every event type, in the order documented.
var EventTypes = []string{EventCredentialIssued, EventCredentialRenewed, EventCredentialExpiring,
	EventCredentialExpired, EventCredentialSuspended, EventCredentialRevoked,
	EventCredentialReinstated, EventCredentialSuperseded}

// ExpiringNotice is how long before valid_until the expiring event comes.
const ExpiringNotice = 60 * 24 * time.Hour

// OrgEventRetention is how long the feed keeps an event.
const OrgEventRetention = 30 * 24 * time.Hour

// OrgEvent is one event in an org's feed. Data holds the credential as employers may see it:
// code, course, status, dates and the holder's name, never scores.
type OrgEvent struct {
	ID           int64
	OrgID        uuid.UUID
	Type         string
	CredentialID *uuid.UUID
	Data         json.RawMessage `gorm:"type:jsonb"`
	CreatedAt    time.Time
}

// WebhookTarget is an event to deliver to an endpoint that subscribed to its type.
type WebhookTarget struct {
	EventID   int64
	WebhookID uuid.UUID
}

// emitSQL fans the (credential_id, type) rows of the CTE src out to every org that watches
// the holder (by the resolved user or by the NPI they entered since) or has them as an
// accepted cohort member, inserts one feed event per org, and returns the live webhooks of
// those orgs that want the type. Arguments: src's, then now (status), then now (created_at).
const emitSQL = `WITH src(credential_id, type) AS (%s),
c AS (
	SELECT src.type, cr.id, cr.user_id, u.npi,
		jsonb_build_object('credential', jsonb_build_object(
			'code', cr.code, 'course', cr.course_code,
			'status', CASE WHEN cr.status = 'active' AND cr.valid_until <= ? THEN 'expired' ELSE cr.status END,
			'valid_through', to_char(cr.valid_through, 'YYYY-MM-DD'), 'holder_name', cr.holder_name)) AS data
	FROM src JOIN credentials cr ON cr.id = src.credential_id JOIN users u ON u.id = cr.user_id
),
interested AS (
	SELECT c.type, c.id, c.data, w.org_id FROM c JOIN watchlist w ON w.user_id = c.user_id
	UNION
	SELECT c.type, c.id, c.data, w.org_id FROM c JOIN watchlist w ON w.npi = c.npi
	UNION
	SELECT c.type, c.id, c.data, ci.org_id FROM c JOIN cohort_invitations ci ON ci.user_id = c.user_id AND ci.status = 'accepted'
),
ins AS (
	INSERT INTO org_events (org_id, type, credential_id, data, created_at)
	SELECT org_id, type, id, data, ? FROM interested ORDER BY org_id
	RETURNING id, org_id, type
)
SELECT ins.id AS event_id, wh.id AS webhook_id FROM ins
JOIN webhooks wh ON wh.org_id = ins.org_id AND wh.disabled_at IS NULL AND ins.type = ANY (wh.event_types)
ORDER BY ins.id, wh.id`

// EmitCredentialEvent records an event of a credential in the feed of every org interested in
// its holder, in db (the transaction of the change), and returns the webhook deliveries to
// enqueue in the same transaction.
func EmitCredentialEvent(ctx context.Context, db *gorm.DB, typ string, credentialID uuid.UUID, now time.Time) ([]WebhookTarget, error) {
	var out []WebhookTarget
	q := fmt.Sprintf(emitSQL, `SELECT ?::uuid, ?::text`)
	if err := db.WithContext(ctx).Raw(q, credentialID, typ, now, now).Scan(&out).Error; err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// EmitTimeEvents records, once per credential, that it is within ExpiringNotice of its end
// or has ended, and emits those events. Only credentials that crossed within the feed's
// retention count, so a first run does not announce years of old expiries, and a credential
// already renewed is not announced as expiring or expired.
func EmitTimeEvents(ctx context.Context, db *gorm.DB, now time.Time) ([]WebhookTarget, error) {
	src := `INSERT INTO credential_time_events (credential_id, type, created_at)
		SELECT cr.id, t.type, ? FROM credentials cr
		CROSS JOIN LATERAL (VALUES ('credential.expiring', cr.valid_until - ?::interval),
			('credential.expired', cr.valid_until)) AS t(type, at)
		WHERE cr.status = 'active' AND t.at <= ? AND t.at > ?
			AND NOT (t.type = 'credential.expiring' AND cr.valid_until <= ?)
			AND NOT EXISTS (SELECT 1 FROM credentials n WHERE n.renews = cr.id)
		ON CONFLICT DO NOTHING
		RETURNING credential_id, type`
	notice := "60 days"
	var out []WebhookTarget
	err := db.WithContext(ctx).Raw(fmt.Sprintf(emitSQL, src),
		now, notice, now, now.Add(-OrgEventRetention), now, now, now).Scan(&out).Error
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// OrgEventFilter selects a page of an org's feed: events after the ID Since, oldest first.
type OrgEventFilter struct {
	OrgID uuid.UUID
	Since int64
	Limit int
}

// ListOrgEvents returns the events of f in ID order.
func ListOrgEvents(ctx context.Context, db *gorm.DB, f OrgEventFilter) ([]OrgEvent, error) {
	var rows []OrgEvent
	err := db.WithContext(ctx).Where("org_id = ? AND id > ?", f.OrgID, f.Since).Order("id").Limit(f.Limit).Find(&rows).Error
	return rows, translate(err)
}

// FindOrgEvent returns an event by ID.
func FindOrgEvent(ctx context.Context, db *gorm.DB, id int64) (*OrgEvent, error) {
	var ev OrgEvent
	if err := db.WithContext(ctx).Take(&ev, id).Error; err != nil {
		return nil, translate(err)
	}
	return &ev, nil
}
