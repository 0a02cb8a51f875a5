package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/models"
)

// setClock moves the env's clock to t.
func (e *env) setClock(t time.Time) {
	e.clock.mu.Lock()
	e.clock.t = t
	e.clock.mu.Unlock()
}

// sendCohortReminders runs the cohort_reminders job's work at the env's clock.
func (e *env) sendCohortReminders(t *testing.T) int {
	t.Helper()
	n, err := jobs.SendCohortReminders(context.Background(), jobs.Deps{DB: e.db, Keyring: e.keyring,
		Location: e.cfg.Location, AppURL: publicURL}, e.jobs, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cohortDueMails(ms []mail.Message) []mail.Message {
	var out []mail.Message
	for _, m := range ms {
		if strings.Contains(m.Subject, " is due ") {
			out = append(out, m)
		}
	}
	return out
}

// TestCohortDueReminders reminds every invitee who has not completed 7 days before the due
// date and on the day, each once, and nobody of an archived cohort.
func TestCohortDueReminders(t *testing.T) {
	e := newEnv(t)
	e.seedCourses(t)
	admin, adminTok := e.user(t, "admin@hospital.test")
	orgID := e.org(t, adminTok, "St. Reminder Hospital")
	due := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	cohortID := e.rosterCohort(t, orgID, admin, "AALS", due)
	archivedID := e.rosterCohort(t, orgID, admin, "AALS", due)
	e.rosterExec(t, `UPDATE cohorts SET archived_at = $2 WHERE id = $1`, archivedID, e.clock.Now())

	e.rosterInvite(t, cohortID, "invited@hospital.test", "Invited Nurse", "invited", nil, nil)
	pending, _ := e.user(t, "pending@hospital.test")
	e.rosterInvite(t, cohortID, pending.Email, "", "pending_approval", pending, nil)
	enrolled, _ := e.user(t, "enrolled@hospital.test")
	e.rosterInvite(t, cohortID, enrolled.Email, "Enrolled Nurse", "accepted", enrolled, e.rosterEnrollment(t, enrolled, "AALS", models.EnrollmentActive))
	done, _ := e.user(t, "done@hospital.test")
	e.rosterInvite(t, cohortID, done.Email, "Done Nurse", "accepted", done, nil)
	e.issueCredential(t, done, "AALS") // completed after accepting
	e.rosterInvite(t, cohortID, "revoked@hospital.test", "Revoked", "revoked", nil, nil)
	e.rosterInvite(t, archivedID, "archived@hospital.test", "Archived", "invited", nil, nil)
	owed := []string{"invited@hospital.test", "pending@hospital.test", "enrolled@hospital.test"}
	none := []string{"done@hospital.test", "revoked@hospital.test", "archived@hospital.test"}

	e.setClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)) // 8 days before
	if n := e.sendCohortReminders(t); n != 0 {
		t.Fatalf("8 days before the due date sent %d reminders, want none", n)
	}

	e.setClock(time.Date(2026, 11, 23, 0, 30, 0, 0, time.UTC)) // 7 days before
	if n := e.sendCohortReminders(t); n != len(owed) {
		t.Fatalf("7 days before sent %d reminders, want %d", n, len(owed))
	}
	if n := e.sendCohortReminders(t); n != 0 {
		t.Fatalf("a second run sent %d reminders, want none", n)
	}
	for _, to := range owed {
		ms := cohortDueMails(e.mails(t, to))
		if len(ms) != 1 || !strings.Contains(ms[0].Subject, "due in 7 days") || !strings.Contains(ms[0].Text, "November 30, 2026") {
			t.Fatalf("%s got %+v, want one 7-day reminder", to, ms)
		}
	}
	if m := cohortDueMails(e.mails(t, "invited@hospital.test"))[0]; !strings.Contains(m.Text, "not accepted the invitation") {
		t.Errorf("the reminder to an invitee who did not accept says:\n%s", m.Text)
	}
	if m := cohortDueMails(e.mails(t, "enrolled@hospital.test"))[0]; !strings.Contains(m.Text, "continue where you left off") {
		t.Errorf("the reminder to an enrolled member says:\n%s", m.Text)
	}

	for _, to := range none {
		if ms := cohortDueMails(e.mails(t, to)); len(ms) != 0 {
			t.Errorf("%s got %d reminders 7 days before, want none", to, len(ms))
		}
	}

	// The due day, through the job as the workers run it. Delivery clears the
	// readable copies, so what the workers deliver is what counts from here.
	e.setClock(time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC))
	if _, err := e.jobs.Insert(context.Background(), jobs.CohortRemindersArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	var today []string
	for _, m := range cohortDueMails(e.workJobs(t)) {
		if strings.Contains(m.Subject, "due today") {
			today = append(today, m.To)
		}
	}
	if strings.Join(today, " ") != strings.Join(owed, " ") {
		t.Errorf("on the due day reminded %v, want %v", today, owed)
	}
	if n := e.sendCohortReminders(t); n != 0 {
		t.Fatalf("a second run on the due day sent %d reminders, want none", n)
	}
	if n := e.count(t, `SELECT count(*) FROM cohort_reminders WHERE outbox_id IS NULL`); n != 0 {
		t.Errorf("%d reminders are not linked to their email", n)
	}
	if n := e.count(t, `SELECT count(*) FROM cohort_reminders`); n != 2*len(owed) {
		t.Errorf("%d reminders recorded, want %d", n, 2*len(owed))
	}
}
