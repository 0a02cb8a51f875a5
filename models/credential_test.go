package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// issueFixture stores a holder (email verified unless unverified) and an active enrollment in
// course, and returns both.
func issueFixture(t *testing.T, db *gorm.DB, course string, verified bool) (user, enrollment uuid.UUID) {
	t.Helper()
	user = holderFixture(t, db)
	return user, enrollFixture(t, db, user, course, verified)
}

func enrollFixture(t *testing.T, db *gorm.DB, user uuid.UUID, course string, verified bool) uuid.UUID {
	t.Helper()
	if verified {
		if err := db.Exec(`UPDATE users SET email_verified_at = now() WHERE id = ?`, user).Error; err != nil {
			t.Fatal(err)
		}
	}
	e := &models.Enrollment{UserID: user, CourseCode: course, Offering: "initial", Status: models.EnrollmentActive}
	if err := models.CreateEnrollment(context.Background(), db, e, nil); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

// issue issues the enrollment's credential at the instant at, on loc's calendar, in a
// transaction of its own.
func issue(db *gorm.DB, enrollment uuid.UUID, at time.Time, loc *time.Location) (*models.Credential, error) {
	var c *models.Credential
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		c, _, err = models.IssueCredential(context.Background(), tx, models.IssueInput{EnrollmentID: enrollment, IssuedAt: at, Location: loc, Rules: jobs.CredentialRules()})
		return err
	})
	return c, err
}

func mustIssue(t *testing.T, db *gorm.DB, enrollment uuid.UUID, at time.Time, loc *time.Location) *models.Credential {
	t.Helper()
	c, err := issue(db, enrollment, at, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func day(c time.Time) string { return c.Format(time.DateOnly) }

func TestIssueCredentialOncePerEnrollment(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	course := courseFixture(t, db, 90, 30)
	_, enr := issueFixture(t, db, course.Code, true)
	at := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)

	var wg sync.WaitGroup
	ids := make([]uuid.UUID, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := issue(db, enr, at, time.UTC)
			errs[i] = err
			if c != nil {
				ids[i] = c.ID
			}
		}()
	}
	wg.Wait()
	for i := range 8 {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("call %d returned %s, call 0 %s", i, ids[i], ids[0])
		}
	}
	var n int64
	db.Model(&models.Credential{}).Where("enrollment_id = ?", enr).Count(&n)
	if n != 1 {
		t.Errorf("%d credentials for one enrollment, want 1", n)
	}
	e, err := models.FindEnrollment(context.Background(), db, enr)
	if err != nil || e.Status != models.EnrollmentCompleted || e.CompletedAt == nil {
		t.Errorf("enrollment = %+v, %v; want completed", e, err)
	}
	c, _ := models.FindCredential(context.Background(), db, ids[0])
	if c.Code == "" || c.RevocationList != 1 || c.SuspensionList != 2 || c.EmailSalt == "" || c.HolderName != "Holder" {
		t.Errorf("credential = %+v", c)
	}
	h, err := models.CredentialHistory(context.Background(), db, c.ID)
	if err != nil || len(h) != 1 || h[0].Action != models.ActionIssued || h[0].Status != models.CredentialActive || !h[0].At.Equal(c.ValidFrom) {
		t.Errorf("history = %+v, %v; want one issued event at valid_from", h, err)
	}
}

func TestIssueCredentialDates(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		at      time.Time
		loc     *time.Location
		issued  string
		through string
		until   time.Time
	}{
		{"Jan 31", time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC), time.UTC, "2026-01-31", "2028-01-31", time.Date(2028, 1, 31, 23, 59, 59, 0, time.UTC)},
		{"Feb 29 leap year", time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC), time.UTC, "2028-02-29", "2030-02-28", time.Date(2030, 2, 28, 23, 59, 59, 0, time.UTC)},
		{"Dec 31", time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC), time.UTC, "2026-12-31", "2028-12-31", time.Date(2028, 12, 31, 23, 59, 59, 0, time.UTC)},
		// 03:00 UTC on Feb 1 is still Jan 31 in Chicago: the month of issue is January there.
		{"evening in Chicago", time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC), chicago, "2026-01-31", "2028-01-31", time.Date(2028, 2, 1, 5, 59, 59, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			course := courseFixture(t, db, 90, 30)
			_, enr := issueFixture(t, db, course.Code, true)
			c := mustIssue(t, db, enr, tc.at, tc.loc)
			if day(c.IssuedOn) != tc.issued || day(c.ValidThrough) != tc.through || !c.ValidUntil.Equal(tc.until) || !c.ValidFrom.Equal(tc.at) {
				t.Errorf("issued %s, valid %s through %s until %s; want issued %s, through %s until %s",
					day(c.IssuedOn), c.ValidFrom, day(c.ValidThrough), c.ValidUntil, tc.issued, tc.through, tc.until)
			}
			if c.Renews != nil {
				t.Errorf("a first credential renews %s", c.Renews)
			}
		})
	}
}

