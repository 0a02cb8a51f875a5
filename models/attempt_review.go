package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
)

// ReviewedAttempt is an attempt as a platform admin reviews it: who took it, when, the
// result and why it was flagged.
type ReviewedAttempt struct {
	ID           uuid.UUID
	EnrollmentID uuid.UUID
	CourseCode   string
	Number       int
	Status       string
	UserID       uuid.UUID
	LearnerName  string
	LearnerEmail string
	StartedAt    time.Time
	Deadline     time.Time
	SubmittedAt  *time.Time
	GradedAt     *time.Time
	Score        *float64
	Passed       *bool
	ClientIP     string
	UserAgent    string
	Flagged      bool
	FlagReasons  pq.StringArray `gorm:"type:text[]"`
}

// ReviewedAttemptFilter narrows ListReviewedAttempts; zero fields do not filter.
type ReviewedAttemptFilter struct {
	Flagged    *bool
	CourseCode string
	Page       Page // newest start first
}

// ListReviewedAttempts returns attempts newest start first with their learners, and the
// cursor of the next page.
func ListReviewedAttempts(ctx context.Context, db *gorm.DB, f ReviewedAttemptFilter) ([]ReviewedAttempt, *Cursor, error) {
	db = db.WithContext(ctx)
	sub := db.Table("attempts a").
		Select(`a.id, a.enrollment_id, a.course_code, a.number, a.status, a.user_id,
			u.name AS learner_name, u.email AS learner_email, a.started_at, a.started_at AS created_at,
			a.deadline, a.submitted_at, a.graded_at, a.score, a.passed, a.client_ip, a.user_agent,
			a.flagged, a.flag_reasons`).
		Joins("JOIN users u ON u.id = a.user_id")
	if f.Flagged != nil {
		sub = sub.Where("a.flagged = ?", *f.Flagged)
	}
	if f.CourseCode != "" {
		sub = sub.Where("a.course_code = ?", f.CourseCode)
	}
	var rows []ReviewedAttempt
	if err := f.Page.apply(db.Table("(?) AS reviewed", sub), "reviewed").Scan(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(a ReviewedAttempt) Cursor { return Cursor{Time: a.StartedAt, ID: a.ID.String()} })
	return rows, next, nil
}
