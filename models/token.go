package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Purposes of email tokens.
const (
	TokenVerifyEmail   = "verify_email"
	TokenResetPassword = "reset_password"
)

// UserToken is a single-use, expiring token sent by email. Only its SHA-256 is stored.
type UserToken struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Purpose   string
	TokenHash []byte
	Email     string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// NewSecret returns a random URL-safe secret with 256 bits of entropy.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateUserToken stores a new token for user and purpose, bound to email, valid for ttl,
// and returns the secret to put in the link.
func CreateUserToken(ctx context.Context, db *gorm.DB, userID uuid.UUID, purpose, email string, ttl time.Duration, now time.Time) (string, error) {
	secret := NewSecret()
	t := &UserToken{ID: uuid.New(), UserID: userID, Purpose: purpose, TokenHash: HashSecret(secret),
		Email: email, ExpiresAt: now.Add(ttl), CreatedAt: now}
	if err := db.WithContext(ctx).Create(t).Error; err != nil {
		return "", translate(err)
	}
	return secret, nil
}

// PeekUserToken returns the live token for secret and purpose without spending it (opening
// a link never spends its token). It returns ErrTokenInvalid if unknown, used or expired.
func PeekUserToken(ctx context.Context, db *gorm.DB, secret, purpose string, now time.Time) (*UserToken, error) {
	var t UserToken
	err := db.WithContext(ctx).
		First(&t, "token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?", HashSecret(secret), purpose, now).Error
	if err != nil {
		return nil, ErrTokenInvalid
	}
	return &t, nil
}

// SpendUserToken marks the live token for secret and purpose used and returns it. Exactly one
// of several concurrent callers succeeds; the others get ErrTokenInvalid.
func SpendUserToken(ctx context.Context, db *gorm.DB, secret, purpose string, now time.Time) (*UserToken, error) {
	var t UserToken
	res := db.WithContext(ctx).Raw(`UPDATE user_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING *`, now, HashSecret(secret), purpose, now).Scan(&t)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if t.ID == uuid.Nil {
		return nil, ErrTokenInvalid
	}
	return &t, nil
}

// RevokeUserTokens spends every live token of user and purpose (e.g. after a reset, older
// reset links stop working).
func RevokeUserTokens(ctx context.Context, db *gorm.DB, userID uuid.UUID, purpose string, now time.Time) error {
	return translate(db.WithContext(ctx).Exec(
		`UPDATE user_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL`, now, userID, purpose).Error)
}

// CountUserTokensSince returns how many tokens of purpose were made for user at or after t.
func CountUserTokensSince(ctx context.Context, db *gorm.DB, userID uuid.UUID, purpose string, t time.Time) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Model(&UserToken{}).
		Where("user_id = ? AND purpose = ? AND created_at >= ?", userID, purpose, t).Count(&n).Error
	return n, translate(err)
}
