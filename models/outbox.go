package models

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// OutboxMessage is an email as recorded before sending. TextBody and HTMLBody have live
// tokens redacted; Sealed holds the full message encrypted with the master key until sent.
type OutboxMessage struct {
	ID        uuid.UUID `gorm:"column:id"`
	ToAddr    string
	UserID    *uuid.UUID
	Subject   string
	TextBody  string
	HTMLBody  string
	Headers   json.RawMessage `gorm:"type:jsonb"`
	Sealed    []byte
	Status    string
	Attempts  int
	LastError *string
	SentAt    *time.Time
	CreatedAt time.Time
}

// TableName is the outbox table.
func (OutboxMessage) TableName() string { return "outbox" }

// Outbox statuses.
const (
	OutboxQueued = "queued"
	OutboxSent   = "sent"
	OutboxFailed = "failed"
	OutboxLogged = "logged" // no SMTP configured: recorded only
)

// CreateOutboxMessage records m, assigning its ID.
func CreateOutboxMessage(ctx context.Context, db *gorm.DB, m *OutboxMessage) error {
	if m.ID == uuid.Nil {
		m.ID = uuid.New()
	}
	if len(m.Headers) == 0 {
		m.Headers = json.RawMessage(`{}`)
	}
	if m.Status == "" {
		m.Status = OutboxQueued
	}
	return translate(db.WithContext(ctx).Create(m).Error)
}

// FindOutboxMessage returns the message with id, or ErrNotFound.
func FindOutboxMessage(ctx context.Context, db *gorm.DB, id uuid.UUID) (*OutboxMessage, error) {
	var m OutboxMessage
	if err := db.WithContext(ctx).First(&m, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &m, nil
}

// OutboxFilter narrows ListOutboxMessages.
type OutboxFilter struct {
	To     string // exact address, case-insensitive
	UserID *uuid.UUID
	Status string
	Page   Page
}

// ListOutboxMessages returns messages newest first, and the cursor of the next page.
func ListOutboxMessages(ctx context.Context, db *gorm.DB, f OutboxFilter) ([]OutboxMessage, *Cursor, error) {
	q := db.WithContext(ctx).Model(&OutboxMessage{})
	if f.To != "" {
		q = q.Where("lower(to_addr) = lower(?)", f.To)
	}
	if f.UserID != nil {
		q = q.Where("user_id = ?", *f.UserID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Page.Limit == 0 {
		f.Page.Limit = 50
	}
	var rows []OutboxMessage
	if err := f.Page.apply(q, "outbox").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(m OutboxMessage) Cursor { return Cursor{Time: m.CreatedAt, ID: m.ID.String()} })
	return rows, next, nil
}

// MarkOutboxResult records the outcome of a send attempt. A sent or logged message drops its
// sealed copy, so no live token stays in the database longer than needed.
func MarkOutboxResult(ctx context.Context, db *gorm.DB, id uuid.UUID, status string, sendErr error, now time.Time) error {
	cols := map[string]any{"status": status, "attempts": gorm.Expr("attempts + 1")}
	switch status {
	case OutboxSent, OutboxLogged:
		cols["sent_at"] = now
		cols["sealed"] = nil
		cols["last_error"] = nil
	}
	if sendErr != nil {
		cols["last_error"] = sendErr.Error()
	}
	return translate(db.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ?", id).Updates(cols).Error)
}
