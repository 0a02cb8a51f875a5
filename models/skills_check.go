package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// MaxSkillsNotesLen is the longest skills-check note, in characters.
const MaxSkillsNotesLen = 2000

// SkillsCheck is an instructor's attestation of a learner's hands-on skills check, one per
// enrollment. Its notes describe the performance only: they never hold patient data.
type SkillsCheck struct {
	EnrollmentID uuid.UUID `gorm:"primaryKey"`
	OrgID        uuid.UUID
	InstructorID uuid.UUID
	Passed       bool
	Notes        string
	AttestedAt   time.Time
}

// Errors of skills checks.
var (
	ErrNoSkillsCheck       = NewError("no-skills-check", ErrConflict, "this course has no skills check")
	ErrNotTrainingSite     = NewError("not-a-training-site", ErrInvalid, "the organization is not a training site: it must be approved by the program and name at least one instructor")
	ErrNoSkillsSite        = NewError("no-skills-site", ErrConflict, "the learner has not chosen a training site yet")
	ErrOwnSkillsCheck      = NewError("own-skills-check", ErrForbidden, "nobody attests their own skills check")
	ErrSkillsCheckRecorded = NewError("skills-check-recorded", ErrConflict, "a skills check is already recorded for this enrollment")
	ErrSkillsNotOpen       = NewError("enrollment-not-open", ErrConflict, "the enrollment is not open for a skills check")
)

// SkillsStatus is an enrollment's skills-check state: what the course requires, the
// training site the learner chose, and the attestation once recorded.
type SkillsStatus struct {
	EnrollmentID     uuid.UUID
	UserID           uuid.UUID
	CourseCode       string
	EnrollmentStatus string
	Required         bool
	Site             *Org // the training site the learner chose
	PassedAt         *time.Time
	Check            *SkillsCheck
}

// checkChoosable returns why the learner may not (re)choose a training site now, or nil:
// the course must need a check, the enrollment not be over (payment may still be pending,
// so a site can be arranged early) and no check be recorded yet.
func (st *SkillsStatus) checkChoosable() error {
	switch {
	case !st.Required:
		return ErrNoSkillsCheck
	case st.EnrollmentStatus != EnrollmentPendingPayment && st.EnrollmentStatus != EnrollmentActive:
		return ErrSkillsNotOpen
	case st.Check != nil:
		return ErrSkillsCheckRecorded
	}
	return nil
}

// CheckAttestable returns why no skills check may be recorded now, or nil: the course must
// need one, the enrollment be active (paid and not over), a site be chosen and no check be
// recorded yet.
func (st *SkillsStatus) CheckAttestable() error {
	switch {
	case !st.Required:
		return ErrNoSkillsCheck
	case st.Check != nil:
		return ErrSkillsCheckRecorded
	case st.EnrollmentStatus != EnrollmentActive:
		return ErrSkillsNotOpen
	case st.Site == nil:
		return ErrNoSkillsSite
	}
	return nil
}

// FindSkillsStatus returns the enrollment's skills-check state, or ErrNotFound. With lock
// (inside a transaction) the enrollment's row is locked FOR UPDATE, so choices and
// attestations of one enrollment run one at a time.
func FindSkillsStatus(ctx context.Context, db *gorm.DB, enrollmentID uuid.UUID, lock bool) (*SkillsStatus, error) {
	db = db.WithContext(ctx)
	var row struct {
		ID, UserID     uuid.UUID
		CourseCode     string
		Status         string
		SkillsOrgID    *uuid.UUID
		SkillsPassedAt *time.Time
		Required       bool
	}
	q := `SELECT e.id, e.user_id, e.course_code, e.status, e.skills_org_id, e.skills_passed_at,
			c.skills_check_required AS required
		FROM enrollments e JOIN courses c ON c.code = e.course_code WHERE e.id = ?`
	if lock {
		q += ` FOR UPDATE OF e`
	}
	res := db.Raw(q, enrollmentID).Scan(&row)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	st := &SkillsStatus{EnrollmentID: row.ID, UserID: row.UserID, CourseCode: row.CourseCode,
		EnrollmentStatus: row.Status, Required: row.Required, PassedAt: row.SkillsPassedAt}
	if row.SkillsOrgID != nil {
		site, err := FindOrg(ctx, db, *row.SkillsOrgID)
		if err != nil {
			return nil, err
		}
		st.Site = site
	}
	var chk SkillsCheck
	res = db.Where("enrollment_id = ?", enrollmentID).Limit(1).Find(&chk)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected > 0 {
		st.Check = &chk
	}
	return st, nil
}

