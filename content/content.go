// Package content holds the course catalog as data files embedded in the binary (one YAML
// file per course under courses/), parses and validates them, and seeds them into the
// database on first start.
package content

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"
	"go.yaml.in/yaml/v3"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/models"
)

//go:embed courses/*.yaml
var files embed.FS

// Course is one course as its data file states it.
type Course struct {
	Code                     string              `yaml:"code"`
	Title                    string              `yaml:"title"`
	Edition                  string              `yaml:"edition"`
	GuidelineEdition         string              `yaml:"guideline_edition"`
	Description              string              `yaml:"description"`
	Accreditation            string              `yaml:"accreditation"`
	ValidityMonths           int                 `yaml:"validity_months"`
	SkillsCheckRequired      *bool               `yaml:"skills_check_required"`
	CE                       CE                  `yaml:"ce"`
	Offerings                map[string]Offering `yaml:"offerings"`
	Exam                     Exam                `yaml:"exam"`
	RenewalWindow            RenewalWindow       `yaml:"renewal_window"`
	EnrollmentLifetimeMonths int                 `yaml:"enrollment_lifetime_months"`
	ReminderOffsetsDays      []int64             `yaml:"reminder_offsets_days"`
}

// CE is the course's continuing-education approval.
type CE struct {
	ApprovingBody   string `yaml:"approving_body"`
	ApprovalCode    string `yaml:"approval_code"`
	ApprovalExpires string `yaml:"approval_expires"` // YYYY-MM-DD, the last day it is in force
}

// Offering is one way to buy the course (initial or renewal).
type Offering struct {
	PriceCents int     `yaml:"price_cents"`
	Currency   string  `yaml:"currency"`
	CECredits  float64 `yaml:"ce_credits"`
	Active     *bool   `yaml:"active"` // absent: on sale
}

// Exam is the course's exam settings.
type Exam struct {
	Questions        int                `yaml:"questions"`
	PassPercent      int                `yaml:"pass_percent"`
	TimeLimitMinutes int                `yaml:"time_limit_minutes"`
	Attempts         int                `yaml:"attempts"`
	Blueprint        map[string]float64 `yaml:"blueprint"` // domain → share of the form
}

// RenewalWindow is how many days before and after expiry a renewal is allowed.
type RenewalWindow struct {
	BeforeDays *int `yaml:"before_days"`
	AfterDays  *int `yaml:"after_days"`
}

// Courses returns every shipped course, each parsed and validated, ordered by code.
func Courses() ([]*models.Course, error) { return LoadCourses(files) }

// LoadCourses parses and validates every courses/*.yaml file of fsys. It returns one error
// listing every bad file, each named with its problems.
func LoadCourses(fsys fs.FS) ([]*models.Course, error) {
	names, err := fs.Glob(fsys, "courses/*.yaml")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("content: no course files under courses/")
	}
	var out []*models.Course
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err == nil {
			var c *models.Course
			if c, err = ParseCourse(name, data); err == nil {
				out = append(out, c)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	slices.SortFunc(out, func(a, b *models.Course) int { return strings.Compare(a.Code, b.Code) })
	return out, errors.Join(errs...)
}

// ParseCourse parses and validates one course file. Unknown fields are errors, and the file
// name must be the course code in lower case (courses/aals.yaml holds AALS). The error names
// the file and every bad field.
func ParseCourse(name string, data []byte) (*models.Course, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Course
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var v models.ValidationError
	if want := strings.ToUpper(strings.TrimSuffix(path.Base(name), path.Ext(name))); c.Code != want {
		v.Add("code", fmt.Sprintf("is %q; the file %s must hold %s", c.Code, path.Base(name), want))
	}
	m := c.model(&v)
	if err := m.Validate(); err != nil {
		var ve *models.ValidationError
		if !errors.As(err, &ve) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		v.Fields = append(v.Fields, ve.Fields...)
	}
	if err := v.Err(); err != nil {
		return nil, &FileError{File: name, Fields: v.Fields}
	}
	return m, nil
}

// FileError is a course file that does not validate.
type FileError struct {
	File   string
	Fields []models.FieldError
}

func (e *FileError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return e.File + ": " + strings.Join(parts, "; ")
}

// model converts the file's course, recording in v what only the file format can get wrong
// (a missing section, a malformed date); models.Course.Validate checks the rest.
func (c *Course) model(v *models.ValidationError) *models.Course {
	m := &models.Course{
		Code: c.Code, Title: c.Title, Edition: c.Edition, GuidelineEdition: c.GuidelineEdition,
		Description: strings.TrimSpace(c.Description), Accreditation: strings.TrimSpace(c.Accreditation),
		ValidityMonths: c.ValidityMonths, EnrollmentLifetimeMonths: c.EnrollmentLifetimeMonths,
		CEApprovingBody: c.CE.ApprovingBody, CEApprovalCode: c.CE.ApprovalCode,
		Exam: models.ExamSettings{Questions: c.Exam.Questions, PassPercent: c.Exam.PassPercent,
			TimeLimitMinutes: c.Exam.TimeLimitMinutes, Attempts: c.Exam.Attempts, Blueprint: c.Exam.Blueprint},
		ReminderOffsetsDays: pq.Int64Array(c.ReminderOffsetsDays),
	}
	required(v, "skills_check_required", c.SkillsCheckRequired, &m.SkillsCheckRequired)
	required(v, "renewal_window.before_days", c.RenewalWindow.BeforeDays, &m.RenewalWindowBeforeDays)
	required(v, "renewal_window.after_days", c.RenewalWindow.AfterDays, &m.RenewalWindowAfterDays)
	c.CE.model(v, m)
	for _, kind := range slices.Sorted(maps.Keys(c.Offerings)) {
		o := c.Offerings[kind]
		active := o.Active == nil || *o.Active
		m.Offerings = append(m.Offerings, models.Offering{CourseCode: c.Code, Kind: kind, PriceCents: o.PriceCents,
			Currency: o.Currency, CECredits: o.CECredits, Active: active})
	}
	return m
}

// model sets the CE approval of m. The shipped catalog states an approval for every course.
func (ce CE) model(v *models.ValidationError, m *models.Course) {
	if strings.TrimSpace(ce.ApprovingBody) == "" {
		v.Add("ce.approving_body", "is required")
	}
	if strings.TrimSpace(ce.ApprovalCode) == "" {
		v.Add("ce.approval_code", "is required")
	}
	exp, err := time.Parse(time.DateOnly, ce.ApprovalExpires)
	if err != nil {
		v.Add("ce.approval_expires", "must be a date YYYY-MM-DD")
		return
	}
	m.CEApprovalExpires = &exp
}

func required[T any](v *models.ValidationError, field string, src *T, dst *T) {
	if src == nil {
		v.Add(field, "is required")
		return
	}
	*dst = *src
}

// SeedCourses inserts every shipped course that the database does not have yet and returns
// the codes it inserted. Courses already there are left as they are, admin edits included.
func SeedCourses(ctx context.Context, db *gorm.DB) (created []string, err error) {
	courses, err := Courses()
	if err != nil {
		return nil, err
	}
	for _, c := range courses {
		ok, err := models.SeedCourse(ctx, db, c)
		if err != nil {
			return created, err
		}
		if ok {
			created = append(created, c.Code)
		}
	}
	return created, nil
}
