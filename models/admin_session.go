package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// AdminSessionTTL is how long a platform admin's browser session for the jobs dashboard
// lasts: one working day, after which the admin signs in again.
const AdminSessionTTL = 8 * time.Hour

// AdminSession is a platform admin's browser session for the jobs dashboard. The cookie holds
// the secret; only its SHA-256 is stored. CSRFToken is put in the session's own forms (sign
// out) and checked on their submission.
type AdminSession struct {
	TokenHash []byte
	UserID    uuid.UUID
	CSRFToken string `gorm:"column:csrf_token"`
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateAdminSession opens a session for user, valid for AdminSessionTTL from now, and
// returns the secret for the cookie with the stored session. The caller checks that user is a
// platform admin.
func CreateAdminSession(ctx context.Context, db *gorm.DB, userID uuid.UUID, now time.Time) (string, *AdminSession, error) {
	secret := NewSecret()
	s := &AdminSession{TokenHash: HashSecret(secret), UserID: userID, CSRFToken: NewSecret(),
		CreatedAt: now, ExpiresAt: now.Add(AdminSessionTTL)}
	if err := db.WithContext(ctx).Create(s).Error; err != nil {
		return "", nil, translate(err)
	}
	return secret, s, nil
}

// FindAdminSession returns the live session whose cookie secret is secret. It returns
// ErrNotFound for an unknown or expired one.
func FindAdminSession(ctx context.Context, db *gorm.DB, secret string, now time.Time) (*AdminSession, error) {
	if secret == "" {
		return nil, ErrNotFound
	}
	var s AdminSession
	if err := db.WithContext(ctx).Where("token_hash = ? AND expires_at > ?", HashSecret(secret), now).Take(&s).Error; err != nil {
		return nil, translate(err)
	}
	return &s, nil
}

// DeleteAdminSession ends the session whose cookie secret is secret. Ending an unknown
// session is not an error: signing out twice leaves the same state.
func DeleteAdminSession(ctx context.Context, db *gorm.DB, secret string) error {
	return translate(db.WithContext(ctx).Where("token_hash = ?", HashSecret(secret)).Delete(&AdminSession{}).Error)
}

// DeleteUserAdminSessions ends every dashboard session of the user, e.g. when their password
// is reset: whoever knew the old password may hold one.
func DeleteUserAdminSessions(ctx context.Context, db *gorm.DB, userID uuid.UUID) error {
	return translate(db.WithContext(ctx).Exec(`DELETE FROM admin_sessions WHERE user_id = ?`, userID).Error)
}