func TestIssueCredentialRenewal(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()

	t.Run("before expiry runs on from the old credential", func(t *testing.T) {
		course := courseFixture(t, db, 90, 30)
		user, enr := issueFixture(t, db, course.Code, true)
		old := mustIssue(t, db, enr, time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC), time.UTC) // through 2028-03-31
		renewal := enrollFixture(t, db, user, course.Code, true)
		c := mustIssue(t, db, renewal, time.Date(2028, 2, 10, 12, 0, 0, 0, time.UTC), time.UTC)
		if day(c.ValidThrough) != "2030-03-31" || c.Renews == nil || *c.Renews != old.ID {
			t.Errorf("renewal through %s renews %v; want 2030-03-31 renewing %s", day(c.ValidThrough), c.Renews, old.ID)
		}
		by, err := models.FindCredentialRenewal(ctx, db, old.ID)
		if err != nil || by == nil || *by != c.ID {
			t.Errorf("renewed by %v, %v; want %s", by, err, c.ID)
		}
		if o, _ := models.FindCredential(ctx, db, old.ID); o.Status != models.CredentialActive || !o.ValidUntil.Equal(old.ValidUntil) {
			t.Errorf("old credential changed: %+v", o)
		}
	})
	t.Run("after expiry counts from the pass date", func(t *testing.T) {
		course := courseFixture(t, db, 90, 30)
		user, enr := issueFixture(t, db, course.Code, true)
		mustIssue(t, db, enr, time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC), time.UTC) // through 2028-03-31
		renewal := enrollFixture(t, db, user, course.Code, true)
		c := mustIssue(t, db, renewal, time.Date(2028, 4, 10, 12, 0, 0, 0, time.UTC), time.UTC)
		if day(c.ValidThrough) != "2030-04-30" || c.Renews != nil {
			t.Errorf("late renewal through %s renews %v; want 2030-04-30 renewing nothing", day(c.ValidThrough), c.Renews)
		}
	})
}

func TestIssueCredentialEmailUnverified(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	course := courseFixture(t, db, 90, 30)
	_, enr := issueFixture(t, db, course.Code, false)
	if _, err := issue(db, enr, time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC), time.UTC); !errors.Is(err, models.ErrEmailUnverified) {
		t.Fatalf("issue = %v, want ErrEmailUnverified", err)
	}
	e, _ := models.FindEnrollment(context.Background(), db, enr)
	if e.Status != models.EnrollmentActive {
		t.Errorf("enrollment status %s, want active", e.Status)
	}
}

func TestIssueCredentialCECredits(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	course := courseFixture(t, db, 90, 30) // approval valid through 2028-12-31
	if err := db.Exec(`UPDATE offerings SET ce_credits = 8 WHERE course_code = ? AND kind = 'initial'`, course.Code).Error; err != nil {
		t.Fatal(err)
	}
	_, enr := issueFixture(t, db, course.Code, true)
	c := mustIssue(t, db, enr, time.Date(2028, 12, 31, 12, 0, 0, 0, time.UTC), time.UTC)
	if c.CECredits == nil || *c.CECredits != 8 || c.CEApprovalCode == nil || *c.CEApprovalCode != "X-1" {
		t.Errorf("on the last approved day: credits %v, code %v; want 8 and X-1", c.CECredits, c.CEApprovalCode)
	}
	_, enr = issueFixture(t, db, course.Code, true)
	c = mustIssue(t, db, enr, time.Date(2029, 1, 1, 12, 0, 0, 0, time.UTC), time.UTC)
	if c.CECredits != nil || c.CEApprovalCode != nil {
		t.Errorf("after the approval: credits %v, code %v; want none", c.CECredits, c.CEApprovalCode)
	}
}
