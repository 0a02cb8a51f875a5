package models

import (
	"context"
	"time"

	"github.com/lib/pq"
	"gorm.io/gorm"
)

// Offering kinds.
const (
	OfferingInitial = "initial"
	OfferingRenewal = "renewal"
)

// ExamSettings are a course's exam rules.
type ExamSettings struct {
	Questions        int                `json:"questions"`
	PassPercent      int                `json:"pass_percent"`
	TimeLimitMinutes int                `json:"time_limit_minutes"`
	Attempts         int                `json:"attempts"`
	Blueprint        map[string]float64 `json:"blueprint"` // domain → share of the form
}

// Course is a certification course (AALS, ACLS).
type Course struct {
	Code                     string `gorm:"primaryKey"`
	Title                    string
	Edition                  string
	GuidelineEdition         string
	Description              string
	Accreditation            string
	ValidityMonths           int
	SkillsCheckRequired      bool
	RenewalWindowBeforeDays  int
	RenewalWindowAfterDays   int
	EnrollmentLifetimeMonths int
	CEApprovingBody          string        `gorm:"column:ce_approving_body"`
	CEApprovalCode           string        `gorm:"column:ce_approval_code"`
	CEApprovalExpires        *time.Time    `gorm:"column:ce_approval_expires;type:date"`
	Exam                     ExamSettings  `gorm:"serializer:json;type:jsonb"`
	ReminderOffsetsDays      pq.Int64Array `gorm:"type:integer[]"`
	Offerings                []Offering    `gorm:"foreignKey:CourseCode;references:Code"`
	CreatedAt                time.Time
	UpdatedAt                time.Time
}

// CEApprovalValid reports whether CE credits may be printed on day: only while the course's
// approval is in force.
func (c *Course) CEApprovalValid(day time.Time) bool {
	if c.CEApprovalCode == "" || c.CEApprovalExpires == nil {
		return false
	}
	y, m, d := day.Date()
	ey, em, ed := c.CEApprovalExpires.Date()
	return !time.Date(y, m, d, 0, 0, 0, 0, time.UTC).After(time.Date(ey, em, ed, 0, 0, 0, 0, time.UTC))
}

// Offering is one way to buy a course: initial or renewal.
type Offering struct {
	CourseCode string `gorm:"primaryKey"`
	Kind       string `gorm:"primaryKey"`
	PriceCents int
	Currency   string
	CECredits  float64 `gorm:"column:ce_credits"`
	Active     bool
	UpdatedAt  time.Time
}

// Errors of the catalog.
var (
	ErrOfferingUnavailable = NewError("offering-unavailable", ErrInvalid, "this offering is not for sale")
)

// FindCourse returns the course with its offerings, or ErrNotFound.
func FindCourse(ctx context.Context, db *gorm.DB, code string) (*Course, error) {
	var c Course
	if err := db.WithContext(ctx).Preload("Offerings", func(q *gorm.DB) *gorm.DB { return q.Order("kind") }).
		First(&c, "code = ?", code).Error; err != nil {
		return nil, translate(err)
	}
	return &c, nil
}

// FindOffering returns the course's offering of kind, or ErrNotFound.
func FindOffering(ctx context.Context, db *gorm.DB, code, kind string) (*Offering, error) {
	var o Offering
	if err := db.WithContext(ctx).First(&o, "course_code = ? AND kind = ?", code, kind).Error; err != nil {
		return nil, translate(err)
	}
	return &o, nil
}
