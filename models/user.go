package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// PlatformAdmin is the platform role of the program's staff.
const PlatformAdmin = "admin"

// User is an account: a provider, an org member, a platform admin, or several at once.
type User struct {
	ID              uuid.UUID
	Email           string
	EmailVerifiedAt *time.Time
	PasswordHash    string
	Name            string
	NameLockedAt    *time.Time
	Profession      *string
	NPI             *string `gorm:"column:npi"`
	LicenseNumber   *string
	LicenseState    *string
	PlatformRole    *string
	TOTPSecretEnc   []byte     `gorm:"column:totp_secret_enc"`
	TOTPEnabledAt   *time.Time `gorm:"column:totp_enabled_at"`
	TOTPLastStep    *int64     `gorm:"column:totp_last_step"`
	// ReminderEmails is whether the holder wants renewal reminder emails. The default tag
	// makes a new account take the column's default (on) instead of Go's zero value.
	ReminderEmails bool `gorm:"default:true"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// IsPlatformAdmin reports whether u is one of the program's staff.
func (u *User) IsPlatformAdmin() bool {
	return u.PlatformRole != nil && *u.PlatformRole == PlatformAdmin
}

// NoPassword is the password hash of an account whose holder has not set a password yet (one a
// legacy import created). It is no hash at all, so no password matches it and signing in is
// refused before any hashing; the holder sets a password through a password reset.
const NoPassword = ""

// HasPassword reports whether u has set a password, and so can sign in with one.
func (u *User) HasPassword() bool { return u.PasswordHash != NoPassword }

// EmailVerified reports whether u's current address is verified.
func (u *User) EmailVerified() bool { return u.EmailVerifiedAt != nil }

// TOTPEnabled reports whether u signs in with a second factor.
func (u *User) TOTPEnabled() bool { return u.TOTPEnabledAt != nil }

// NormalizeEmail trims an address; comparison is case-insensitive in the database (citext).
func NormalizeEmail(s string) string { return strings.TrimSpace(s) }

// CreateUser inserts u, assigning an ID if it has none. It returns ErrEmailTaken if the
// address is registered (case-insensitively).
func CreateUser(ctx context.Context, db *gorm.DB, u *User) error {
	if u.ID == uuid.Nil {
		u.ID = uuid.New()
	}
	u.Email = NormalizeEmail(u.Email)
	err := db.WithContext(ctx).Create(u).Error
	if uniqueViolation(err, "users_email_key") {
		return ErrEmailTaken
	}
	if uniqueViolation(err, "users_npi_key") {
		return ErrNPITaken
	}
	return translate(err)
}

// FindUser returns the user with id, or ErrNotFound.
func FindUser(ctx context.Context, db *gorm.DB, id uuid.UUID) (*User, error) {
	var u User
	if err := db.WithContext(ctx).First(&u, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

// FindUserByEmail returns the user with the address (case-insensitive), or ErrNotFound.
func FindUserByEmail(ctx context.Context, db *gorm.DB, email string) (*User, error) {
	var u User
	if err := db.WithContext(ctx).First(&u, "email = ?", NormalizeEmail(email)).Error; err != nil {
		return nil, translate(err)
	}
	return &u, nil
}

// LockUser returns the user with id locked FOR UPDATE (call inside a transaction).
func LockUser(ctx context.Context, db *gorm.DB, id uuid.UUID) (*User, error) {
	var u User
	err := db.WithContext(ctx).Raw(`SELECT * FROM users WHERE id = ? FOR UPDATE`, id).Scan(&u).Error
	if err != nil {
		return nil, translate(err)
	}
	if u.ID == uuid.Nil {
		return nil, ErrNotFound
	}
	return &u, nil
}

// UserUpdate lists the fields UpdateUser changes; nil fields are left alone.
type UserUpdate struct {
	Email           *string
	EmailVerifiedAt **time.Time
	PasswordHash    *string
	Name            *string
	Profession      **string
	NPI             **string
	LicenseNumber   **string
	LicenseState    **string
	TOTPSecretEnc   *[]byte
	TOTPEnabledAt   **time.Time
	TOTPLastStep    **int64
	ReminderEmails  *bool
}

// UpdateUser applies upd to the user with id. It returns ErrEmailTaken or ErrNPITaken when
// the new value belongs to another account, ErrNotFound if there is no such user.
func UpdateUser(ctx context.Context, db *gorm.DB, id uuid.UUID, upd UserUpdate) error {
	cols := map[string]any{"updated_at": gorm.Expr("now()")}
	set := func(col string, ok bool, v func() any) {
		if ok {
			cols[col] = v()
		}
	}
	set("email", upd.Email != nil, func() any { return NormalizeEmail(*upd.Email) })
	set("email_verified_at", upd.EmailVerifiedAt != nil, func() any { return *upd.EmailVerifiedAt })
	set("password_hash", upd.PasswordHash != nil, func() any { return *upd.PasswordHash })
	set("name", upd.Name != nil, func() any { return *upd.Name })
	set("profession", upd.Profession != nil, func() any { return *upd.Profession })
	set("npi", upd.NPI != nil, func() any { return *upd.NPI })
	set("license_number", upd.LicenseNumber != nil, func() any { return *upd.LicenseNumber })
	set("license_state", upd.LicenseState != nil, func() any { return *upd.LicenseState })
	set("totp_secret_enc", upd.TOTPSecretEnc != nil, func() any { return *upd.TOTPSecretEnc })
	set("totp_enabled_at", upd.TOTPEnabledAt != nil, func() any { return *upd.TOTPEnabledAt })
	set("totp_last_step", upd.TOTPLastStep != nil, func() any { return *upd.TOTPLastStep })
	set("reminder_emails", upd.ReminderEmails != nil, func() any { return *upd.ReminderEmails })
	res := db.WithContext(ctx).Model(&User{}).Where("id = ?", id).Updates(cols)
	switch {
	case uniqueViolation(res.Error, "users_email_key"):
		return ErrEmailTaken
	case uniqueViolation(res.Error, "users_npi_key"):
		return ErrNPITaken
	case res.Error != nil:
		return translate(res.Error)
	case res.RowsAffected == 0:
		return ErrNotFound
	}
	return nil
}

// IsNotFound reports whether err means "not found".
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
