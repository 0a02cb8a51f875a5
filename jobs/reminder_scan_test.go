package jobs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// chicago is the issuer's time zone in these tests: six hours or five behind UTC, so an
// evening there is already the next day in UTC, and it changes to and from daylight time.
var chicago = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}()

const reminderAppURL = "https://app.example"

// simClock is a settable clock.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *simClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func at(y int, m time.Month, d, h, mi int) time.Time {
	return time.Date(y, m, d, h, mi, 0, 0, chicago)
}

// reminderHarness is a database with the courses and an insert-only River client: the test
// works the send_reminder jobs itself, right after each scan, as a worker would.
type reminderHarness struct {
	db     *models.DB
	client *river.Client[pgx.Tx]
	deps   jobs.Deps
	clock  *simClock
}

func newReminderHarness(t *testing.T) *reminderHarness {
	t.Helper()
	db := pgtest.New(t)
	if _, err := content.SeedCourses(t.Context(), db.Gorm); err != nil {
		t.Fatal(err)
	}
	kr, err := masterkey.New(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := &simClock{t: at(2026, 1, 1, 12, 0)}
	deps := jobs.Deps{DB: db, Log: slog.New(slog.DiscardHandler), Keyring: kr, Now: clk.Now, Location: chicago,
		PublicURL: certPublicURL, AppURL: reminderAppURL}
	client, err := jobs.NewClient(deps, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &reminderHarness{db: db, client: client, deps: deps, clock: clk}
}

// holder stores a verified account.
func (h *reminderHarness) holder(t *testing.T, name string) *models.User {
	t.Helper()
	verified := at(2025, 1, 1, 0, 0)
	u := &models.User{Email: name + "@example.org", Name: name, EmailVerifiedAt: &verified, PasswordHash: "x"}
	if err := models.CreateUser(t.Context(), h.db.Gorm, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// issue gives u an AALS credential passed at the instant passed, as grading does.
func (h *reminderHarness) issue(t *testing.T, u *models.User, passed time.Time) *models.Credential {
	t.Helper()
	ctx := t.Context()
	enr := &models.Enrollment{UserID: u.ID, CourseCode: "AALS", Offering: "initial", Status: models.EnrollmentActive}
	if err := models.CreateEnrollment(ctx, h.db.Gorm, enr, nil); err != nil {
		t.Fatal(err)
	}
	iss := jobs.Issuance{Jobs: h.client, PublicURL: certPublicURL, Location: chicago}
	err := h.db.InTx(ctx, func(tx models.Tx) error {
		if err := models.MarkExamPassed(ctx, tx.DB, enr.ID, passed); err != nil {
			return err
		}
		return jobs.IssueCredential(ctx, tx, iss, enr.ID, passed)
	})
	if err != nil {
		t.Fatal(err)
	}
	var c models.Credential
	if err := h.db.Gorm.First(&c, "enrollment_id = ? AND reissue_of IS NULL", enr.ID).Error; err != nil {
		t.Fatalf("no credential issued: %v", err)
	}
	return &c
}

// scan runs a scan at the instant now and then works the send_reminder jobs it enqueued.
func (h *reminderHarness) scan(t *testing.T, now time.Time) jobs.ScanResult {
	t.Helper()
	h.clock.Set(now)
	res, err := jobs.ScanReminders(t.Context(), h.deps, h.client, now)
	if err != nil {
		t.Fatalf("scan at %v: %v", now, err)
	}
	if n := h.work(t); n != res.Queued {
		t.Fatalf("scan at %v: %d send_reminder jobs for %d reminders", now, n, res.Queued)
	}
	return res
}

// work runs every available send_reminder job once, as River would, and returns how many.
func (h *reminderHarness) work(t *testing.T) int {
	t.Helper()
	ctx := t.Context()
	rows, err := h.db.Pool.Query(ctx, `SELECT id, args FROM river_job WHERE kind = 'send_reminder' AND state = 'available' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		id   int64
		args jobs.SendReminderArgs
	}
	var todo []job
	for rows.Next() {
		var j job
		var raw []byte
		if err := rows.Scan(&j.id, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &j.args); err != nil {
			t.Fatal(err)
		}
		todo = append(todo, j)
	}
	rows.Close()
	for _, j := range todo {
		if err := jobs.SendReminder(ctx, h.deps, h.client, j.args.ReminderID); err != nil {
			t.Fatalf("send reminder %s: %v", j.args.ReminderID, err)
		}
		if _, err := h.db.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, j.id); err != nil {
			t.Fatal(err)
		}
	}
	return len(todo)
}

// sent is one reminder as recorded: its offset, status and the days (on the issuer's
// calendar) it was recorded and queued.
type sent struct {
	offset          int
	status          string
	recorded        string
	queued          string
	subject, reason string
}

func (s sent) String() string {
	return fmt.Sprintf("%d:%s@%s", s.offset, s.status, s.recorded)
}

// reminders returns the credential's reminders with their emails' subjects.
func (h *reminderHarness) reminders(t *testing.T, id uuid.UUID) []sent {
	t.Helper()
	rows, err := h.db.Pool.Query(t.Context(), `SELECT r.offset_days, r.status, r.created_at, r.queued_at,
		coalesce(o.subject, ''), coalesce(r.skip_reason, '')
		FROM reminders r LEFT JOIN outbox o ON o.id = r.outbox_id WHERE r.credential_id = $1 ORDER BY r.created_at, r.offset_days DESC`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []sent
	for rows.Next() {
		var s sent
		var created time.Time
		var queued *time.Time
		if err := rows.Scan(&s.offset, &s.status, &created, &queued, &s.subject, &s.reason); err != nil {
			t.Fatal(err)
		}
		s.recorded = created.In(chicago).Format(time.DateOnly)
		if queued != nil {
			s.queued = queued.In(chicago).Format(time.DateOnly)
		}
		out = append(out, s)
	}
	return out
}

// simCred is a credential of the simulation and what happens to it. Events happen at their
// instant, between scans.
type simCred struct {
	name                                                             string
	passed                                                           time.Time // when its exam was passed
	validThough                                                      string    // the expiry the issuer's calendar gives: the awkward dates under test
	renewAt, revokeAt, suspendAt, reinstateAt, supersedeAt, optOutAt time.Time

	holder  *models.User
	cred    *models.Credential
	created time.Time // when it came to exist (a reissue during the simulation)
}

// expected computes, independently of the scan, the reminders of c: for each offset, its due
// day (valid_through minus the offset) is taken up by the first scan on or after that day;
// the first scan ever takes only its own day. Of the offsets one scan takes up, only the latest
// (smallest) counts. It is not sent if the credential did not exist yet, or was renewed,
// revoked, superseded or suspended at that scan; for an opted-out holder it is recorded as
// skipped. The result maps each offset to the reminder expected.
func (c *simCred) expected(scans []time.Time) map[int]sent {
	through, _ := time.Parse(time.DateOnly, c.validThough)
	firstDay := scans[0].Format(time.DateOnly)
	byScan := map[int]int{} // scan index -> smallest offset
	for _, o := range []int{90, 60, 30, 7, 0, -30} {
		due := through.AddDate(0, 0, -o).Format(time.DateOnly)
		if due < firstDay {
			continue
		}
		i := sort.Search(len(scans), func(i int) bool { return scans[i].Format(time.DateOnly) >= due })
		if i == len(scans) {
			continue
		}
		if cur, ok := byScan[i]; !ok || o < cur {
			byScan[i] = o
		}
	}
	out := map[int]sent{}
	for i, o := range byScan {
		s := scans[i]
		if s.Before(c.created) || before(c.renewAt, s) || before(c.revokeAt, s) || before(c.supersedeAt, s) ||
			(before(c.suspendAt, s) && !before(c.reinstateAt, s)) {
			continue
		}
		day := s.Format(time.DateOnly)
		if before(c.optOutAt, s) {
			out[o] = sent{offset: o, status: models.ReminderSkipped, recorded: day, reason: models.ReminderOptedOut}
		} else {
			out[o] = sent{offset: o, status: models.ReminderQueued, recorded: day, queued: day}
		}
	}
	return out
}

// before reports whether the event at e (zero: none) happened before t.
func before(e, t time.Time) bool { return !e.IsZero() && e.Before(t) }

// simSchedule lists the instants of the scans of the simulation, on the issuer's calendar:
// every day at 23:30 (already the next day in UTC), or at 00:30, or several times a day (at
// 00:05, 12:00 and 23:30, and across the daylight-time changes), except the 40 days the service
// is down.
func simSchedule(start time.Time, days int, downFrom, downTo string) []time.Time {
	var out []time.Time
	for i := range days {
		d := start.AddDate(0, 0, i)
		y, m, dd := d.Date()
		day := d.Format(time.DateOnly)
		if day >= downFrom && day <= downTo {
			continue
		}
		switch {
		case isDSTChange(d):
			out = append(out, at(y, m, dd, 0, 5), at(y, m, dd, 1, 30), at(y, m, dd, 3, 0), at(y, m, dd, 23, 30))
		case i%7 == 0:
			out = append(out, at(y, m, dd, 0, 5), at(y, m, dd, 12, 0), at(y, m, dd, 23, 30))
		case i%3 == 0:
			out = append(out, at(y, m, dd, 0, 30))
		default:
			out = append(out, at(y, m, dd, 23, 30))
		}
	}
	return out
}

func isDSTChange(d time.Time) bool {
	y, m, dd := d.Date()
	_, a := at(y, m, dd, 0, 0).Zone()
	_, b := at(y, m, dd, 23, 0).Zone()
	return a != b
}

// TestReminderSimulation simulates 800 days of scans over credentials expiring on awkward days
// (month ends, the leap day, around daylight-time changes) in America/Chicago, with renewal,
// revocation, suspension and reinstatement, a reissue, an opt-out and 40 days of downtime, and
// checks that every reminder expected was queued exactly once on its day, and nothing else.
func TestReminderSimulation(t *testing.T) {
	t.Parallel()
	h := newReminderHarness(t)
	ctx := t.Context()
	creds := []*simCred{
		// Passed on the evening of 31 January in Chicago, already 1 February in UTC.
		{name: "jan31", passed: at(2026, 1, 31, 20, 0), validThough: "2028-01-31"},
		{name: "leap-day", passed: at(2026, 2, 14, 10, 0), validThough: "2028-02-29"},
		{name: "dec31", passed: at(2025, 12, 31, 23, 30), validThough: "2027-12-31"},
		{name: "mar31", passed: at(2026, 3, 31, 9, 0), validThough: "2028-03-31"},
		{name: "nov30", passed: at(2026, 11, 30, 18, 30), validThough: "2028-11-30"},
		{name: "apr30", passed: at(2027, 4, 30, 12, 0), validThough: "2029-04-30"},
		{name: "jun30", passed: at(2027, 6, 15, 12, 0), validThough: "2029-06-30"},
		{name: "dec31-late", passed: at(2027, 12, 31, 22, 0), validThough: "2029-12-31"},
		// 90 days before is before the first scan; 60 days before is its day.
		{name: "before-first-scan", passed: at(2025, 10, 5, 12, 0), validThough: "2027-10-31"},
		// Renewed after the 60-day reminder (2028-04-01), before the 30-day one.
		{name: "renewed", passed: at(2026, 5, 10, 12, 0), validThough: "2028-05-31", renewAt: at(2028, 4, 15, 15, 0)},
		{name: "revoked", passed: at(2026, 6, 20, 12, 0), validThough: "2028-06-30", revokeAt: at(2028, 5, 15, 15, 0)},
		{name: "suspended", passed: at(2026, 7, 4, 12, 0), validThough: "2028-07-31",
			suspendAt: at(2028, 5, 20, 15, 0), reinstateAt: at(2028, 7, 28, 15, 0)},
		{name: "superseded", passed: at(2026, 8, 10, 12, 0), validThough: "2028-08-31", supersedeAt: at(2028, 7, 1, 15, 0)},
		{name: "opted-out", passed: at(2026, 9, 30, 12, 0), validThough: "2028-09-30", optOutAt: at(2028, 8, 10, 15, 0)},
		// The service is down from 2029-01-05 to 2029-02-13.
		{name: "down-30", passed: at(2027, 2, 10, 12, 0), validThough: "2029-02-28"},
		{name: "down-7-and-0", passed: at(2027, 1, 15, 12, 0), validThough: "2029-01-31"},
		{name: "down-60", passed: at(2027, 3, 5, 12, 0), validThough: "2029-03-31"},
	}
	for _, c := range creds {
		c.holder = h.holder(t, c.name)
		c.cred = h.issue(t, c.holder, c.passed)
		if got := c.cred.ValidThrough.Format(time.DateOnly); got != c.validThough {
			t.Fatalf("%s: valid through %s, want %s", c.name, got, c.validThough)
		}
	}

	scans := simSchedule(at(2027, 9, 1, 0, 0), 800, "2029-01-05", "2029-02-13")
	type event struct {
		at time.Time
		do func()
	}
	var events []event
	for _, c := range creds {
		if !c.renewAt.IsZero() {
			events = append(events, event{c.renewAt, func() {
				r := &simCred{name: c.name + "-renewal", holder: c.holder, created: c.renewAt}
				r.cred = h.issue(t, c.holder, c.renewAt)
				if r.cred.Renews == nil || *r.cred.Renews != c.cred.ID {
					t.Fatalf("%s: the renewal does not renew it", c.name)
				}
				r.validThough = r.cred.ValidThrough.Format(time.DateOnly)
				creds = append(creds, r)
			}})
		}
		for _, ch := range []struct {
			at     time.Time
			action string
		}{{c.revokeAt, models.ActionRevoked}, {c.suspendAt, models.ActionSuspended}, {c.reinstateAt, models.ActionReinstated}} {
			if ch.at.IsZero() {
				continue
			}
			events = append(events, event{ch.at, func() {
				err := h.db.InTx(ctx, func(tx models.Tx) error {
					_, _, err := models.ChangeCredentialStatus(ctx, tx.DB, c.cred.ID, models.StatusChange{Action: ch.action,
						Category: "license_action", Reason: "board order", ActorID: uuid.New(), At: ch.at})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}})
		}
		if !c.supersedeAt.IsZero() {
			events = append(events, event{c.supersedeAt, func() { creds = append(creds, h.reissue(t, c)) }})
		}
		if !c.optOutAt.IsZero() {
			events = append(events, event{c.optOutAt, func() {
				if err := h.db.Gorm.Exec(`UPDATE users SET reminder_emails = false WHERE id = ?`, c.holder.ID).Error; err != nil {
					t.Fatal(err)
				}
			}})
		}
	}
	slices.SortFunc(events, func(a, b event) int { return a.at.Compare(b.at) })

	for _, s := range scans {
		for len(events) > 0 && events[0].at.Before(s) {
			h.clock.Set(events[0].at)
			events[0].do()
			events = events[1:]
		}
		h.scan(t, s)
	}

	total := 0
	for _, c := range creds {
		want := c.expected(scans)
		got := h.reminders(t, c.cred.ID)
		seen := map[int]bool{}
		for _, g := range got {
			w, ok := want[g.offset]
			switch {
			case seen[g.offset]:
				t.Errorf("%s: offset %d recorded twice", c.name, g.offset)
			case !ok:
				t.Errorf("%s: unexpected reminder %v", c.name, g)
			case g.status != w.status || g.recorded != w.recorded || g.queued != w.queued || g.reason != w.reason:
				t.Errorf("%s: reminder %+v, want %+v", c.name, g, w)
			}
			seen[g.offset] = true
			if g.status == models.ReminderQueued {
				total++
			}
		}
		for o, w := range want {
			if !seen[o] {
				t.Errorf("%s: missing reminder %v (got %v)", c.name, w, got)
			}
		}
	}
	// Nothing else was emailed, and no reminder is left waiting.
	var outbox, pending int
	if err := h.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM reminders WHERE status = 'pending')`).Scan(&outbox, &pending); err != nil {
		t.Fatal(err)
	}
	if outbox != total || pending != 0 {
		t.Errorf("%d emails in the outbox and %d reminders pending; want %d and 0", outbox, pending, total)
	}
	if total < 60 {
		t.Errorf("only %d reminders queued: the simulation covers too little", total)
	}

	// Spot checks of what the independent expectation says, in plain words.
	byName := map[string]*simCred{}
	for _, c := range creds {
		byName[c.name] = c
	}
	checkOffsets := func(name string, want ...int) {
		t.Helper()
		var got []int
		for _, s := range h.reminders(t, byName[name].cred.ID) {
			if s.status == models.ReminderQueued {
				got = append(got, s.offset)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: reminders at offsets %v, want %v", name, got, want)
		}
	}
	checkOffsets("leap-day", 90, 60, 30, 7, 0, -30)
	checkOffsets("before-first-scan", 60, 30, 7, 0, -30)
	checkOffsets("renewed", 90, 60)
	checkOffsets("revoked", 90, 60)
	checkOffsets("suspended", 90, 0, -30)
	checkOffsets("superseded", 90)
	checkOffsets("superseded-reissue", 60, 30, 7, 0, -30) // the reissue carries on from the next day
	checkOffsets("opted-out", 90, 60)
	checkOffsets("down-30", 90, 60, 30, 7, 0, -30)
	checkOffsets("down-7-and-0", 90, 60, 30, 0, -30) // 7 days before fell in the downtime, then expiry too
	checkOffsets("down-60", 90, 60, 30, 7, 0, -30)
	late := h.reminders(t, byName["down-7-and-0"].cred.ID)
	for _, s := range late {
		if s.offset == 0 && (s.recorded != "2029-02-14" ||
			s.subject != "Your AALS credential "+byName["down-7-and-0"].cred.Code+" expired on January 31, 2029") {
			t.Errorf("late reminder %+v (%q), want it recorded 2029-02-14 saying the credential expired on January 31, 2029", s, s.subject)
		}
	}
	for _, s := range h.reminders(t, byName["leap-day"].cred.ID) {
		if s.offset == 0 && s.subject != "Your AALS credential "+byName["leap-day"].cred.Code+" expires today" {
			t.Errorf("leap-day reminder on the day: subject %q", s.subject)
		}
		if s.offset == 7 && s.subject != "Your AALS credential "+byName["leap-day"].cred.Code+" expires on February 29, 2028" {
			t.Errorf("leap-day reminder 7 days before: subject %q", s.subject)
		}
	}
}

// reissue approves a name change of c's holder, which supersedes c with a reissue, and returns
// the reissue as a credential of the simulation.
func (h *reminderHarness) reissue(t *testing.T, c *simCred) *simCred {
	t.Helper()
	ctx := t.Context()
	r := &models.NameChangeRequest{UserID: c.holder.ID, CurrentName: c.holder.Name, NewName: c.holder.Name + " Smith",
		Document: []byte("%PDF-1.4"), DocumentType: "application/pdf", DocumentName: "certificate.pdf", CreatedAt: c.supersedeAt}
	if err := models.CreateNameChangeRequest(ctx, h.db.Gorm, r); err != nil {
		t.Fatal(err)
	}
	var reissues []models.Reissue
	err := h.db.InTx(ctx, func(tx models.Tx) error {
		var err error
		_, _, reissues, err = models.ApproveNameChange(ctx, tx.DB, r.ID, models.NameChangeDecision{By: uuid.New(), At: c.supersedeAt}, jobs.CredentialRules())
		return err
	})
	if err != nil || len(reissues) != 1 {
		t.Fatalf("approve name change: %d reissues, %v", len(reissues), err)
	}
	return &simCred{name: c.name + "-reissue", holder: c.holder, cred: reissues[0].New, created: c.supersedeAt,
		validThough: reissues[0].New.ValidThrough.Format(time.DateOnly)}
}
