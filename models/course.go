package models

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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

// Offering returns the course's offering of kind, or nil.
func (c *Course) Offering(kind string) *Offering {
	for i := range c.Offerings {
		if c.Offerings[i].Kind == kind {
			return &c.Offerings[i]
		}
	}
	return nil
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

// ListCourses returns every course with its offerings, by code.
func ListCourses(ctx context.Context, db *gorm.DB) ([]Course, error) {
	var cs []Course
	err := db.WithContext(ctx).Preload("Offerings", func(q *gorm.DB) *gorm.DB { return q.Order("kind") }).
		Order("code").Find(&cs).Error
	return cs, translate(err)
}

// SeedCourse inserts c and its offerings in one transaction if no course with its code
// exists, and reports whether it did. An existing course is left exactly as it is, so edits
// made by admins survive every restart; concurrent seeders insert it once.
func SeedCourse(ctx context.Context, db *gorm.DB, c *Course) (created bool, err error) {
	if err := c.Validate(); err != nil {
		return false, fmt.Errorf("seed course %s: %w", c.Code, err)
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Omit(clause.Associations).Clauses(clause.OnConflict{DoNothing: true}).Create(c)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		created = true
		for i := range c.Offerings {
			c.Offerings[i].CourseCode = c.Code
		}
		return tx.Create(&c.Offerings).Error
	})
	return created, translate(err)
}

// CourseUpdate changes a course; nil fields are left alone. Offerings maps an offering kind
// to its change.
type CourseUpdate struct {
	Title, Edition, GuidelineEdition, Description, Accreditation *string
	ValidityMonths                                               *int
	SkillsCheckRequired                                          *bool
	CEApprovingBody, CEApprovalCode                              *string
	CEApprovalExpires                                            *time.Time
	Exam                                                         *ExamUpdate
	RenewalWindowBeforeDays, RenewalWindowAfterDays              *int
	EnrollmentLifetimeMonths                                     *int
	ReminderOffsetsDays                                          []int64 // nil: unchanged
	Offerings                                                    map[string]OfferingUpdate
}

// ExamUpdate changes a course's exam settings; nil fields are left alone and a non-nil
// Blueprint replaces the whole blueprint.
type ExamUpdate struct {
	Questions, PassPercent, TimeLimitMinutes, Attempts *int
	Blueprint                                          map[string]float64
}

// OfferingUpdate changes an offering; nil fields are left alone. A new price applies to
// orders made from then on: orders keep the amount they were made with.
type OfferingUpdate struct {
	PriceCents *int
	CECredits  *float64
	Active     *bool
}

