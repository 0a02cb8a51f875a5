package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Cohort is an org admin's group of staff to certify in one course offering by a due date.
type Cohort struct {
	ID           uuid.UUID
	OrgID        uuid.UUID
	Name         string
	CourseCode   string
	Offering     string
	DueDate      time.Time
	AllowSelfPay bool
	ArchivedAt   *time.Time
	CreatedBy    uuid.UUID
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Archived reports whether the cohort was archived: it takes no more invitations.
func (c *Cohort) Archived() bool { return c.ArchivedAt != nil }

// Errors of cohorts.
var (
	ErrCohortArchived = NewError("cohort-archived", ErrConflict, "this cohort is archived and takes no invitations")
)

// CreateCohort inserts the cohort, assigning its ID.
func CreateCohort(ctx context.Context, db *gorm.DB, c *Cohort) error {
	if c.ID == uuid.Nil {
		c.ID = uuid.New()
	}
	return translate(db.WithContext(ctx).Create(c).Error)
}

// FindCohort returns the org's cohort, or ErrNotFound: a cohort of another org is not found.
func FindCohort(ctx context.Context, db *gorm.DB, orgID, id uuid.UUID) (*Cohort, error) {
	var c Cohort
	if err := db.WithContext(ctx).First(&c, "id = ? AND org_id = ?", id, orgID).Error; err != nil {
		return nil, translate(err)
	}
	return &c, nil
}

// CohortFilter narrows ListCohorts.
type CohortFilter struct {
	OrgID           uuid.UUID
	IncludeArchived bool
	Page            Page
}

// ListCohorts returns the org's cohorts newest first, and the next cursor.
func ListCohorts(ctx context.Context, db *gorm.DB, f CohortFilter) ([]Cohort, *Cursor, error) {
	q := db.WithContext(ctx).Model(&Cohort{}).Where("org_id = ?", f.OrgID)
	if !f.IncludeArchived {
		q = q.Where("archived_at IS NULL")
	}
	if f.Page.Limit == 0 {
		f.Page.Limit = 50
	}
	var rows []Cohort
	if err := f.Page.apply(q, "cohorts").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(c Cohort) Cursor { return Cursor{Time: c.CreatedAt, ID: c.ID.String()} })
	return rows, next, nil
}

// UpdateCohort writes cols to the org's cohort and returns it as stored.
func UpdateCohort(ctx context.Context, db *gorm.DB, orgID, id uuid.UUID, cols map[string]any) (*Cohort, error) {
	res := db.WithContext(ctx).Model(&Cohort{}).Where("id = ? AND org_id = ?", id, orgID).Updates(cols)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	return FindCohort(ctx, db, orgID, id)
}

// CohortStats are the figures shown with a cohort.
type CohortStats struct {
	Invited        int // invitations not revoked, accepted ones included
	Accepted       int
	SeatsRemaining int // unused seats of the org's pool for the cohort's course offering
}

// CohortStatsOf returns the figures of each cohort (all of one org) in two queries, however
// many cohorts there are.
func CohortStatsOf(ctx context.Context, db *gorm.DB, orgID uuid.UUID, cohorts []Cohort) (map[uuid.UUID]CohortStats, error) {
	out := make(map[uuid.UUID]CohortStats, len(cohorts))
	if len(cohorts) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(cohorts))
	for i, c := range cohorts {
		ids[i] = c.ID
	}
	var counts []struct {
		CohortID uuid.UUID
		Invited  int
		Accepted int
	}
	err := db.WithContext(ctx).Raw(`SELECT cohort_id,
			count(*) FILTER (WHERE status <> 'revoked') AS invited,
			count(*) FILTER (WHERE status = 'accepted') AS accepted
		FROM cohort_invitations WHERE cohort_id IN ? GROUP BY cohort_id`, ids).Scan(&counts).Error
	if err != nil {
		return nil, translate(err)
	}
	pools, err := ListSeatPools(ctx, db, orgID)
	if err != nil {
		return nil, err
	}
	for _, c := range cohorts {
		st := CohortStats{}
		for _, n := range counts {
			if n.CohortID == c.ID {
				st.Invited, st.Accepted = n.Invited, n.Accepted
			}
		}
		for _, p := range pools {
			if p.CourseCode == c.CourseCode && p.Offering == c.Offering {
				st.SeatsRemaining = p.Available()
			}
		}
		out[c.ID] = st
	}
	return out, nil
}
