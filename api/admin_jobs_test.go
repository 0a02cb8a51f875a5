package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/jobs"
)

type enqueuedJob struct {
	JobID     int64  `json:"job_id"`
	Kind      string `json:"kind"`
	State     string `json:"state"`
	Duplicate bool   `json:"duplicate"`
}

func TestAdminRunsReminderScan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.token(t, e.adminUser(t))
	_, learner := e.user(t, "learner@example.org")
	const path = "/v1/admin/jobs/reminder-scan"
	e.run(t, []scenario{
		{name: "Anonymous", req: req{method: "POST", path: path}, wantStatus: http.StatusUnauthorized, wantType: "unauthorized"},
		{name: "NotAdmin", req: req{method: "POST", path: path, token: learner}, wantStatus: http.StatusForbidden, wantType: "forbidden"},
	})
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'reminder_scan'`); n != 0 {
		t.Fatalf("%d scans enqueued by refused requests, want 0", n)
	}

	run := func() enqueuedJob {
		t.Helper()
		r := e.do(t, req{method: "POST", path: path, token: admin})
		if r.Code != http.StatusAccepted {
			t.Fatalf("status = %d, want 202; body: %s", r.Code, r.Body)
		}
		var j enqueuedJob
		r.decode(t, &j)
		return j
	}
	first := run()
	if first.Kind != "reminder_scan" || first.Duplicate || first.JobID == 0 {
		t.Fatalf("first request: %+v, want a new reminder_scan job", first)
	}
	// A double click while the scan waits returns the same job.
	if again := run(); again.JobID != first.JobID || !again.Duplicate {
		t.Errorf("second request: %+v, want job %d marked duplicate", again, first.JobID)
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'reminder_scan'`); n != 1 {
		t.Errorf("%d scans enqueued, want 1", n)
	}
	// Once it has run, asking again runs a new scan.
	if _, err := e.db.Pool.Exec(context.Background(),
		`UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, first.JobID); err != nil {
		t.Fatal(err)
	}
	if later := run(); later.JobID == first.JobID || later.Duplicate {
		t.Errorf("request after the scan ran: %+v, want a new job", later)
	}
}

type reminderItem struct {
	OffsetDays   int     `json:"offset_days"`
	DueOn        string  `json:"due_on"`
	Status       string  `json:"status"`
	OutboxID     *string `json:"outbox_id"`
	OutboxStatus *string `json:"outbox_status"`
}

func TestAdminListsCredentialReminders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ctx := context.Background()
	admin := e.token(t, e.adminUser(t))
	holder, _ := e.user(t, "holder@example.org")
	cred := e.issueCredential(t, holder, "AALS") // 2026-11-21: valid through 2028-11-30
	if got := cred.ValidThrough.Format(time.DateOnly); got != "2028-11-30" {
		t.Fatalf("valid through %s, want 2028-11-30", got)
	}
	path := "/v1/admin/reminders?credential_id=" + cred.ID.String()

	list := func() []reminderItem {
		t.Helper()
		r := e.do(t, req{method: "GET", path: path, token: admin})
		if r.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200; body: %s", r.Code, r.Body)
		}
		var out struct{ Items []reminderItem }
		r.decode(t, &out)
		return out.Items
	}
	if items := list(); len(items) != 0 {
		t.Fatalf("before any scan: %+v, want none", items)
	}

	// 90 days before 2028-11-30.
	e.clock.Advance(time.Date(2028, 9, 1, 14, 0, 0, 0, time.UTC).Sub(e.clock.Now()))
	// Access tokens live 15 minutes: sign in again at the new time.
	admin = e.token(t, e.adminUser(t))
	holderToken := e.token(t, holder)
	deps := jobs.Deps{DB: e.db, Keyring: e.keyring, Now: e.clock.Now, AppURL: publicURL}
	res, err := jobs.ScanReminders(ctx, deps, e.jobs, e.clock.Now())
	if err != nil || res.Queued != 1 {
		t.Fatalf("scan: %+v, %v; want 1 reminder", res, err)
	}
	items := list()
	if len(items) != 1 || items[0].OffsetDays != 90 || items[0].DueOn != "2028-09-01" || items[0].Status != "pending" || items[0].OutboxID != nil {
		t.Fatalf("after the scan: %+v, want one pending reminder at 90 days, due 2028-09-01", items)
	}
	var id uuid.UUID
	if err := e.db.Pool.QueryRow(ctx, `SELECT id FROM reminders WHERE credential_id = $1`, cred.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := jobs.SendReminder(ctx, deps, e.jobs, id); err != nil {
		t.Fatal(err)
	}
	items = list()
	if len(items) != 1 || items[0].Status != "queued" || items[0].OutboxID == nil || items[0].OutboxStatus == nil || *items[0].OutboxStatus != "queued" {
		t.Fatalf("after sending: %+v, want queued with its outbox message queued", items)
	}
	m := e.lastMail(t, holder.Email)
	if want := "Your AALS credential " + cred.Code + " expires on November 30, 2028"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if !strings.Contains(m.Text, publicURL+"/renew?token=") || !strings.HasPrefix(m.Headers["List-Unsubscribe"], "<"+publicURL+"/unsubscribe?token=") {
		t.Errorf("email lacks the renewal link or List-Unsubscribe header:\n%s\n%v", m.Text, m.Headers)
	}

	e.run(t, []scenario{
		{name: "Anonymous", req: req{method: "GET", path: path}, wantStatus: http.StatusUnauthorized, wantType: "unauthorized"},
		{name: "Holder", req: req{method: "GET", path: path, token: holderToken}, wantStatus: http.StatusForbidden, wantType: "forbidden"},
		{name: "NoCredential", req: req{method: "GET", path: "/v1/admin/reminders", token: admin}, wantStatus: http.StatusUnprocessableEntity, wantType: "validation"},
		{name: "MalformedID", req: req{method: "GET", path: "/v1/admin/reminders?credential_id=AALS-7K3M", token: admin}, wantStatus: http.StatusUnprocessableEntity, wantType: "validation"},
		{name: "UnknownCredential", req: req{method: "GET", path: "/v1/admin/reminders?credential_id=" + uuid.NewString(), token: admin}, wantStatus: http.StatusNotFound, wantType: "not-found"},
	})
}
