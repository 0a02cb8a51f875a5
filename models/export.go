package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// UserExport is what is stored about a user beyond the users row, for the user's own copy.
// It carries no secret: no password hash, TOTP secret or token hash.
type UserExport struct {
	Memberships []Membership
	Invitations []MemberInvitation // invitations to join an org sent to the user's address
	Sessions    []ExportSession
	Emails      []ExportEmail
	Enrollments []Enrollment
	Orders      []Order              // orders the user placed, without invoice PDFs
	Cards       []ExternalCredential // outside cards the user uploaded, without the files
}

// ExportSession is a sign-in (one refresh token) without its hash.
type ExportSession struct {
	ID        uuid.UUID
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
	UserAgent string
	ClientIP  string `gorm:"column:client_ip"`
}

// ExportEmail is an email sent to the user, as the outbox keeps it: tokens redacted.
type ExportEmail struct {
	ID        uuid.UUID
	Subject   string
	Status    string
	TextBody  string
	CreatedAt time.Time
}

// ExportUser gathers everything stored about the user u beyond the user row itself.
func ExportUser(ctx context.Context, db *gorm.DB, u *User) (*UserExport, error) {
	db = db.WithContext(ctx)
	var out UserExport
	var err error
	if out.Memberships, _, err = ListMemberships(ctx, db, MembershipFilter{UserID: u.ID}); err != nil {
		return nil, err
	}
	if out.Invitations, _, err = ListMemberInvitations(ctx, db, MemberInvitationFilter{Email: u.Email}); err != nil {
		return nil, err
	}
	err = db.Table("refresh_tokens").
		Select("id, created_at, expires_at, used_at, revoked_at, user_agent, client_ip").Where("user_id = ?", u.ID).
		Order("created_at DESC").Order("id DESC").Scan(&out.Sessions).Error
	if err != nil {
		return nil, translate(err)
	}
	if err = db.Where("user_id = ?", u.ID).Order("created_at DESC").Find(&out.Enrollments).Error; err != nil {
		return nil, translate(err)
	}
	if err = db.Omit("invoice_pdf").Where("buyer_id = ?", u.ID).Order("created_at DESC").Find(&out.Orders).Error; err != nil {
		return nil, translate(err)
	}
	if err = db.Omit("file_data").Where("user_id = ?", u.ID).Order("created_at DESC").Find(&out.Cards).Error; err != nil {
		return nil, translate(err)
	}
	err = db.Table("outbox").
		Select("id, subject, status, text_body, created_at").Where("user_id = ?", u.ID).
		Order("created_at DESC").Order("id DESC").Scan(&out.Emails).Error
	if err != nil {
		return nil, translate(err)
	}
	return &out, nil
}
