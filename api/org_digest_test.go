package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/models"
)

// isDigest tells the weekly org digest from the other emails the workers send meanwhile
// (credential follow-ups, reminders).
func isDigest(m mail.Message) bool { return strings.Contains(m.Subject, "(week of ") }

// runDigest queues one org_digest job, works every queued job at the env's clock, and
// returns the digests delivered, by recipient.
func (e *env) runDigest(t *testing.T) map[string][]mail.Message {
	t.Helper()
	if _, err := e.jobs.Insert(context.Background(), jobs.OrgDigestArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	out := map[string][]mail.Message{}
	for _, m := range e.workJobs(t) {
		if isDigest(m) {
			out[m.To] = append(out[m.To], m)
		}
	}
	return out
}

func TestOrgDigestWeekly(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *api.Config, _ *api.Deps) { c.Location = ny })
	e.seedCourses(t)

	// Monday 23 November 2026 in New York; digests go out from 08:00 there (13:00 UTC).
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	day := func(offset int) string { return monday.AddDate(0, 0, offset).Format(time.DateOnly) }
	credential := func(u *models.User, course string, validThroughOffset int, status string) *models.Credential {
		t.Helper()
		c := e.issueCredential(t, u, "AALS")
		if err := e.db.Gorm.Exec(`UPDATE credentials SET course_code = ?, valid_through = ?, status = ? WHERE id = ?`,
			course, day(validThroughOffset), status, c.ID).Error; err != nil {
			t.Fatal(err)
		}
		return c
	}

	aliceAdmin, aliceToken := e.user(t, "alice@general.example")
	general := e.org(t, aliceToken, "General Hospital")
	member := func(org, email string, roles ...string) *models.User {
		u, _ := e.user(t, email)
		e.addMember(t, org, u, roles...)
		return u
	}
	coAdmin := member(general, "coadmin@general.example", "admin")
	soon := member(general, "soon@general.example", "member")
	later := member(general, "later@general.example", "member", "instructor")
	lapsed := member(general, "lapsed@general.example", "member")
	longGone := member(general, "longgone@general.example", "member")
	revoked := member(general, "revoked@general.example", "member")
	renewed := member(general, "renewed@general.example", "verifier")

	soonCred := credential(soon, "AALS", 30, "active")
	credential(later, "AALS", 90, "active")
	lapsedCred := credential(lapsed, "ACLS", -10, "active")
	credential(longGone, "AALS", -40, "active")
	credential(revoked, "AALS", 20, "revoked")
	credential(renewed, "AALS", 10, "active")
	credential(renewed, "AALS", 740, "active")
	aliceCred := credential(aliceAdmin, "ACLS", 5, "active")

	bobAdmin, bobToken := e.user(t, "bob@clinic.example")
	clinic := e.org(t, bobToken, "Riverside Clinic")
	edge := member(clinic, "edge@clinic.example", "member")
	edgeCred := credential(edge, "AALS", 60, "active")
	past := member(clinic, "past@clinic.example", "member")
	pastCred := credential(past, "ACLS", -30, "active")

	carolAdmin, carolToken := e.user(t, "carol@quiet.example")
	quiet := e.org(t, carolToken, "Quiet Practice")
	credential(member(quiet, "fine@quiet.example", "member"), "AALS", 400, "active")

	// Before Monday 08:00 in New York (Monday 12:30 UTC is 07:30 there) nothing is due.
	e.clock.Advance(monday.Add(12*time.Hour + 30*time.Minute).Sub(e.clock.Now()))
	if got := e.runDigest(t); len(got) != 0 {
		t.Fatalf("digests before Monday 08:00 = %v, want none", keys(got))
	}
	if n := e.count(t, `SELECT count(*) FROM org_digests`); n != 0 {
		t.Fatalf("digests recorded before Monday 08:00 = %d, want 0", n)
	}

	e.clock.Advance(time.Hour) // 08:30 in New York
	got := e.runDigest(t)
	want := []string{aliceAdmin.Email, bobAdmin.Email, coAdmin.Email}
	if !slices.Equal(keys(got), want) {
		t.Fatalf("digest recipients = %v, want the admins of orgs with something to report %v", keys(got), want)
	}
	for _, to := range want {
		if len(got[to]) != 1 {
			t.Fatalf("digests to %s = %d, want 1", to, len(got[to]))
		}
	}
	generalLines := []string{
		// Grouped by course, soonest first: AALS then ACLS.
		"Advanced Anesthesia Life Support",
		"- User soon@general.example <soon@general.example>, " + soonCred.Code + ", valid through December 23, 2026: expires in 30 days",
		"Advanced Cardiovascular Life Support",
		"- User lapsed@general.example <lapsed@general.example>, " + lapsedCred.Code + ", valid through November 13, 2026: expired 10 days ago",
		"- User alice@general.example <alice@general.example>, " + aliceCred.Code + ", valid through November 28, 2026: expires in 5 days",
	}
	for _, to := range []string{aliceAdmin.Email, coAdmin.Email} {
		m := got[to][0]
		checkDigest(t, m, "General Hospital: 3 credentials need renewal (week of November 23, 2026)", generalLines,
			[]string{"later@", "longgone@", "revoked@", "renewed@", "@clinic.example", "@quiet.example"})
	}
	checkDigest(t, got[bobAdmin.Email][0], "Riverside Clinic: 2 credentials need renewal (week of November 23, 2026)", []string{
		"Advanced Anesthesia Life Support",
		"- User edge@clinic.example <edge@clinic.example>, " + edgeCred.Code + ", valid through January 22, 2027: expires in 60 days",
		"Advanced Cardiovascular Life Support",
		"- User past@clinic.example <past@clinic.example>, " + pastCred.Code + ", valid through October 24, 2026: expired 30 days ago",
	}, []string{"@general.example", "@quiet.example"})
	if !strings.Contains(got[bobAdmin.Email][0].HTML, edgeCred.Code) {
		t.Errorf("HTML digest lacks %s", edgeCred.Code)
	}

	// Every admin's week is recorded, the one with nothing to report too (without an email);
	// no member who is not an admin is.
	var recorded []struct {
		Email string
		Sent  bool
	}
	if err := e.db.Gorm.Raw(`SELECT u.email, d.outbox_id IS NOT NULL AS sent FROM org_digests d JOIN users u ON u.id = d.user_id
		WHERE d.week_of = ? ORDER BY u.email`, monday.Format(time.DateOnly)).Scan(&recorded).Error; err != nil {
		t.Fatal(err)
	}
	wantRecorded := []struct {
		Email string
		Sent  bool
	}{{aliceAdmin.Email, true}, {bobAdmin.Email, true}, {carolAdmin.Email, false}, {coAdmin.Email, true}}
	if !slices.Equal(recorded, wantRecorded) {
		t.Fatalf("recorded digests = %+v, want %+v", recorded, wantRecorded)
	}

	// Later in the same week, runs send nothing again.
	e.clock.Advance(2*24*time.Hour + 5*time.Hour)
	if again := e.runDigest(t); len(again) != 0 {
		t.Fatalf("second run of the week sent %v, want nothing", keys(again))
	}

	// The next Monday the window has moved a week on.
	e.clock.Advance(monday.AddDate(0, 0, 7).Add(13*time.Hour + time.Minute).Sub(e.clock.Now()))
	next := e.runDigest(t)
	if !slices.Equal(keys(next), want) {
		t.Fatalf("next week's recipients = %v, want %v", keys(next), want)
	}
	checkDigest(t, next[aliceAdmin.Email][0], "General Hospital: 3 credentials need renewal (week of November 30, 2026)", []string{
		"- User soon@general.example <soon@general.example>, " + soonCred.Code + ", valid through December 23, 2026: expires in 23 days",
		"- User lapsed@general.example <lapsed@general.example>, " + lapsedCred.Code + ", valid through November 13, 2026: expired 17 days ago",
		"- User alice@general.example <alice@general.example>, " + aliceCred.Code + ", valid through November 28, 2026: expired 2 days ago",
	}, nil)
	checkDigest(t, next[bobAdmin.Email][0], "Riverside Clinic: 1 credential needs renewal (week of November 30, 2026)",
		[]string{"expires in 53 days"}, []string{"past@clinic.example"})
	if n := e.count(t, `SELECT count(*) FROM org_digests WHERE user_id::text = ANY($1)`,
		[]string{soon.ID.String(), lapsed.ID.String(), edge.ID.String(), past.ID.String(), renewed.ID.String()}); n != 0 {
		t.Fatalf("digests recorded for members who are not admins = %d, want 0", n)
	}
}

// checkDigest checks a digest's subject, that its text has the lines in order, and that it
// names none of absent.
func checkDigest(t *testing.T, m mail.Message, subject string, lines, absent []string) {
	t.Helper()
	if m.Subject != subject {
		t.Errorf("subject = %q, want %q", m.Subject, subject)
	}
	rest := m.Text
	for _, l := range lines {
		i := strings.Index(rest, l)
		if i < 0 {
			t.Errorf("digest to %s lacks, or has out of order, %q:\n%s", m.To, l, m.Text)
			return
		}
		rest = rest[i+len(l):]
	}
	for _, a := range absent {
		if strings.Contains(m.Text, a) || strings.Contains(m.HTML, a) {
			t.Errorf("digest to %s names %q:\n%s", m.To, a, m.Text)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