// FindTrainingSite returns the org if it is a training site: approved by the program, with
// at least one member named instructor. (An org's admins may attest too, as they hold every
// role, but an org becomes a site by naming instructors.) It returns ErrNotTrainingSite
// otherwise, for an org that does not exist too.
func FindTrainingSite(ctx context.Context, db *gorm.DB, orgID uuid.UUID) (*Org, error) {
	var o Org
	res := db.WithContext(ctx).Raw(`SELECT o.* FROM orgs o
		WHERE o.id = ? AND o.approved_at IS NOT NULL
		AND EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = o.id AND ? = ANY(m.roles))`, orgID, RoleInstructor).Scan(&o)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotTrainingSite
	}
	return &o, nil
}

// ChooseSkillsSite records the training site the learner chose for the enrollment's skills
// check, replacing an earlier choice, and returns the new state. It returns
// ErrNoSkillsCheck if the course needs none, ErrSkillsNotOpen for an enrollment that is
// over, ErrSkillsCheckRecorded once a check is recorded, ErrNotTrainingSite if the org is
// not a training site, and ErrNotFound if there is no such enrollment.
func ChooseSkillsSite(ctx context.Context, db *gorm.DB, enrollmentID, orgID uuid.UUID, now time.Time) (*SkillsStatus, error) {
	var st *SkillsStatus
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if st, err = FindSkillsStatus(ctx, tx, enrollmentID, true); err != nil {
			return err
		}
		if err := st.checkChoosable(); err != nil {
			return err
		}
		if st.Site, err = FindTrainingSite(ctx, tx, orgID); err != nil {
			return err
		}
		return translate(tx.Exec(`UPDATE enrollments SET skills_org_id = ?, updated_at = ? WHERE id = ?`,
			orgID, now, enrollmentID).Error)
	})
	return st, err
}

// RecordSkillsCheck stores the attestation and, when passed, marks the enrollment's skills
// requirement met at its time. Callers lock the enrollment with FindSkillsStatus and check
// CheckAttestable and who attests first; a second attestation that slips past returns
// ErrSkillsCheckRecorded.
func RecordSkillsCheck(ctx context.Context, db *gorm.DB, chk *SkillsCheck) error {
	db = db.WithContext(ctx)
	err := db.Create(chk).Error
	if uniqueViolation(err, "skills_checks_pkey") {
		return ErrSkillsCheckRecorded
	}
	if err != nil || !chk.Passed {
		return translate(err)
	}
	return translate(db.Exec(`UPDATE enrollments SET skills_passed_at = ?, updated_at = ? WHERE id = ?`,
		chk.AttestedAt, chk.AttestedAt, chk.EnrollmentID).Error)
}

// PendingSkillsCheck is an active enrollment whose learner chose a training site and awaits
// the skills check there.
type PendingSkillsCheck struct {
	EnrollmentID uuid.UUID
	CourseCode   string
	Offering     string
	UserID       uuid.UUID
	LearnerName  string
	LearnerEmail string
	CreatedAt    time.Time // of the enrollment
}

// PendingSkillsFilter narrows ListPendingSkillsChecks.
type PendingSkillsFilter struct {
	OrgID uuid.UUID
	Page  Page
}

// ListPendingSkillsChecks returns the active enrollments that chose the org as their
// training site and have no skills check yet, newest enrollment first, and the cursor of
// the next page.
func ListPendingSkillsChecks(ctx context.Context, db *gorm.DB, f PendingSkillsFilter) ([]PendingSkillsCheck, *Cursor, error) {
	db = db.WithContext(ctx)
	sub := db.Table("enrollments e").
		Select(`e.id, e.id AS enrollment_id, e.course_code, e.offering, e.user_id,
			u.name AS learner_name, u.email AS learner_email, e.created_at`).
		Joins("JOIN users u ON u.id = e.user_id").
		Where("e.skills_org_id = ? AND e.status = ?", f.OrgID, EnrollmentActive).
		Where("NOT EXISTS (SELECT 1 FROM skills_checks s WHERE s.enrollment_id = e.id)")
	var rows []PendingSkillsCheck
	if err := f.Page.apply(db.Table("(?) AS pending", sub), "pending").Scan(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(p PendingSkillsCheck) Cursor {
		return Cursor{Time: p.CreatedAt, ID: p.EnrollmentID.String()}
	})
	return rows, next, nil
}
