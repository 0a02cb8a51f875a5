package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
)

// Webhook is an org's endpoint for events. The signing secret is sealed with the master key
// (aad: the webhook's ID) and shown to the admin only when created.
type Webhook struct {
	ID             uuid.UUID
	OrgID          uuid.UUID
	URL            string
	EventTypes     pq.StringArray `gorm:"type:text[]"`
	SecretSealed   []byte
	DisabledAt     *time.Time
	DisabledReason *string
	FailingSince   *time.Time
	CreatedBy      uuid.UUID
	CreatedAt      time.Time
}

// WebhookDelivery is one attempt to deliver an event to an endpoint.
type WebhookDelivery struct {
	ID           uuid.UUID
	WebhookID    uuid.UUID
	EventID      *int64 // nil for a test event
	EventType    string
	Attempt      int
	Status       string // DeliverySucceeded or DeliveryFailed
	ResponseCode *int
	Error        *string
	DurationMS   int `gorm:"column:duration_ms"`
	CreatedAt    time.Time
}

// Outcomes of a delivery attempt.
const (
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhookFailureLimit is how long an endpoint may keep failing before it is disabled.
const WebhookFailureLimit = 24 * time.Hour

// MaxWebhooksPerOrg bounds an org's endpoints.
const MaxWebhooksPerOrg = 20

// ErrTooManyWebhooks is an org at MaxWebhooksPerOrg.
var ErrTooManyWebhooks = NewError("too-many-webhooks", ErrConflict, "the organization already has 20 webhooks; delete one first")

// CreateWebhook stores w, refusing an org's endpoint beyond MaxWebhooksPerOrg. The org row
// is locked so two concurrent creations cannot both pass the count.
func CreateWebhook(ctx context.Context, db *gorm.DB, w *Webhook) error {
	db = db.WithContext(ctx)
	var n int64
	if err := db.Exec(`SELECT 1 FROM orgs WHERE id = ? FOR UPDATE`, w.OrgID).Error; err != nil {
		return translate(err)
	}
	if err := db.Model(&Webhook{}).Where("org_id = ?", w.OrgID).Count(&n).Error; err != nil {
		return translate(err)
	}
	if n >= MaxWebhooksPerOrg {
		return ErrTooManyWebhooks
	}
	return translate(db.Create(w).Error)
}

// ListWebhooks returns an org's endpoints, oldest first; an org has few.
func ListWebhooks(ctx context.Context, db *gorm.DB, orgID uuid.UUID) ([]Webhook, error) {
	var rows []Webhook
	err := db.WithContext(ctx).Where("org_id = ?", orgID).Order("created_at, id").Find(&rows).Error
	return rows, translate(err)
}

// FindWebhook returns an endpoint of the org; one of another org is ErrNotFound.
func FindWebhook(ctx context.Context, db *gorm.DB, orgID, id uuid.UUID) (*Webhook, error) {
	var w Webhook
	if err := db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&w).Error; err != nil {
		return nil, translate(err)
	}
	return &w, nil
}

// FindWebhookByID returns an endpoint by ID alone, for delivery.
func FindWebhookByID(ctx context.Context, db *gorm.DB, id uuid.UUID) (*Webhook, error) {
	var w Webhook
	if err := db.WithContext(ctx).Take(&w, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &w, nil
}

// DeleteWebhook removes an endpoint of the org with its delivery log.
func DeleteWebhook(ctx context.Context, db *gorm.DB, orgID, id uuid.UUID) error {
	res := db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).Delete(&Webhook{})
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// RecordWebhookDelivery stores an attempt and, for a real event, updates the endpoint's
// failure state: a success clears failing_since; a failure sets it if unset. It returns the
// endpoint after the update.
func RecordWebhookDelivery(ctx context.Context, db *gorm.DB, d *WebhookDelivery) (*Webhook, error) {
	db = db.WithContext(ctx)
	if err := db.Create(d).Error; err != nil {
		return nil, translate(err)
	}
	if d.EventID == nil {
		// A test event says how the endpoint answers now; it does not move the failure state.
		return FindWebhookByID(ctx, db, d.WebhookID)
	}
	var w Webhook
	q := `UPDATE webhooks SET failing_since = NULL WHERE id = ? RETURNING *`
	if d.Status == DeliveryFailed {
		q = `UPDATE webhooks SET failing_since = coalesce(failing_since, ?) WHERE id = ? RETURNING *`
	}
	args := []any{d.WebhookID}
	if d.Status == DeliveryFailed {
		args = []any{d.CreatedAt, d.WebhookID}
	}
	if err := db.Raw(q, args...).Scan(&w).Error; err != nil {
		return nil, translate(err)
	}
	if w.ID == uuid.Nil {
		return nil, ErrNotFound
	}
	return &w, nil
}

// DisableWebhook disables a live endpoint and reports whether this call did, so the admins
// are told once.
func DisableWebhook(ctx context.Context, db *gorm.DB, id uuid.UUID, reason string, now time.Time) (bool, error) {
	res := db.WithContext(ctx).Exec(`UPDATE webhooks SET disabled_at = ?, disabled_reason = ? WHERE id = ? AND disabled_at IS NULL`, now, reason, id)
	if res.Error != nil {
		return false, translate(res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ListWebhookDeliveries returns a page of an endpoint's attempts, newest first.
func ListWebhookDeliveries(ctx context.Context, db *gorm.DB, webhookID uuid.UUID, p Page) ([]WebhookDelivery, *Cursor, error) {
	var rows []WebhookDelivery
	q := p.apply(db.WithContext(ctx).Model(&WebhookDelivery{}).Where("webhook_id = ?", webhookID), "webhook_deliveries")
	if err := q.Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(p, rows, func(d WebhookDelivery) Cursor { return Cursor{Time: d.CreatedAt, ID: d.ID.String()} })
	return rows, next, nil
}

// OrgAdminEmails returns the addresses of an org's admins.
func OrgAdminEmails(ctx context.Context, db *gorm.DB, orgID uuid.UUID) ([]string, error) {
	var out []string
	err := db.WithContext(ctx).Raw(`SELECT u.email FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND ? = ANY (m.roles) ORDER BY u.email`, orgID, RoleAdmin).Scan(&out).Error
	return out, translate(err)
}
