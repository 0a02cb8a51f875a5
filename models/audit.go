package models

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// AuditEntry records one action of a platform or org admin: who did what to which object,
// the object before and after (JSON, never a secret), and the request it came from.
type AuditEntry struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	ActorID    *uuid.UUID
	Action     string // e.g. "org.approve", "org_member.update_roles"
	ObjectType string
	ObjectID   string
	Before     json.RawMessage `gorm:"type:jsonb"`
	After      json.RawMessage `gorm:"type:jsonb"`
	RequestID  string
	CreatedAt  time.Time
}

// TableName is the audit log table.
func (AuditEntry) TableName() string { return "audit_log" }

// CreateAuditEntry records e, assigning its ID. Write it in the transaction of the change it
// records, so the two commit together.
func CreateAuditEntry(ctx context.Context, db *gorm.DB, e *AuditEntry) error {
	return translate(db.WithContext(ctx).Create(e).Error)
}
