package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
)

// APIKey is an org's API key. Only a SHA-256 of its secret is stored; the key is shown once.
type APIKey struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	Name       string
	Prefix     string
	SecretHash []byte
	Scopes     pq.StringArray `gorm:"type:text[]"`
	CreatedBy  uuid.UUID
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
}

// TableName is the table of API keys.
func (APIKey) TableName() string { return "org_api_keys" }

// HashSecret returns the stored form of a high-entropy secret (API keys, tokens).
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// AuthenticateAPIKey returns the live key matching the presented "aals_<prefix>_<secret>" and
// records its use. It returns ErrUnauthorized for an unknown, malformed or revoked key.
func AuthenticateAPIKey(ctx context.Context, db *gorm.DB, presented string, now time.Time) (*APIKey, error) {
	parts := strings.SplitN(presented, "_", 3)
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return nil, ErrUnauthorized
	}
	var k APIKey
	if err := db.WithContext(ctx).First(&k, "prefix = ? AND revoked_at IS NULL", parts[1]).Error; err != nil {
		return nil, ErrUnauthorized
	}
	if subtle.ConstantTimeCompare(k.SecretHash, HashSecret(presented)) != 1 {
		return nil, ErrUnauthorized
	}
	// Record use at most once a minute per key to keep verification traffic cheap.
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		db.WithContext(ctx).Model(&APIKey{}).Where("id = ?", k.ID).Update("last_used_at", now)
	}
	return &k, nil
}

// ScopeVerify lets an API key call its org's verifier routes.
const ScopeVerify = "verify"

// CreateAPIKey stores k, assigning an ID if it has none. The caller sets Prefix and
// SecretHash (HashSecret of the whole key it hands out once). A prefix already in use is
// ErrConflict.
func CreateAPIKey(ctx context.Context, db *gorm.DB, k *APIKey) error {
	if k.ID == uuid.Nil {
		k.ID = uuid.New()
	}
	return translate(db.WithContext(ctx).Create(k).Error)
}

// APIKeyFilter narrows ListAPIKeys.
type APIKeyFilter struct {
	OrgID uuid.UUID
	Page  Page
}

// ListAPIKeys returns the org's keys, revoked ones included, newest first, and the cursor of
// the next page.
func ListAPIKeys(ctx context.Context, db *gorm.DB, f APIKeyFilter) ([]APIKey, *Cursor, error) {
	q := db.WithContext(ctx).Model(&APIKey{}).Where("org_id = ?", f.OrgID)
	var rows []APIKey
	if err := f.Page.apply(q, "org_api_keys").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(k APIKey) Cursor { return Cursor{Time: k.CreatedAt, ID: k.ID.String()} })
	return rows, next, nil
}

// RevokeAPIKey revokes the org's live key id and returns it; the key stops authenticating at
// once. It returns ErrNotFound if the org has no such live key.
func RevokeAPIKey(ctx context.Context, db *gorm.DB, orgID, id uuid.UUID, now time.Time) (*APIKey, error) {
	db = db.WithContext(ctx)
	res := db.Model(&APIKey{}).Where("id = ? AND org_id = ? AND revoked_at IS NULL", id, orgID).Update("revoked_at", now)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	var k APIKey
	if err := db.First(&k, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &k, nil
}
