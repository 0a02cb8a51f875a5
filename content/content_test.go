package content_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/models"
)

func TestShippedCoursesValidate(t *testing.T) {
	t.Parallel()
	courses, err := content.Courses()
	if err != nil {
		t.Fatalf("shipped course files: %v", err)
	}
	byCode := map[string]*models.Course{}
	for _, c := range courses {
		byCode[c.Code] = c
	}
	for _, tc := range []struct {
		code                 string
		initial, renewal     int
		skills               bool
		domains              int
		initialCE, renewalCE float64
	}{
		{code: "AALS", initial: 29500, renewal: 19500, skills: false, domains: 5, initialCE: 8, renewalCE: 4},
		{code: "ACLS", initial: 19900, renewal: 14900, skills: true, domains: 7, initialCE: 8, renewalCE: 4},
	} {
		t.Run(tc.code, func(t *testing.T) {
			c := byCode[tc.code]
			if c == nil {
				t.Fatalf("no %s in the shipped catalog (got %d courses)", tc.code, len(courses))
			}
			ini, ren := c.Offering(models.OfferingInitial), c.Offering(models.OfferingRenewal)
			if ini == nil || ren == nil {
				t.Fatalf("offerings = %+v, want initial and renewal", c.Offerings)
			}
			if ini.PriceCents != tc.initial || ren.PriceCents != tc.renewal || ini.Currency != "usd" || !ini.Active || !ren.Active {
				t.Errorf("offerings = %+v, want %d / %d usd, on sale", c.Offerings, tc.initial, tc.renewal)
			}
			if ini.CECredits != tc.initialCE || ren.CECredits != tc.renewalCE {
				t.Errorf("CE credits = %v / %v, want %v / %v", ini.CECredits, ren.CECredits, tc.initialCE, tc.renewalCE)
			}
			if c.SkillsCheckRequired != tc.skills {
				t.Errorf("skills check = %v, want %v", c.SkillsCheckRequired, tc.skills)
			}
			if got := len(c.Exam.Blueprint); got != tc.domains {
				t.Errorf("blueprint has %d domains, want %d", got, tc.domains)
			}
			e := c.Exam
			if e.Questions != 30 || e.PassPercent != 84 || e.TimeLimitMinutes != 60 || e.Attempts != 3 {
				t.Errorf("exam = %+v, want 30 questions, 84%%, 60 min, 3 attempts", e)
			}
			if c.ValidityMonths != 24 || c.RenewalWindowBeforeDays != 90 || c.RenewalWindowAfterDays != 30 || c.EnrollmentLifetimeMonths != 12 {
				t.Errorf("validity %d, window %d/%d, lifetime %d; want 24, 90/30, 12",
					c.ValidityMonths, c.RenewalWindowBeforeDays, c.RenewalWindowAfterDays, c.EnrollmentLifetimeMonths)
			}
			if c.CEApprovalCode == "" || c.CEApprovalExpires == nil || !strings.Contains(c.CEApprovingBody, "AANA") {
				t.Errorf("CE approval = %q %q %v, want body, code and expiry", c.CEApprovingBody, c.CEApprovalCode, c.CEApprovalExpires)
			}
			if !strings.Contains(c.GuidelineEdition, "2025") {
				t.Errorf("guideline edition = %q, want the 2025 guidelines", c.GuidelineEdition)
			}
			if got := c.ReminderOffsetsDays; len(got) != 6 || got[0] != 90 || got[5] != -30 {
				t.Errorf("reminder offsets = %v, want [90 60 30 7 0 -30]", got)
			}
		})
	}
}

// validAALS is a well-formed course file; the broken cases edit it.
const validAALS = `code: AALS
title: Advanced Anesthesia Life Support
edition: "2026"
guideline_edition: 2025 AHA Guidelines for CPR and ECC
description: A course.
accreditation: The program's statement.
validity_months: 24
skills_check_required: false
ce: {approving_body: AANA, approval_code: X-1, approval_expires: 2028-12-31}
offerings:
  initial: {price_cents: 29500, currency: usd, ce_credits: 8.0}
  renewal: {price_cents: 19500, currency: usd, ce_credits: 4.0}
exam:
  questions: 30
  pass_percent: 84
  time_limit_minutes: 60
  attempts: 3
  blueprint: {monitoring_deterioration: 0.5, post_arrest_care: 0.5}
renewal_window: {before_days: 90, after_days: 30}
enrollment_lifetime_months: 12
reminder_offsets_days: [90, 60, 30, 7, 0, -30]
`

func TestBrokenCourseFileIsRejected(t *testing.T) {
	t.Parallel()
	if _, err := content.ParseCourse("courses/aals.yaml", []byte(validAALS)); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, wantField string
	}{
		{"BlueprintSum", "post_arrest_care: 0.5", "post_arrest_care: 0.45", "exam.blueprint"},
		{"NegativePrice", "price_cents: 19500", "price_cents: -1", "offerings.renewal.price_cents"},
		{"MissingRenewal", "  renewal: {price_cents: 19500, currency: usd, ce_credits: 4.0}\n", "", "offerings.renewal"},
		{"UnknownOffering", "  renewal:", "  refresher:", "offerings.refresher"},
		{"BadDate", "approval_expires: 2028-12-31", "approval_expires: soon", "ce.approval_expires"},
		{"MissingSkillsFlag", "skills_check_required: false\n", "", "skills_check_required"},
		{"CodeNotFileName", "code: AALS", "code: ACLS", "code"},
		{"PassMark", "pass_percent: 84", "pass_percent: 140", "exam.pass_percent"},
		{"MissingTitle", "title: Advanced Anesthesia Life Support\n", "", "title"},
		{"CreditsDecimals", "ce_credits: 8.0", "ce_credits: 8.25", "offerings.initial.ce_credits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			broken := strings.Replace(validAALS, tc.old, tc.new, 1)
			if broken == validAALS {
				t.Fatalf("case did not change the file")
			}
			_, err := content.ParseCourse("courses/aals.yaml", []byte(broken))
			var fe *content.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FileError", err)
			}
			if !strings.HasPrefix(err.Error(), "courses/aals.yaml: ") || !strings.Contains(err.Error(), tc.wantField+": ") {
				t.Fatalf("err = %q, want it to name the file and %s", err, tc.wantField)
			}
		})
	}
}

func TestUnknownFieldAndEveryBadFileAreReported(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"courses/aals.yaml": {Data: []byte(strings.Replace(validAALS, "edition: \"2026\"", "edition: \"2026\"\nedtion: typo", 1))},
		"courses/acls.yaml": {Data: []byte(strings.Replace(validAALS, "code: AALS", "code: ACLS", 1) + "exam: {}\n")},
	}
	_, err := content.LoadCourses(fsys)
	if err == nil {
		t.Fatal("LoadCourses accepted broken files")
	}
	for _, want := range []string{"courses/aals.yaml", "edtion", "courses/acls.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to mention %q", err, want)
		}
	}
}
