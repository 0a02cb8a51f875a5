package models

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Statuses of a cohort invitation as stored. An invited one past its expiry reads as expired.
const (
	CohortInvited         = "invited"
	CohortPendingApproval = "pending_approval"
	CohortAccepted        = "accepted"
	CohortRevoked         = "revoked"
	CohortExpired         = "expired"
)

// CohortInvitationTTL is how long an invitation link works; a resend starts it again.
const CohortInvitationTTL = 30 * 24 * time.Hour

// endSeatReclaimed is why an enrollment ended when its org took the seat back.
const endSeatReclaimed = "seat reclaimed by the organization"

// CohortInvitation is one address invited to a cohort.
type CohortInvitation struct {
	ID           uuid.UUID
	CohortID     uuid.UUID
	OrgID        uuid.UUID
	Email        string
	Name         *string
	NPI          *string `gorm:"column:npi"`
	Status       string
	TokenVersion int
	ExpiresAt    time.Time
	UserID       *uuid.UUID
	EnrollmentID *uuid.UUID
	SeatUsed     bool
	SelfPay      bool
	InvitedBy    uuid.UUID
	LastSentAt   time.Time
	AcceptedAt   *time.Time
	RevokedAt    *time.Time
	CreatedAt    time.Time
}

// StatusAt is the invitation's status as readers see it at now: an open one past its
// expiry is expired.
func (i *CohortInvitation) StatusAt(now time.Time) string {
	if (i.Status == CohortInvited || i.Status == CohortPendingApproval) && !now.Before(i.ExpiresAt) {
		return CohortExpired
	}
	return i.Status
}

// Errors of cohort invitations.
var (
	ErrInvitationUsed     = NewError("invitation-used", ErrConflict, "this invitation was already accepted")
	ErrInvitationRevoked  = NewError("invitation-revoked", ErrConflict, "this invitation was revoked")
	ErrNoSeatsLeft        = NewError("no-seats-left", ErrConflict, "the organization has no seats left for this course offering; ask its admin to buy more seats or to allow self-pay")
	ErrExamStarted        = NewError("exam-started", ErrConflict, "the member has started an exam in this enrollment, so its seat cannot be reclaimed")
	ErrNotPendingApproval = NewError("invitation-not-pending-approval", ErrConflict, "only an invitation accepted from another or unverified address waits for approval")
	ErrNoSeatToReclaim    = NewError("no-seat-to-reclaim", ErrConflict, "this invitation holds no seat of the organization")
)

// InviteToCohort stores an invitation to inv.CohortID for inv.Email, or re-opens a revoked
// one (a new token version, so older links stay dead). It returns false, changing nothing,
// when the address already holds an invitation in the cohort that is not revoked. inv is
// filled from the stored row.
func InviteToCohort(ctx context.Context, tx *gorm.DB, inv *CohortInvitation) (bool, error) {
	if inv.ID == uuid.Nil {
		inv.ID = uuid.New()
	}
	var rows []CohortInvitation
	err := tx.WithContext(ctx).Raw(`INSERT INTO cohort_invitations
			(id, cohort_id, org_id, email, name, npi, status, token_version, expires_at, invited_by, last_sent_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'invited', 1, ?, ?, ?, ?)
		ON CONFLICT (cohort_id, email) DO UPDATE SET status = 'invited',
			token_version = cohort_invitations.token_version + 1, expires_at = EXCLUDED.expires_at,
			name = COALESCE(EXCLUDED.name, cohort_invitations.name), npi = COALESCE(EXCLUDED.npi, cohort_invitations.npi),
			invited_by = EXCLUDED.invited_by, last_sent_at = EXCLUDED.last_sent_at, revoked_at = NULL,
			user_id = NULL, enrollment_id = NULL, seat_used = false, self_pay = false, accepted_at = NULL
		WHERE cohort_invitations.status = 'revoked'
		RETURNING *`,
		inv.ID, inv.CohortID, inv.OrgID, inv.Email, inv.Name, inv.NPI, inv.ExpiresAt, inv.InvitedBy, inv.LastSentAt, inv.CreatedAt).
		Scan(&rows).Error
	if err != nil {
		return false, translate(err)
	}
	if len(rows) == 0 {
		return false, nil
	}
	*inv = rows[0]
	return true, nil
}

// FindCohortInvitation returns the invitation of the org's cohort, or ErrNotFound.
func FindCohortInvitation(ctx context.Context, db *gorm.DB, orgID, cohortID, id uuid.UUID) (*CohortInvitation, error) {
	var i CohortInvitation
	err := db.WithContext(ctx).First(&i, "id = ? AND cohort_id = ? AND org_id = ?", id, cohortID, orgID).Error
	if err != nil {
		return nil, translate(err)
	}
	return &i, nil
}

