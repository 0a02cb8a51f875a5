package models

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
)

// Org roles. A member may hold several; an org's admins hold all of them.
const (
	RoleAdmin      = "admin"
	RoleVerifier   = "verifier"
	RoleInstructor = "instructor"
	RoleMember     = "member"
)

// OrgRoles lists every org role.
var OrgRoles = []string{RoleAdmin, RoleVerifier, RoleInstructor, RoleMember}

// IsOrgRole reports whether r is an org role.
func IsOrgRole(r string) bool { return slices.Contains(OrgRoles, r) }

// RoleNeedsApproval reports whether only an approved org may use r: verifiers and
// instructors vouch for other people, which a self-made org may not do.
func RoleNeedsApproval(r string) bool { return r == RoleVerifier || r == RoleInstructor }

// HasRole reports whether a member holding roles holds need. Admins hold every role.
func HasRole(roles []string, need string) bool {
	return slices.Contains(roles, need) || slices.Contains(roles, RoleAdmin)
}

// Org is an organization: a hospital, an anesthesia group, a credentialing office.
type Org struct {
	ID         uuid.UUID
	Name       string
	ApprovedAt *time.Time
	ApprovedBy *uuid.UUID
	CreatedBy  uuid.UUID
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Approved reports whether a platform admin approved the org.
func (o *Org) Approved() bool { return o.ApprovedAt != nil }

// CheckGrantable returns ErrOrgNotApproved if roles hold one the org may not grant yet.
func (o *Org) CheckGrantable(roles []string) error {
	if !o.Approved() && slices.ContainsFunc(roles, RoleNeedsApproval) {
		return ErrOrgNotApproved
	}
	return nil
}

// OrgMember is a user's membership of an org.
type OrgMember struct {
	OrgID     uuid.UUID
	UserID    uuid.UUID
	Roles     pq.StringArray `gorm:"type:text[]"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Membership is an org seen by one of its members: the org and the member's roles.
type Membership struct {
	Org
	Roles    pq.StringArray `gorm:"type:text[]"`
	JoinedAt time.Time
}

// CreateOrg inserts o and makes o.CreatedBy its admin, both or neither.
func CreateOrg(ctx context.Context, db *gorm.DB, o *Org) error {
	if o.ID == uuid.Nil {
		o.ID = uuid.New()
	}
	return translate(db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(o).Error; err != nil {
			return err
		}
		return tx.Create(&OrgMember{OrgID: o.ID, UserID: o.CreatedBy, Roles: pq.StringArray{RoleAdmin},
			CreatedAt: o.CreatedAt, UpdatedAt: o.CreatedAt}).Error
	}))
}

// FindOrg returns the org with id, or ErrNotFound.
func FindOrg(ctx context.Context, db *gorm.DB, id uuid.UUID) (*Org, error) {
	var o Org
	if err := db.WithContext(ctx).First(&o, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &o, nil
}

// FindMembership returns the org with orgID as seen by userID, in one query. It returns
// ErrNotFound both when there is no such org and when the user is not a member, so callers
// cannot tell the two apart.
func FindMembership(ctx context.Context, db *gorm.DB, orgID, userID uuid.UUID) (*Membership, error) {
	var m Membership
	res := db.WithContext(ctx).Raw(`SELECT orgs.*, m.roles, m.created_at AS joined_at
		FROM orgs JOIN org_members m ON m.org_id = orgs.id
		WHERE orgs.id = ? AND m.user_id = ?`, orgID, userID).Scan(&m)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	return &m, nil
}

// MembershipFilter narrows ListMemberships.
type MembershipFilter struct {
	UserID uuid.UUID
	Page   Page // zero Limit: every membership
}

// ListMemberships returns the orgs the user belongs to, newest org first, and the cursor of
// the next page.
func ListMemberships(ctx context.Context, db *gorm.DB, f MembershipFilter) ([]Membership, *Cursor, error) {
	q := db.WithContext(ctx).Table("orgs").
		Select("orgs.*, m.roles, m.created_at AS joined_at").
		Joins("JOIN org_members m ON m.org_id = orgs.id").
		Where("m.user_id = ?", f.UserID)
	var rows []Membership
	if f.Page.Limit == 0 {
		err := q.Order("orgs.created_at DESC").Order("orgs.id DESC").Scan(&rows).Error
		return rows, nil, translate(err)
	}
	if err := f.Page.apply(q, "orgs").Scan(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(m Membership) Cursor { return Cursor{Time: m.CreatedAt, ID: m.ID.String()} })
	return rows, next, nil
}

// OrgFilter narrows ListOrgs.
type OrgFilter struct {
	Approved *bool
	Page     Page
}

// ListOrgs returns orgs newest first, and the cursor of the next page.
func ListOrgs(ctx context.Context, db *gorm.DB, f OrgFilter) ([]Org, *Cursor, error) {
	q := db.WithContext(ctx).Model(&Org{})
	if f.Approved != nil {
		if *f.Approved {
			q = q.Where("approved_at IS NOT NULL")
		} else {
			q = q.Where("approved_at IS NULL")
		}
	}
	var rows []Org
	if err := f.Page.apply(q, "orgs").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(o Org) Cursor { return Cursor{Time: o.CreatedAt, ID: o.ID.String()} })
	return rows, next, nil
}

// OrgUpdate lists the fields UpdateOrg changes; nil fields are left alone.
type OrgUpdate struct {
	Name *string
}

// UpdateOrg applies upd to the org with id and returns the org as it now is, or ErrNotFound.
func UpdateOrg(ctx context.Context, db *gorm.DB, id uuid.UUID, upd OrgUpdate, now time.Time) (*Org, error) {
	cols := map[string]any{"updated_at": now}
	if upd.Name != nil {
		cols["name"] = *upd.Name
	}
	if err := db.WithContext(ctx).Model(&Org{}).Where("id = ?", id).Updates(cols).Error; err != nil {
		return nil, translate(err)
	}
	return FindOrg(ctx, db, id)
}

// ApproveOrg records that a platform admin approved the org, and returns it. It returns
// ErrAlreadyApproved if it was approved before, ErrNotFound if there is no such org.
func ApproveOrg(ctx context.Context, db *gorm.DB, id, by uuid.UUID, now time.Time) (*Org, error) {
	res := db.WithContext(ctx).Model(&Org{}).Where("id = ? AND approved_at IS NULL", id).
		Updates(map[string]any{"approved_at": now, "approved_by": by, "updated_at": now})
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	o, err := FindOrg(ctx, db, id)
	if err == nil && res.RowsAffected == 0 {
		return nil, ErrAlreadyApproved
	}
	return o, err
}
