package models_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

// courseFixture stores a valid course with a code of its own (so parallel tests on the shared
// database never wait on each other) and the given renewal window.
func courseFixture(t *testing.T, db *gorm.DB, before, after int) *models.Course {
	t.Helper()
	code := "T"
	for range 7 {
		code += string(rune('A' + rand.IntN(26)))
	}
	exp := time.Date(2028, 12, 31, 0, 0, 0, 0, time.UTC)
	c := &models.Course{Code: code, Title: "Test course", Edition: "2026", GuidelineEdition: "2025", Description: "d",
		Accreditation: "a", ValidityMonths: 24, RenewalWindowBeforeDays: before, RenewalWindowAfterDays: after,
		EnrollmentLifetimeMonths: 12, CEApprovingBody: "AANA", CEApprovalCode: "X-1", CEApprovalExpires: &exp,
		Exam:                models.ExamSettings{Questions: 30, PassPercent: 84, TimeLimitMinutes: 60, Attempts: 3, Blueprint: map[string]float64{"all": 1}},
		ReminderOffsetsDays: []int64{90, 0},
		Offerings: []models.Offering{{Kind: "initial", PriceCents: 100, Currency: "usd", Active: true},
			{Kind: "renewal", PriceCents: 50, Currency: "usd", Active: true}},
	}
	if _, err := models.SeedCourse(context.Background(), db, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func holderFixture(t *testing.T, db *gorm.DB) uuid.UUID {
	t.Helper()
	u := &models.User{Email: uuid.NewString() + "@example.org", PasswordHash: "x", Name: "Holder"}
	if err := models.CreateUser(context.Background(), db, u); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// cardSpec is an uploaded card of a test: its expiry and review status.
type cardSpec struct {
	expires string
	status  string
}

func addExternalCard(t *testing.T, db *gorm.DB, user uuid.UUID, course string, c cardSpec) {
	t.Helper()
	ctx := context.Background()
	exp, _ := time.Parse(time.DateOnly, c.expires)
	ec := &models.ExternalCredential{UserID: user, CourseCode: course, Issuer: "Elsewhere", CardNumber: "N-1",
		IssuedOn: exp.AddDate(-2, 0, 0), ExpiresOn: exp, FileName: "c.pdf", ContentType: "application/pdf", FileData: []byte("%PDF-")}
	if err := models.CreateExternalCredential(ctx, db, ec); err != nil {
		t.Fatal(err)
	}
	if c.status != models.ExternalPending {
		d := models.ExternalCredentialDecision{Status: c.status, By: user, Reason: "r", At: time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)}
		if _, _, err := models.DecideExternalCredential(ctx, db, ec.ID, d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckRenewalEligibility(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	course := courseFixture(t, db, 90, 30)
	// A card valid through 2027-03-31: the window runs from 2026-12-31 to 2027-04-30, both in full.
	verified := cardSpec{"2027-03-31", models.ExternalVerified}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		name     string
		cards    []cardSpec
		now      time.Time
		want     error // nil: eligible
		wantOpen string
	}{
		{"NoCredential", nil, at("2027-03-01T12:00:00Z"), models.ErrRenewalNoCredential, ""},
		{"DayBeforeWindow", []cardSpec{verified}, at("2026-12-30T23:59:59Z"), models.ErrRenewalTooEarly, "2026-12-31"},
		{"FirstDayOfWindow", []cardSpec{verified}, at("2026-12-31T00:00:00Z"), nil, ""},
		{"ExpiryDay", []cardSpec{verified}, at("2027-03-31T23:59:59Z"), nil, ""},
		{"LastDayOfGrace", []cardSpec{verified}, at("2027-04-30T23:59:59Z"), nil, ""},
		{"DayAfterGrace", []cardSpec{verified}, at("2027-05-01T00:00:00Z"), models.ErrRenewalTooLate, ""},
		{"LastGraceDayInIssuerZone", []cardSpec{verified}, at("2027-05-01T02:00:00Z").In(ny), nil, ""},
		{"PendingOnly", []cardSpec{{"2027-03-31", models.ExternalPending}}, at("2027-03-01T12:00:00Z"), models.ErrRenewalUnverified, ""},
		{"RejectedOnly", []cardSpec{{"2027-03-31", models.ExternalRejected}}, at("2027-03-01T12:00:00Z"), models.ErrRenewalNoCredential, ""},
		{"LapsedButNewCardPending", []cardSpec{{"2026-12-31", models.ExternalVerified}, {"2027-03-31", models.ExternalPending}},
			at("2027-03-01T12:00:00Z"), models.ErrRenewalUnverified, ""},
		{"OneEarlyOneInWindow", []cardSpec{{"2029-03-31", models.ExternalVerified}, verified}, at("2027-03-01T12:00:00Z"), nil, ""},
		{"VerifiedCardTooEarly", []cardSpec{{"2027-06-30", models.ExternalVerified}}, at("2027-03-01T12:00:00Z"), models.ErrRenewalTooEarly, "2027-04-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := holderFixture(t, db)
			for _, c := range tc.cards {
				addExternalCard(t, db, user, course.Code, c)
			}
			err := models.CheckRenewalEligibility(context.Background(), db, user, course, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckRenewalEligibility = %v, want eligible", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, models.ErrForbidden) {
				t.Fatalf("CheckRenewalEligibility = %v, want %v", err, tc.want)
			}
			var de *models.Error
			if !errors.As(err, &de) || de.Code != tc.want.(*models.Error).Code {
				t.Fatalf("error code = %v, want %s", de, tc.want.(*models.Error).Code)
			}
			if tc.wantOpen != "" && !strings.Contains(de.Msg, tc.wantOpen) {
				t.Errorf("message %q does not say the window opens on %s", de.Msg, tc.wantOpen)
			}
		})
	}
}

func TestRenewalWindowIsPerCourse(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	course := courseFixture(t, db, 60, 0)
	user := holderFixture(t, db)
	addExternalCard(t, db, user, course.Code, cardSpec{"2027-03-31", models.ExternalVerified})
	ctx := context.Background()
	for _, tc := range []struct {
		now  time.Time
		want error
	}{
		{time.Date(2027, 1, 29, 23, 59, 59, 0, time.UTC), models.ErrRenewalTooEarly}, // opens 60 days before: 2027-01-30
		{time.Date(2027, 1, 30, 0, 0, 0, 0, time.UTC), nil},
		{time.Date(2027, 3, 31, 23, 0, 0, 0, time.UTC), nil},
		{time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), models.ErrRenewalTooLate},
	} {
		err := models.CheckRenewalEligibility(ctx, db, user, course, tc.now)
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("at %s: %v, want %v", tc.now.Format(time.DateOnly), err, tc.want)
		}
	}
}

// TestRenewedCredentialIsNotRenewedAgain: once a renewal is issued, eligibility is judged on
// the renewal, so the old credential, though still inside its own window, opens no second one.
func TestRenewedCredentialIsNotRenewedAgain(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	course := courseFixture(t, db, 90, 30)
	user, first := issueFixture(t, db, course.Code, true)
	old := mustIssue(t, db, first, time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC), time.UTC)
	inWindow := old.ValidUntil.AddDate(0, 0, -30)
	if err := models.CheckRenewalEligibility(context.Background(), db, user, course, inWindow); err != nil {
		t.Fatalf("before renewing: %v, want eligible", err)
	}
	renewal := mustIssue(t, db, enrollFixture(t, db, user, course.Code, true), inWindow, time.UTC)
	if renewal.Renews == nil || *renewal.Renews != old.ID {
		t.Fatalf("renewal = %+v, want it to renew %s", renewal, old.ID)
	}
	if err := models.CheckRenewalEligibility(context.Background(), db, user, course, inWindow.Add(time.Hour)); !errors.Is(err, models.ErrRenewalTooEarly) {
		t.Errorf("after renewing: %v, want ErrRenewalTooEarly (the renewal's window is years away)", err)
	}
}
