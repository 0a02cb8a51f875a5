package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Enrollment statuses.
const (
	EnrollmentPendingPayment = "pending_payment"
	EnrollmentActive         = "active"
	EnrollmentCompleted      = "completed"
	EnrollmentFailed         = "failed"
	EnrollmentCancelled      = "cancelled"
	EnrollmentLapsed         = "lapsed"
)

// Enrollment is a provider's place in a course offering.
type Enrollment struct {
	ID          uuid.UUID
	UserID      uuid.UUID
	CourseCode  string
	Offering    string
	Status      string
	OrderID     *uuid.UUID
	OrgID       *uuid.UUID
	ActivatedAt *time.Time
	ExpiresAt   *time.Time
	CompletedAt *time.Time
	EndedAt     *time.Time
	EndReason   *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Errors of enrollments.
var (
	ErrEnrollmentOpen = NewError("enrollment-open", ErrConflict, "you already have an open enrollment in this course")
)

// CreateEnrollment inserts e (and its order first, if o is not nil), assigning IDs. It returns
// ErrEnrollmentOpen if the user already holds an open enrollment in the course, whoever
// wins a race: a unique index decides.
func CreateEnrollment(ctx context.Context, db *gorm.DB, e *Enrollment, o *Order) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if o != nil {
			if err := CreateOrder(ctx, tx, o); err != nil {
				return err
			}
			e.OrderID = &o.ID
		}
		if e.ID == uuid.Nil {
			e.ID = uuid.New()
		}
		if e.Status == "" {
			e.Status = EnrollmentPendingPayment
		}
		err := tx.Create(e).Error
		if uniqueViolation(err, "enrollments_one_open_idx") {
			return ErrEnrollmentOpen
		}
		return translate(err)
	})
}

// FindEnrollment returns the enrollment, or ErrNotFound.
func FindEnrollment(ctx context.Context, db *gorm.DB, id uuid.UUID) (*Enrollment, error) {
	var e Enrollment
	if err := db.WithContext(ctx).First(&e, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &e, nil
}

// FindEnrollmentByOrder returns the enrollment an order pays for, or ErrNotFound.
func FindEnrollmentByOrder(ctx context.Context, db *gorm.DB, orderID uuid.UUID) (*Enrollment, error) {
	var e Enrollment
	if err := db.WithContext(ctx).First(&e, "order_id = ?", orderID).Error; err != nil {
		return nil, translate(err)
	}
	return &e, nil
}

// EnrollmentFilter narrows ListEnrollments.
type EnrollmentFilter struct {
	UserID     uuid.UUID
	CourseCode string
	Status     string
	Page       Page
}

// ListEnrollments returns the user's enrollments newest first, and the next cursor.
func ListEnrollments(ctx context.Context, db *gorm.DB, f EnrollmentFilter) ([]Enrollment, *Cursor, error) {
	q := db.WithContext(ctx).Model(&Enrollment{}).Where("user_id = ?", f.UserID)
	if f.CourseCode != "" {
		q = q.Where("course_code = ?", f.CourseCode)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Page.Limit == 0 {
		f.Page.Limit = 50
	}
	var rows []Enrollment
	if err := f.Page.apply(q, "enrollments").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(e Enrollment) Cursor { return Cursor{Time: e.CreatedAt, ID: e.ID.String()} })
	return rows, next, nil
}

// LapseEnrollments ends every active enrollment whose lifetime ended before now, in one
// statement, and returns how many it lapsed.
func LapseEnrollments(ctx context.Context, db *gorm.DB, now time.Time) (int64, error) {
	res := db.WithContext(ctx).Exec(`UPDATE enrollments
		SET status = 'lapsed', ended_at = ?, end_reason = 'not completed within the enrollment lifetime', updated_at = ?
		WHERE status = 'active' AND expires_at <= ?`, now, now, now)
	return res.RowsAffected, translate(res.Error)
}

// endEnrollmentOfOrder ends the open enrollment an order pays for (pending or active, never
// completed) with status and reason. It is a no-op when there is none.
func endEnrollmentOfOrder(ctx context.Context, tx *gorm.DB, orderID uuid.UUID, status, reason string, now time.Time) error {
	return translate(tx.WithContext(ctx).Exec(`UPDATE enrollments
		SET status = ?, ended_at = ?, end_reason = ?, updated_at = ?
		WHERE order_id = ? AND status IN ('pending_payment', 'active')`, status, now, reason, now, orderID).Error)
}

// LockHolderName locks the user's name at their first enrollment (a credential will carry
// it; later changes go through a name-change request). A name locked before stays as it was.
func LockHolderName(ctx context.Context, db *gorm.DB, userID uuid.UUID, now time.Time) error {
	return translate(db.WithContext(ctx).Exec(`UPDATE users SET name_locked_at = ?, updated_at = ?
		WHERE id = ? AND name_locked_at IS NULL`, now, now, userID).Error)
}
