package api_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/models"
)

// scanReminders moves the clock to day (15:00 UTC), runs a reminder scan there as the
// periodic job would, works every job it queues, and returns the reminder emails delivered.
func (e *env) scanReminders(t *testing.T, day time.Time) []mail.Message {
	t.Helper()
	e.clock.Advance(day.Add(15 * time.Hour).Sub(e.clock.Now()))
	d := jobs.Deps{DB: e.db, Log: slog.New(slog.DiscardHandler), Keyring: e.keyring, Now: e.clock.Now,
		Location: e.cfg.Location, PublicURL: publicURL, AppURL: publicURL}
	if _, err := jobs.ScanReminders(context.Background(), d, e.jobs, e.clock.Now()); err != nil {
		t.Fatalf("reminder scan on %s: %v", day.Format(time.DateOnly), err)
	}
	var out []mail.Message
	for _, m := range e.workJobs(t) {
		if strings.Contains(m.Text, publicURL+"/renew?token=") {
			out = append(out, m)
		}
	}
	return out
}

// TestRenewalFlowFromReminderToNewCredential walks a holder from the reminder email to a
// renewed credential with the injected clock: reminder 60 days before expiry → renewal link →
// sign-in and renewal enrollment → payment → exam pass → a credential running on from the old
// expiry → no more reminders for the old credential.
func TestRenewalFlowFromReminderToNewCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	ana, _ := e.user(t, "ana@example.org")
	old := e.issueCredential(t, ana, "AALS") // 2026-11-21: valid through 2028-11-30
	// Bo holds a credential of the same day and does not renew: the scans below remind him,
	// so that they send nothing to Ana is down to her renewal.
	bo, _ := e.user(t, "bo@example.org")
	e.issueCredential(t, bo, "AALS")
	if got := old.ValidThrough.Format(time.DateOnly); got != "2028-11-30" {
		t.Fatalf("old credential valid through %s, want 2028-11-30", got)
	}
	e.workJobs(t) // the issuance's own emails and jobs, out of the way

	// 60 days before valid_through: one reminder, with a renewal link and a working
	// unsubscribe link.
	reminders := mailsTo(e.scanReminders(t, utcDay(2028, 10, 1)), ana.Email)
	if len(reminders) != 1 || reminders[0].To != ana.Email || !strings.Contains(reminders[0].Text, old.Code) ||
		!strings.Contains(reminders[0].Text, "November 30, 2028") {
		t.Fatalf("reminders on 2028-10-01 = %+v, want one to ana about %s expiring November 30, 2028", reminders, old.Code)
	}
	reminder := reminders[0]
	unsubscribe := tokenFromLink(t, reminder.Text, publicURL+"/unsubscribe?token=")
	e.htmlPage(t, req{method: "GET", path: "/unsubscribe?token=" + unsubscribe}, 200, "ana@example.org")
	renewToken := tokenFromLink(t, reminder.Text, publicURL+"/renew?token=")
	renewPath := "/renew?token=" + url.QueryEscape(renewToken)
	e.htmlPage(t, req{method: "GET", path: renewPath}, 200, old.Code, "2028-11-30")

	// The link: sign in, and the renewal enrollment waits for payment.
	e.htmlPage(t, renewForm(renewPath, ana.Email, fixturePassword), 200, "waiting for payment")
	rs := e.renewals(t, ana.ID)
	if len(rs) != 1 || rs[0].Status != models.EnrollmentPendingPayment {
		t.Fatalf("renewal enrollments = %+v, want one waiting for payment", rs)
	}
	if o := e.markPaid(t, rs[0].OrderID.String()); o.Status != "paid" {
		t.Fatalf("order after payment = %+v, want paid", o)
	}

	// The renewal exam, passed.
	enrID := rs[0].ID.String()
	a := e.startAttempt(t, e.token(t, ana), enrID)
	e.answerAll(t, ana, a, time.Minute, nil)
	if _, res := e.submitAttempt(t, e.token(t, ana), a.ID); !res.Passed {
		t.Fatalf("renewal exam result = %+v, want a pass", res)
	}
	if status, _, _ := e.enrollmentState(t, enrID); status != models.EnrollmentCompleted {
		t.Fatalf("renewal enrollment status = %s, want completed", status)
	}

	// The new credential runs on from the old expiry: 2028-11-30 + 24 months, end of month.
	tok := e.token(t, ana)
	var list struct {
		Items []struct {
			ID           string  `json:"id"`
			Status       string  `json:"status"`
			ValidThrough string  `json:"valid_through"`
			RenewedBy    *string `json:"renewed_by"`
		} `json:"items"`
	}
	e.do(t, req{method: "GET", path: "/v1/credentials", token: tok}).decode(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("credentials = %+v, want the old and the new", list.Items)
	}
	renewed, prev := list.Items[0], list.Items[1]
	if prev.ID != old.ID.String() {
		renewed, prev = prev, renewed
	}
	if renewed.ValidThrough != "2030-11-30" || renewed.Status != "active" {
		t.Errorf("new credential = %+v, want active through 2030-11-30", renewed)
	}
	if prev.RenewedBy == nil || *prev.RenewedBy != renewed.ID || prev.Status != "active" || prev.ValidThrough != "2028-11-30" {
		t.Errorf("old credential = %+v, want still active through 2028-11-30 and renewed_by %s", prev, renewed.ID)
	}

	// The old link now says the credential is renewed, and opens nothing.
	e.htmlPage(t, renewForm(renewPath, ana.Email, fixturePassword), 403, "already been renewed")
	if n := len(e.renewals(t, ana.ID)); n != 1 {
		t.Errorf("%d renewal enrollments after reusing the old link, want 1", n)
	}

	// No more reminders for the old credential at its later offsets, nor for the new one yet.
	for _, d := range []time.Time{utcDay(2028, 10, 31), utcDay(2028, 11, 23), utcDay(2028, 11, 30), utcDay(2028, 12, 30)} {
		got := e.scanReminders(t, d)
		if toAna := mailsTo(got, ana.Email); len(toAna) != 0 {
			t.Errorf("reminders to ana on %s = %d (%q), want none after the renewal", d.Format(time.DateOnly), len(toAna), toAna[0].Subject)
		}
		if len(mailsTo(got, bo.Email)) != 1 {
			t.Errorf("reminders to bo on %s = %d, want 1 (he did not renew)", d.Format(time.DateOnly), len(mailsTo(got, bo.Email)))
		}
	}
	if n := e.count(t, `SELECT count(*) FROM reminders WHERE credential_id = $1 AND status = 'queued'`, old.ID); n != 1 {
		t.Errorf("%d reminders sent for the old credential, want only the one at 60 days", n)
	}
}

// mailsTo returns the messages to an address.
func mailsTo(ms []mail.Message, addr string) []mail.Message {
	var out []mail.Message
	for _, m := range ms {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// utcDay is midnight UTC of a calendar day.
func utcDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
