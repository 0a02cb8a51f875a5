package models

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// RefreshTTL is how long a refresh token stays usable.
const RefreshTTL = 30 * 24 * time.Hour

// RefreshToken is one link of a rotating refresh-token chain. A family is one sign-in: every
// token of a family shares its MFA flag, and presenting a used token revokes the family.
// Only a SHA-256 of the token is stored.
type RefreshToken struct {
	ID        uuid.UUID
	FamilyID  uuid.UUID
	UserID    uuid.UUID
	TokenHash []byte
	MFA       bool `gorm:"column:mfa"`
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
	UserAgent string
	ClientIP  string `gorm:"column:client_ip"`
	CreatedAt time.Time
}

// RefreshClient describes the client a refresh token is handed to, for the user's records.
type RefreshClient struct {
	UserAgent string
	ClientIP  string
}

// maxUserAgent bounds what is stored of a client's User-Agent header.
const maxUserAgent = 512

// CreateRefreshToken starts a new family (one sign-in) for user and returns the token's
// secret, which is shown to the client once.
func CreateRefreshToken(ctx context.Context, db *gorm.DB, userID uuid.UUID, mfa bool, cl RefreshClient, now time.Time) (string, error) {
	return insertRefreshToken(ctx, db, uuid.New(), userID, mfa, cl, now)
}

func insertRefreshToken(ctx context.Context, db *gorm.DB, family, userID uuid.UUID, mfa bool, cl RefreshClient, now time.Time) (string, error) {
	secret := NewSecret()
	ua := cl.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	t := &RefreshToken{ID: uuid.New(), FamilyID: family, UserID: userID, TokenHash: HashSecret(secret),
		MFA: mfa, ExpiresAt: now.Add(RefreshTTL), UserAgent: ua, ClientIP: cl.ClientIP, CreatedAt: now}
	if err := db.WithContext(ctx).Create(t).Error; err != nil {
		return "", translate(err)
	}
	return secret, nil
}

// RotateRefreshToken spends the refresh token secret and returns the next token of its family
// with the spent token's row (UserID and MFA tell the caller what to issue). Call it inside a
// transaction: it locks the presented row FOR UPDATE, so of several concurrent callers
// presenting the same token exactly one rotates it.
//
// It returns ErrUnauthorized for an unknown or expired token. For a token that was already
// used or revoked it revokes the whole family and returns ErrRefreshReused; the caller must
// commit the transaction nevertheless, or the revocation is lost.
func RotateRefreshToken(ctx context.Context, db *gorm.DB, secret string, cl RefreshClient, now time.Time) (string, *RefreshToken, error) {
	old, err := lockRefreshToken(ctx, db, secret)
	if err != nil {
		return "", nil, err
	}
	if old.UsedAt != nil || old.RevokedAt != nil {
		if err := RevokeRefreshFamily(ctx, db, old.FamilyID, now); err != nil {
			return "", nil, err
		}
		return "", nil, ErrRefreshReused
	}
	if !old.ExpiresAt.After(now) {
		return "", nil, ErrUnauthorized
	}
	if err := db.WithContext(ctx).Model(&RefreshToken{}).Where("id = ?", old.ID).Update("used_at", now).Error; err != nil {
		return "", nil, translate(err)
	}
	next, err := insertRefreshToken(ctx, db, old.FamilyID, old.UserID, old.MFA, cl, now)
	if err != nil {
		return "", nil, err
	}
	return next, old, nil
}

// lockRefreshToken returns the row of secret locked FOR UPDATE, or ErrUnauthorized.
func lockRefreshToken(ctx context.Context, db *gorm.DB, secret string) (*RefreshToken, error) {
	var t RefreshToken
	err := db.WithContext(ctx).Raw(`SELECT * FROM refresh_tokens WHERE token_hash = ? FOR UPDATE`, HashSecret(secret)).Scan(&t).Error
	if err != nil {
		return nil, translate(err)
	}
	if t.ID == uuid.Nil {
		return nil, ErrUnauthorized
	}
	return &t, nil
}

// RevokeRefreshFamily revokes every live token of the family.
func RevokeRefreshFamily(ctx context.Context, db *gorm.DB, family uuid.UUID, now time.Time) error {
	return translate(db.WithContext(ctx).Exec(
		`UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, now, family).Error)
}

// RevokeRefreshToken revokes the family of the refresh token secret (sign-out). An unknown
// token is not an error: signing out twice is the same as once.
func RevokeRefreshToken(ctx context.Context, db *gorm.DB, secret string, now time.Time) error {
	var t RefreshToken
	err := db.WithContext(ctx).Select("family_id").First(&t, "token_hash = ?", HashSecret(secret)).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return translate(err)
	}
	return RevokeRefreshFamily(ctx, db, t.FamilyID, now)
}

// RevokeUserRefreshTokens revokes every live refresh token of the user (all sign-ins), e.g.
// after a password reset.
func RevokeUserRefreshTokens(ctx context.Context, db *gorm.DB, userID uuid.UUID, now time.Time) error {
	return translate(db.WithContext(ctx).Exec(
		`UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, now, userID).Error)
}