// FindCohortInvitationByID returns the invitation, or ErrNotFound. Callers acting for an org
// use FindCohortInvitation, which scopes it.
func FindCohortInvitationByID(ctx context.Context, db *gorm.DB, id uuid.UUID) (*CohortInvitation, error) {
	var i CohortInvitation
	if err := db.WithContext(ctx).First(&i, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &i, nil
}

// LockCohortInvitation returns the invitation locked until the transaction ends, so one
// acceptance, approval, resend or reclaim acts on it at a time.
func LockCohortInvitation(ctx context.Context, tx *gorm.DB, id uuid.UUID) (*CohortInvitation, error) {
	var i CohortInvitation
	err := tx.WithContext(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).First(&i, "id = ?", id).Error
	if err != nil {
		return nil, translate(err)
	}
	return &i, nil
}

// ListCohortInvitations returns the cohort's invitations newest first, and the next cursor.
func ListCohortInvitations(ctx context.Context, db *gorm.DB, cohortID uuid.UUID, p Page) ([]CohortInvitation, *Cursor, error) {
	if p.Limit == 0 {
		p.Limit = 50
	}
	var rows []CohortInvitation
	q := db.WithContext(ctx).Model(&CohortInvitation{}).Where("cohort_id = ?", cohortID)
	if err := p.apply(q, "cohort_invitations").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(p, rows, func(i CohortInvitation) Cursor { return Cursor{Time: i.CreatedAt, ID: i.ID.String()} })
	return rows, next, nil
}

// UpdateCohortInvitation writes cols to the invitation and mirrors the stored row into i.
func UpdateCohortInvitation(ctx context.Context, tx *gorm.DB, i *CohortInvitation, cols map[string]any) error {
	if err := tx.WithContext(ctx).Model(&CohortInvitation{}).Where("id = ?", i.ID).Updates(cols).Error; err != nil {
		return translate(err)
	}
	return translate(tx.WithContext(ctx).First(i, "id = ?", i.ID).Error)
}

// TakeSeat uses one seat of the org's pool for the course offering, in one statement, so
// concurrent takers never spend a seat twice. It reports false when none is left.
func TakeSeat(ctx context.Context, tx *gorm.DB, orgID uuid.UUID, course, offering string, now time.Time) (bool, error) {
	res := tx.WithContext(ctx).Exec(`UPDATE seat_pools SET used = used + 1, updated_at = ?
		WHERE org_id = ? AND course_code = ? AND offering = ? AND used < total`, now, orgID, course, offering)
	return res.RowsAffected == 1, translate(res.Error)
}

// CreateSeatEnrollment creates the active enrollment an org seat pays for: no order, org_id
// set, its lifetime starting now, as a paid order's enrollment is activated. It returns
// ErrEnrollmentOpen if the user already holds an open enrollment in the course.
func CreateSeatEnrollment(ctx context.Context, tx *gorm.DB, userID, orgID uuid.UUID, course *Course, offering string, now time.Time) (*Enrollment, error) {
	expires := now.AddDate(0, course.EnrollmentLifetimeMonths, 0)
	e := &Enrollment{UserID: userID, CourseCode: course.Code, Offering: offering, Status: EnrollmentActive,
		OrgID: &orgID, ActivatedAt: &now, ExpiresAt: &expires, CreatedAt: now, UpdatedAt: now}
	if err := CreateEnrollment(ctx, tx, e, nil); err != nil {
		return nil, err
	}
	if err := LockHolderName(ctx, tx, userID, now); err != nil {
		return nil, err
	}
	return e, nil
}

// ReclaimSeat gives the seat of an accepted invitation back to the org's pool and cancels its
// enrollment, unless the member has started an exam in it (ErrExamStarted). The invitation
// must be locked by the caller; it stays accepted, without a seat.
func ReclaimSeat(ctx context.Context, tx *gorm.DB, inv *CohortInvitation, now time.Time) error {
	if inv.Status != CohortAccepted || !inv.SeatUsed || inv.EnrollmentID == nil {
		return ErrNoSeatToReclaim
	}
	e, err := FindEnrollment(ctx, tx, *inv.EnrollmentID)
	if err != nil {
		return err
	}
	var attempts int64
	if err := tx.WithContext(ctx).Table("attempts").Where("enrollment_id = ?", e.ID).Count(&attempts).Error; err != nil {
		return translate(err)
	}
	if attempts > 0 || e.Status == EnrollmentCompleted || e.Status == EnrollmentFailed {
		return ErrExamStarted
	}
	err = tx.WithContext(ctx).Exec(`UPDATE enrollments SET status = 'cancelled', ended_at = ?, end_reason = ?, updated_at = ?
		WHERE id = ? AND status IN ('pending_payment', 'active')`, now, endSeatReclaimed, now, e.ID).Error
	if err != nil {
		return translate(err)
	}
	res := tx.WithContext(ctx).Exec(`UPDATE seat_pools SET used = used - 1, updated_at = ?
		WHERE org_id = ? AND course_code = ? AND offering = ? AND used > 0`, now, inv.OrgID, e.CourseCode, e.Offering)
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return errors.New("reclaim seat: the org's seat pool has no used seat")
	}
	return UpdateCohortInvitation(ctx, tx, inv, map[string]any{"seat_used": false})
}