// UpdateCourse applies upd to the course with code, locking it FOR UPDATE (run it in a
// transaction), and returns the course before and after the change. The whole course is
// validated after the change: it returns a ValidationError naming every bad field, or
// ErrNotFound.
func UpdateCourse(ctx context.Context, db *gorm.DB, code string, upd CourseUpdate, now time.Time) (before, after *Course, err error) {
	c, err := lockCourse(ctx, db, code)
	if err != nil {
		return nil, nil, err
	}
	before = c.clone()
	if err := upd.apply(c); err != nil {
		return nil, nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if err := saveCourse(ctx, db, c, now); err != nil {
		return nil, nil, err
	}
	for _, kind := range keysSorted(upd.Offerings) {
		if _, err := UpdateOffering(ctx, db, code, kind, upd.Offerings[kind], now); err != nil {
			return nil, nil, err
		}
	}
	after, err = FindCourse(ctx, db, code)
	return before, after, err
}

// clone returns a deep copy of c, so changing one never changes the other.
func (c *Course) clone() *Course {
	d := *c
	d.Offerings = slices.Clone(c.Offerings)
	d.Exam.Blueprint = maps.Clone(c.Exam.Blueprint)
	d.ReminderOffsetsDays = slices.Clone(c.ReminderOffsetsDays)
	if c.CEApprovalExpires != nil {
		exp := *c.CEApprovalExpires
		d.CEApprovalExpires = &exp
	}
	return &d
}

// UpdateOffering applies upd to the course's offering of kind and returns it. It returns a
// ValidationError for a negative price or credits, or ErrNotFound.
func UpdateOffering(ctx context.Context, db *gorm.DB, code, kind string, upd OfferingUpdate, now time.Time) (*Offering, error) {
	o, err := FindOffering(ctx, db, code, kind)
	if err != nil {
		return nil, err
	}
	upd.apply(o)
	var v ValidationError
	o.validate(&v, "offerings."+kind+".")
	if err := v.Err(); err != nil {
		return nil, err
	}
	err = db.WithContext(ctx).Model(&Offering{}).Where("course_code = ? AND kind = ?", code, kind).
		Updates(map[string]any{"price_cents": o.PriceCents, "ce_credits": o.CECredits, "active": o.Active, "updated_at": now}).Error
	if err != nil {
		return nil, translate(err)
	}
	o.UpdatedAt = now
	return o, nil
}

// lockCourse returns the course with its offerings, the course row locked FOR UPDATE.
func lockCourse(ctx context.Context, db *gorm.DB, code string) (*Course, error) {
	var c Course
	err := db.WithContext(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).
		Preload("Offerings", func(q *gorm.DB) *gorm.DB { return q.Order("kind") }).
		First(&c, "code = ?", code).Error
	if err != nil {
		return nil, translate(err)
	}
	return &c, nil
}

func saveCourse(ctx context.Context, db *gorm.DB, c *Course, now time.Time) error {
	exam, err := json.Marshal(c.Exam)
	if err != nil {
		return err
	}
	cols := map[string]any{
		"title": c.Title, "edition": c.Edition, "guideline_edition": c.GuidelineEdition,
		"description": c.Description, "accreditation": c.Accreditation, "validity_months": c.ValidityMonths,
		"skills_check_required": c.SkillsCheckRequired, "ce_approving_body": c.CEApprovingBody,
		"ce_approval_code": c.CEApprovalCode, "ce_approval_expires": c.CEApprovalExpires, "exam": string(exam),
		"renewal_window_before_days": c.RenewalWindowBeforeDays, "renewal_window_after_days": c.RenewalWindowAfterDays,
		"enrollment_lifetime_months": c.EnrollmentLifetimeMonths, "reminder_offsets_days": c.ReminderOffsetsDays,
		"updated_at": now,
	}
	return translate(db.WithContext(ctx).Model(&Course{}).Where("code = ?", c.Code).Updates(cols).Error)
}

// apply changes c in memory. Offering changes are checked against c's offerings here and
// written by UpdateOffering.
func (u CourseUpdate) apply(c *Course) error {
	applyIf(&c.Title, u.Title)
	applyIf(&c.Edition, u.Edition)
	applyIf(&c.GuidelineEdition, u.GuidelineEdition)
	applyIf(&c.Description, u.Description)
	applyIf(&c.Accreditation, u.Accreditation)
	applyIf(&c.ValidityMonths, u.ValidityMonths)
	applyIf(&c.SkillsCheckRequired, u.SkillsCheckRequired)
	applyIf(&c.CEApprovingBody, u.CEApprovingBody)
	applyIf(&c.CEApprovalCode, u.CEApprovalCode)
	if u.CEApprovalExpires != nil {
		d := calendarDay(*u.CEApprovalExpires)
		c.CEApprovalExpires = &d
	}
	if u.Exam != nil {
		u.Exam.apply(&c.Exam)
	}
	applyIf(&c.RenewalWindowBeforeDays, u.RenewalWindowBeforeDays)
	applyIf(&c.RenewalWindowAfterDays, u.RenewalWindowAfterDays)
	applyIf(&c.EnrollmentLifetimeMonths, u.EnrollmentLifetimeMonths)
	if u.ReminderOffsetsDays != nil {
		c.ReminderOffsetsDays = pq.Int64Array(u.ReminderOffsetsDays)
	}
	var v ValidationError
	for _, kind := range keysSorted(u.Offerings) {
		o := c.Offering(kind)
		if o == nil {
			v.Add("offerings."+kind, "no such offering")
			continue
		}
		u.Offerings[kind].apply(o)
	}
	return v.Err()
}

func (u ExamUpdate) apply(e *ExamSettings) {
	applyIf(&e.Questions, u.Questions)
	applyIf(&e.PassPercent, u.PassPercent)
	applyIf(&e.TimeLimitMinutes, u.TimeLimitMinutes)
	applyIf(&e.Attempts, u.Attempts)
	if u.Blueprint != nil {
		e.Blueprint = u.Blueprint
	}
}

func (u OfferingUpdate) apply(o *Offering) {
	applyIf(&o.PriceCents, u.PriceCents)
	applyIf(&o.CECredits, u.CECredits)
	applyIf(&o.Active, u.Active)
}

func applyIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func keysSorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// calendarDay returns the calendar day of t as midnight UTC.
func calendarDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// FindOffering returns the course's offering of kind, or ErrNotFound.
func FindOffering(ctx context.Context, db *gorm.DB, code, kind string) (*Offering, error) {
	var o Offering
	if err := db.WithContext(ctx).First(&o, "course_code = ? AND kind = ?", code, kind).Error; err != nil {
		return nil, translate(err)
	}
	return &o, nil
}

var (
	courseCodePattern = regexp.MustCompile(`^[A-Z]{2,10}$`)
	domainPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)
	currencyPattern   = regexp.MustCompile(`^[a-z]{3}$`)
)

