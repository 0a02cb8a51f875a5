package models

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
)

// Member is a member of an org as its admins see it.
type Member struct {
	UserID    uuid.UUID
	Email     string
	Name      string
	Roles     pq.StringArray `gorm:"type:text[]"`
	CreatedAt time.Time
}

// MemberFilter narrows ListMembers.
type MemberFilter struct {
	OrgID uuid.UUID
	Page  Page
}

// ListMembers returns an org's members, newest first, and the cursor of the next page.
func ListMembers(ctx context.Context, db *gorm.DB, f MemberFilter) ([]Member, *Cursor, error) {
	db = db.WithContext(ctx)
	sub := db.Table("org_members m").
		Select("m.user_id AS id, m.user_id, u.email, u.name, m.roles, m.created_at").
		Joins("JOIN users u ON u.id = m.user_id").
		Where("m.org_id = ?", f.OrgID)
	var rows []Member
	if err := f.Page.apply(db.Table("(?) AS members", sub), "members").Scan(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(m Member) Cursor { return Cursor{Time: m.CreatedAt, ID: m.UserID.String()} })
	return rows, next, nil
}

// FindMember returns the org's member userID, or ErrNotFound.
func FindMember(ctx context.Context, db *gorm.DB, orgID, userID uuid.UUID) (*Member, error) {
	var m Member
	res := db.WithContext(ctx).Raw(`SELECT m.user_id, u.email, u.name, m.roles, m.created_at
		FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND m.user_id = ?`, orgID, userID).Scan(&m)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	return &m, nil
}

// UpdateMemberRoles replaces the roles of a member and returns the membership before and
// after. It locks the org's row, so concurrent changes to one org's admins run one at a
// time, and returns ErrLastAdmin if the org would be left without an admin, ErrNotFound if
// the user is not a member. Callers check that the org may grant roles (Org.CheckGrantable).
func UpdateMemberRoles(ctx context.Context, db *gorm.DB, orgID, userID uuid.UUID, roles []string, now time.Time) (before, after *OrgMember, err error) {
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		before, err = lockMember(tx, orgID, userID)
		if err != nil {
			return err
		}
		if !slices.Contains(roles, RoleAdmin) {
			if err := keepAnotherAdmin(tx, before); err != nil {
				return err
			}
		}
		a := *before
		a.Roles, a.UpdatedAt = roles, now
		after = &a
		return translate(tx.Model(&OrgMember{}).Where("org_id = ? AND user_id = ?", orgID, userID).
			Updates(map[string]any{"roles": pq.StringArray(roles), "updated_at": now}).Error)
	})
	return before, after, err
}

// DeleteMember removes the user from the org and returns the removed membership. Like
// UpdateMemberRoles it locks the org, and returns ErrLastAdmin rather than remove the last
// admin, ErrNotFound if the user is not a member.
func DeleteMember(ctx context.Context, db *gorm.DB, orgID, userID uuid.UUID) (*OrgMember, error) {
	var removed *OrgMember
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, err := lockMember(tx, orgID, userID)
		if err != nil {
			return err
		}
		if err := keepAnotherAdmin(tx, m); err != nil {
			return err
		}
		removed = m
		return translate(tx.Where("org_id = ? AND user_id = ?", orgID, userID).Delete(&OrgMember{}).Error)
	})
	return removed, err
}

// lockMember locks the org's row (serializing changes to its members) and returns the
// membership, or ErrNotFound.
func lockMember(tx *gorm.DB, orgID, userID uuid.UUID) (*OrgMember, error) {
	if err := tx.Exec(`SELECT 1 FROM orgs WHERE id = ? FOR UPDATE`, orgID).Error; err != nil {
		return nil, translate(err)
	}
	var m OrgMember
	if err := tx.First(&m, "org_id = ? AND user_id = ?", orgID, userID).Error; err != nil {
		return nil, translate(err)
	}
	return &m, nil
}

// keepAnotherAdmin returns ErrLastAdmin if m is its org's only admin.
func keepAnotherAdmin(tx *gorm.DB, m *OrgMember) error {
	if !slices.Contains(m.Roles, RoleAdmin) {
		return nil
	}
	var others int64
	err := tx.Model(&OrgMember{}).
		Where("org_id = ? AND user_id <> ? AND ? = ANY(roles)", m.OrgID, m.UserID, RoleAdmin).
		Count(&others).Error
	if err != nil {
		return translate(err)
	}
	if others == 0 {
		return ErrLastAdmin
	}
	return nil
}
