package models

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
)

// MemberInvitationTTL is how long an invitation to join an org stays open.
const MemberInvitationTTL = 7 * 24 * time.Hour

// Member invitation statuses.
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationRevoked  = "revoked"
	InvitationExpired  = "expired"
)

// MemberInvitation invites an email address to join an org with roles. Only a SHA-256 of
// its token is stored; the token travels in the email only.
type MemberInvitation struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	Email      string
	Roles      pq.StringArray `gorm:"type:text[]"`
	TokenHash  []byte
	InvitedBy  uuid.UUID
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	AcceptedBy *uuid.UUID
	RevokedAt  *time.Time
	CreatedAt  time.Time
}

// TableName is the table of member invitations.
func (MemberInvitation) TableName() string { return "org_member_invitations" }

// Status says whether the invitation is pending, accepted, revoked or expired at now.
func (i *MemberInvitation) Status(now time.Time) string {
	switch {
	case i.AcceptedAt != nil:
		return InvitationAccepted
	case i.RevokedAt != nil:
		return InvitationRevoked
	case !i.ExpiresAt.After(now):
		return InvitationExpired
	}
	return InvitationPending
}

// CreateMemberInvitation stores inv with a new token and returns the token's secret. It
// returns ErrAlreadyMember if the address belongs to a member of the org already.
func CreateMemberInvitation(ctx context.Context, db *gorm.DB, inv *MemberInvitation) (string, error) {
	db = db.WithContext(ctx)
	var member bool
	err := db.Raw(`SELECT EXISTS (SELECT 1 FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND u.email = ?)`, inv.OrgID, inv.Email).Scan(&member).Error
	if err != nil {
		return "", translate(err)
	}
	if member {
		return "", ErrAlreadyMember
	}
	if inv.ID == uuid.Nil {
		inv.ID = uuid.New()
	}
	secret := NewSecret()
	inv.TokenHash = HashSecret(secret)
	if err := db.Create(inv).Error; err != nil {
		return "", translate(err)
	}
	return secret, nil
}

// MemberInvitationFilter narrows ListMemberInvitations; zero fields do not filter.
type MemberInvitationFilter struct {
	OrgID *uuid.UUID
	Email string // case-insensitive
	Page  Page   // zero Limit: every invitation
}

// ListMemberInvitations returns invitations newest first, and the cursor of the next page.
func ListMemberInvitations(ctx context.Context, db *gorm.DB, f MemberInvitationFilter) ([]MemberInvitation, *Cursor, error) {
	q := db.WithContext(ctx).Model(&MemberInvitation{})
	if f.OrgID != nil {
		q = q.Where("org_id = ?", *f.OrgID)
	}
	if f.Email != "" {
		q = q.Where("email = ?", NormalizeEmail(f.Email))
	}
	var rows []MemberInvitation
	if f.Page.Limit == 0 {
		err := q.Order("created_at DESC").Order("id DESC").Find(&rows).Error
		return rows, nil, translate(err)
	}
	if err := f.Page.apply(q, "org_member_invitations").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(i MemberInvitation) Cursor { return Cursor{Time: i.CreatedAt, ID: i.ID.String()} })
	return rows, next, nil
}

// RevokeMemberInvitation revokes the org's pending invitation id and returns it. It returns
// ErrInvitationClosed if it was accepted or revoked before, ErrNotFound if the org has no
// such invitation.
func RevokeMemberInvitation(ctx context.Context, db *gorm.DB, orgID, id uuid.UUID, now time.Time) (*MemberInvitation, error) {
	db = db.WithContext(ctx)
	res := db.Model(&MemberInvitation{}).
		Where("id = ? AND org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL", id, orgID).
		Update("revoked_at", now)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	var inv MemberInvitation
	if err := db.First(&inv, "id = ? AND org_id = ?", id, orgID).Error; err != nil {
		return nil, translate(err)
	}
	if res.RowsAffected == 0 {
		return nil, ErrInvitationClosed
	}
	return &inv, nil
}

// AcceptMemberInvitation makes user a member of the org the invitation secret was sent for,
// with the invited roles, and spends the invitation. The invitation's row is locked, so of
// several concurrent callers exactly one succeeds. It returns ErrTokenInvalid for an
// unknown, used, revoked or expired invitation, ErrEmailMismatch if it was sent to another
// address, ErrEmailUnverified if the user's address is not verified, and ErrAlreadyMember
// (leaving the invitation open) if the user is a member already.
func AcceptMemberInvitation(ctx context.Context, db *gorm.DB, secret string, user *User, now time.Time) (*Membership, error) {
	var m *Membership
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		inv, err := lockOpenInvitation(tx, secret, now)
		if err != nil {
			return err
		}
		switch {
		case !strings.EqualFold(inv.Email, user.Email):
			return ErrEmailMismatch
		case !user.EmailVerified():
			return ErrEmailUnverified
		}
		err = tx.Create(&OrgMember{OrgID: inv.OrgID, UserID: user.ID, Roles: inv.Roles, CreatedAt: now, UpdatedAt: now}).Error
		if uniqueViolation(err, "org_members_pkey") {
			return ErrAlreadyMember
		}
		if err != nil {
			return translate(err)
		}
		err = tx.Model(&MemberInvitation{}).Where("id = ?", inv.ID).
			Updates(map[string]any{"accepted_at": now, "accepted_by": user.ID}).Error
		if err != nil {
			return translate(err)
		}
		m, err = FindMembership(ctx, tx, inv.OrgID, user.ID)
		return err
	})
	return m, err
}

// lockOpenInvitation returns the open invitation for secret locked FOR UPDATE, or
// ErrTokenInvalid. A caller that waited for the lock sees the row as its holder left it.
func lockOpenInvitation(tx *gorm.DB, secret string, now time.Time) (*MemberInvitation, error) {
	var inv MemberInvitation
	err := tx.Raw(`SELECT * FROM org_member_invitations
		WHERE token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		FOR UPDATE`, HashSecret(secret), now).Scan(&inv).Error
	if err != nil {
		return nil, translate(err)
	}
	if inv.ID == uuid.Nil {
		return nil, ErrTokenInvalid
	}
	return &inv, nil
}

// PeekMemberInvitation returns the open invitation for secret and its org without spending it
// (opening the link in an email never spends it). It returns ErrTokenInvalid for an unknown,
// used, revoked or expired invitation.
func PeekMemberInvitation(ctx context.Context, db *gorm.DB, secret string, now time.Time) (*MemberInvitation, *Org, error) {
	var inv MemberInvitation
	err := db.WithContext(ctx).First(&inv, `token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?`,
		HashSecret(secret), now).Error
	if err != nil {
		return nil, nil, ErrTokenInvalid
	}
	org, err := FindOrg(ctx, db, inv.OrgID)
	if err != nil {
		return nil, nil, err
	}
	return &inv, org, nil
}