// Validate checks every setting of the course and its offerings (the same rules for the
// seeded data files and for admin edits) and returns a ValidationError naming each bad
// field with the names of the API ("exam.blueprint", "offerings.initial.price_cents").
func (c *Course) Validate() error {
	var v ValidationError
	if !courseCodePattern.MatchString(c.Code) {
		v.Add("code", "must be 2 to 10 capital letters")
	}
	requireText(&v, "title", c.Title, 200)
	requireText(&v, "edition", c.Edition, 50)
	requireText(&v, "guideline_edition", c.GuidelineEdition, 100)
	requireText(&v, "description", c.Description, 2000)
	requireText(&v, "accreditation", c.Accreditation, 2000)
	requireRange(&v, "validity_months", c.ValidityMonths, 1, 120)
	c.validateCE(&v)
	c.Exam.validate(&v)
	requireRange(&v, "renewal_window.before_days", c.RenewalWindowBeforeDays, 0, 365)
	requireRange(&v, "renewal_window.after_days", c.RenewalWindowAfterDays, 0, 365)
	requireRange(&v, "enrollment_lifetime_months", c.EnrollmentLifetimeMonths, 1, 60)
	c.validateReminders(&v)
	c.validateOfferings(&v)
	return v.Err()
}

func (c *Course) validateCE(v *ValidationError) {
	if utf8.RuneCountInString(c.CEApprovingBody) > 200 {
		v.Add("ce.approving_body", "must be at most 200 characters")
	}
	if utf8.RuneCountInString(c.CEApprovalCode) > 100 {
		v.Add("ce.approval_code", "must be at most 100 characters")
	}
	if c.CEApprovalCode != "" && strings.TrimSpace(c.CEApprovingBody) == "" {
		v.Add("ce.approving_body", "is required with an approval code")
	}
	if c.CEApprovalCode != "" && c.CEApprovalExpires == nil {
		v.Add("ce.approval_expires", "is required with an approval code")
	}
}

func (e *ExamSettings) validate(v *ValidationError) {
	requireRange(v, "exam.questions", e.Questions, 1, 200)
	requireRange(v, "exam.pass_percent", e.PassPercent, 1, 100)
	requireRange(v, "exam.time_limit_minutes", e.TimeLimitMinutes, 1, 600)
	requireRange(v, "exam.attempts", e.Attempts, 1, 10)
	if len(e.Blueprint) == 0 {
		v.Add("exam.blueprint", "needs at least one domain")
		return
	}
	sum := 0.0
	for _, d := range keysSorted(e.Blueprint) {
		share := e.Blueprint[d]
		if !domainPattern.MatchString(d) {
			v.Add("exam.blueprint."+d, "domain names are lower-case letters, digits and _ (at most 50)")
		}
		if share <= 0 || share > 1 {
			v.Add("exam.blueprint."+d, "share must be more than 0 and at most 1")
		}
		sum += share
	}
	if math.Abs(sum-1) > 0.001 {
		v.Add("exam.blueprint", fmt.Sprintf("shares sum to %.3f; they must sum to 1", sum))
	}
}

func (c *Course) validateReminders(v *ValidationError) {
	if len(c.ReminderOffsetsDays) == 0 || len(c.ReminderOffsetsDays) > 20 {
		v.Add("reminder_offsets_days", "must list 1 to 20 offsets")
	}
	seen := map[int64]bool{}
	for _, d := range c.ReminderOffsetsDays {
		if d < -365 || d > 365 || seen[d] {
			v.Add("reminder_offsets_days", "offsets are distinct days from -365 (after expiry) to 365 (before)")
			return
		}
		seen[d] = true
	}
}

func (c *Course) validateOfferings(v *ValidationError) {
	seen := map[string]bool{}
	for i := range c.Offerings {
		o := &c.Offerings[i]
		if o.Kind != OfferingInitial && o.Kind != OfferingRenewal {
			v.Add("offerings."+o.Kind, "kind must be initial or renewal")
			continue
		}
		if seen[o.Kind] {
			v.Add("offerings."+o.Kind, "is listed twice")
		}
		seen[o.Kind] = true
		o.validate(v, "offerings."+o.Kind+".")
	}
	for _, kind := range []string{OfferingInitial, OfferingRenewal} {
		if !seen[kind] {
			v.Add("offerings."+kind, "is required")
		}
	}
}

// validate checks the offering's price and credits; field names start with prefix.
func (o *Offering) validate(v *ValidationError, prefix string) {
	if o.PriceCents < 0 || o.PriceCents > 10_000_000 {
		v.Add(prefix+"price_cents", "must be from 0 to 10000000 (cents)")
	}
	if !currencyPattern.MatchString(o.Currency) {
		v.Add(prefix+"currency", "must be a lower-case ISO 4217 code such as usd")
	}
	if o.CECredits < 0 || o.CECredits > 99.9 || math.Abs(o.CECredits*10-math.Round(o.CECredits*10)) > 1e-9 {
		v.Add(prefix+"ce_credits", "must be from 0 to 99.9 with at most one decimal")
	}
}

func requireText(v *ValidationError, field, s string, maxLen int) {
	if strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > maxLen {
		v.Add(field, fmt.Sprintf("must be 1 to %d characters", maxLen))
	}
}

func requireRange(v *ValidationError, field string, n, lo, hi int) {
	if n < lo || n > hi {
		v.Add(field, fmt.Sprintf("must be from %d to %d", lo, hi))
	}
}
