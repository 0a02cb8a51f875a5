package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/models"
)

// rosterCohort stores a cohort of the org in course, due on due, made by creator.
func (e *env) rosterCohort(t testing.TB, orgID string, creator *models.User, course string, due time.Time) string {
	t.Helper()
	id := uuid.NewString()
	_, err := e.db.Pool.Exec(context.Background(), `INSERT INTO cohorts (id, org_id, name, course_code, offering, due_date,
		created_by, created_at, updated_at) VALUES ($1, $2, 'Night shift', $3, 'initial', $4, $5, $6, $6)`,
		id, orgID, course, due.Format(time.DateOnly), creator.ID, e.clock.Now())
	if err != nil {
		t.Fatalf("store cohort: %v", err)
	}
	return id
}

// rosterInvite stores an invitation of the cohort with status, accepted by user (nil while
// not accepted) into enrollment (nil for none), and returns its ID.
func (e *env) rosterInvite(t testing.TB, cohortID, email, name, status string, user *models.User, enrollment *uuid.UUID) string {
	t.Helper()
	id := uuid.NewString()
	now := e.clock.Now()
	e.clock.Advance(time.Second) // invitations list in the order they were made
	var userID *uuid.UUID
	var acceptedAt *time.Time
	if user != nil {
		userID = &user.ID
		acceptedAt = &now
	}
	_, err := e.db.Pool.Exec(context.Background(), `INSERT INTO cohort_invitations (id, cohort_id, org_id, email, name,
		status, expires_at, user_id, enrollment_id, invited_by, last_sent_at, accepted_at, created_at)
		SELECT $1, c.id, c.org_id, $3, $4, $5, $6, $7, $8, c.created_by, $9, $10, $9 FROM cohorts c WHERE c.id = $2`,
		id, cohortID, email, name, status, now.Add(14*24*time.Hour), userID, enrollment, now, acceptedAt)
	if err != nil {
		t.Fatalf("store invitation: %v", err)
	}
	return id
}

// rosterEnrollment stores an enrollment of the user in course with status.
func (e *env) rosterEnrollment(t testing.TB, u *models.User, course, status string) *uuid.UUID {
	t.Helper()
	enr := &models.Enrollment{UserID: u.ID, CourseCode: course, Offering: "initial", Status: status}
	if err := models.CreateEnrollment(context.Background(), e.db.Gorm, enr, nil); err != nil {
		t.Fatal(err)
	}
	return &enr.ID
}

// rosterExec runs a statement of a fixture.
func (e *env) rosterExec(t testing.TB, q string, args ...any) {
	t.Helper()
	if _, err := e.db.Pool.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// countQueries counts the statements the server's database handle runs from now on.
func (e *env) countQueries(t testing.TB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	count := func(*gorm.DB) { n.Add(1) }
	cb := e.db.Gorm.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("roster_test:count_query", count),
		cb.Row().After("gorm:row").Register("roster_test:count_row", count),
		cb.Raw().After("gorm:raw").Register("roster_test:count_raw", count),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return &n
}

type rosterRowBody struct {
	InvitationID     string `json:"invitation_id"`
	Email            string
	Name             string
	InvitationStatus string `json:"invitation_status"`
	MemberState      string `json:"member_state"`
	Credential       struct {
		Status       string
		Code         string
		ValidThrough string `json:"valid_through"`
	}
}

// rosterFixture is an org with a cohort in AALS and one invitee in each state.
type rosterFixture struct {
	orgID, cohortID, adminTok string
	memberTok, outsiderTok    string
	otherCohortID             string
	certifiedCode             string
	expiringCode              string
}

func newRosterFixture(t *testing.T, e *env) rosterFixture {
	t.Helper()
	e.seedCourses(t)
	admin, adminTok := e.user(t, "head.nurse@hospital.test")
	orgID := e.org(t, adminTok, "St. Roster Hospital")
	e.approve(t, orgID)
	member, memberTok := e.user(t, "plain.member@hospital.test")
	e.addMember(t, orgID, member, models.RoleMember)
	outsider, outsiderTok := e.user(t, "other.admin@clinic.test")
	otherOrg := e.org(t, outsiderTok, "Other Clinic")
	f := rosterFixture{orgID: orgID, adminTok: adminTok, memberTok: memberTok, outsiderTok: outsiderTok}
	f.otherCohortID = e.rosterCohort(t, otherOrg, outsider, "AALS", e.clock.Now().AddDate(0, 1, 0))
	f.cohortID = e.rosterCohort(t, orgID, admin, "AALS", e.clock.Now().AddDate(0, 1, 0))

	e.rosterInvite(t, f.cohortID, "formula@hospital.test", `=HYPERLINK("http://evil.test","x")`, "invited", nil, nil)
	pending, _ := e.user(t, "pending@hospital.test")
	e.rosterInvite(t, f.cohortID, pending.Email, "", "pending_approval", pending, nil)

	// Enrolled, and holding an older AALS credential that runs out in 30 days.
	enrolled, _ := e.user(t, "enrolled@hospital.test")
	old := e.issueCredential(t, enrolled, "AALS")
	through := e.clock.Now().AddDate(0, 0, 30)
	e.rosterExec(t, `UPDATE credentials SET valid_through = $2, valid_until = $3 WHERE id = $1`,
		old.ID, through.Format(time.DateOnly), through.Add(24*time.Hour))
	f.expiringCode = old.Code
	e.rosterInvite(t, f.cohortID, enrolled.Email, "Enrolled Nurse", "accepted", enrolled, e.rosterEnrollment(t, enrolled, "AALS", models.EnrollmentActive))

	inExam, _ := e.user(t, "in.exam@hospital.test")
	examEnr := e.rosterEnrollment(t, inExam, "AALS", models.EnrollmentActive)
	now := e.clock.Now()
	e.rosterExec(t, `INSERT INTO attempts (id, enrollment_id, user_id, course_code, number, form, started_at, deadline, attested_at)
		VALUES ($1, $2, $3, 'AALS', 1, '[]', $4, $5, $4)`, uuid.New(), *examEnr, inExam.ID, now, now.Add(time.Hour))
	e.rosterInvite(t, f.cohortID, inExam.Email, "In Exam", "accepted", inExam, examEnr)

	certified, _ := e.user(t, "certified@hospital.test")
	cr := e.issueCredential(t, certified, "AALS")
	f.certifiedCode = cr.Code
	e.rosterInvite(t, f.cohortID, certified.Email, "-2+3", "accepted", certified, &cr.EnrollmentID)

	failed, _ := e.user(t, "failed@hospital.test")
	e.rosterInvite(t, f.cohortID, failed.Email, "Failed Nurse", "accepted", failed, e.rosterEnrollment(t, failed, "AALS", models.EnrollmentFailed))

	e.rosterInvite(t, f.cohortID, "revoked@hospital.test", "Revoked", "revoked", nil, nil)
	return f
}

// TestCohortRosterStates lists every invitee that was not revoked with how far they got and
// their best credential, and nothing of their exams.
func TestCohortRosterStates(t *testing.T) {
	e := newEnv(t)
	f := newRosterFixture(t, e)
	path := "/v1/orgs/" + f.orgID + "/cohorts/" + f.cohortID + "/roster"
	r := e.do(t, req{method: "GET", path: path, token: f.adminTok})
	if r.Code != 200 {
		t.Fatalf("roster: %d %s", r.Code, r.Body)
	}
	for _, secret := range []string{"score", "answer", "attempt", "correct", "passed_at"} {
		if bytes.Contains(r.Body, []byte(secret)) {
			t.Errorf("the roster shows %q: %s", secret, r.Body)
		}
	}
	var list struct{ Items []rosterRowBody }
	r.decode(t, &list)
	type want struct{ email, invitation, state, cred, code string }
	wants := []want{
		{"formula@hospital.test", "invited", "invited", "none", ""},
		{"pending@hospital.test", "pending_approval", "pending_approval", "none", ""},
		{"enrolled@hospital.test", "accepted", "enrolled", "expiring", f.expiringCode},
		{"in.exam@hospital.test", "accepted", "in_exam", "none", ""},
		{"certified@hospital.test", "accepted", "certified", "active", f.certifiedCode},
		{"failed@hospital.test", "accepted", "failed", "none", ""},
	}
	if len(list.Items) != len(wants) {
		t.Fatalf("roster has %d rows, want %d: %s", len(list.Items), len(wants), r.Body)
	}
	for i, w := range wants {
		got := list.Items[i]
		if got.Email != w.email || got.InvitationStatus != w.invitation || got.MemberState != w.state ||
			got.Credential.Status != w.cred || got.Credential.Code != w.code {
			t.Errorf("row %d = %+v, want %+v", i, got, w)
		}
	}
	if got := list.Items[1].Name; got != "User pending@hospital.test" {
		t.Errorf("an invitation without a name shows %q, want the account's name", got)
	}
}

// TestCohortRosterPassedAwaitingSkillsCheck shows a member whose exam passed but whose
// credential is not issued yet as passed.
func TestCohortRosterPassedAwaitingSkillsCheck(t *testing.T) {
	e := newEnv(t)
	e.seedCourses(t)
	admin, adminTok := e.user(t, "head.nurse@hospital.test")
	orgID := e.org(t, adminTok, "St. Roster Hospital")
	cohortID := e.rosterCohort(t, orgID, admin, "ACLS", e.clock.Now().AddDate(0, 1, 0))
	u, _ := e.user(t, "skills.pending@hospital.test")
	enr := e.rosterEnrollment(t, u, "ACLS", models.EnrollmentActive)
	if err := models.MarkExamPassed(context.Background(), e.db.Gorm, *enr, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.rosterInvite(t, cohortID, u.Email, "Skills Pending", "accepted", u, enr)
	r := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgID + "/cohorts/" + cohortID + "/roster", token: adminTok})
	var list struct{ Items []rosterRowBody }
	r.decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].MemberState != "passed" {
		t.Fatalf("roster = %s, want one passed member", r.Body)
	}
}

// TestCohortRosterAccess lets only the org's admins read a roster, and only of its own cohorts.
func TestCohortRosterAccess(t *testing.T) {
	e := newEnv(t)
	f := newRosterFixture(t, e)
	base := "/v1/orgs/" + f.orgID + "/cohorts/"
	e.run(t, []scenario{
		{name: "Anonymous", req: req{method: "GET", path: base + f.cohortID + "/roster"}, wantStatus: 401, wantType: "unauthorized"},
		{name: "Outsider", req: req{method: "GET", path: base + f.cohortID + "/roster", token: f.outsiderTok}, wantStatus: 404, wantType: "not-found"},
		{name: "MemberWithoutAdmin", req: req{method: "GET", path: base + f.cohortID + "/roster", token: f.memberTok}, wantStatus: 403, wantType: "forbidden"},
		{name: "CohortOfAnotherOrg", req: req{method: "GET", path: base + f.otherCohortID + "/roster", token: f.adminTok}, wantStatus: 404, wantType: "not-found"},
		{name: "UnknownCohort", req: req{method: "GET", path: base + uuid.NewString() + "/roster", token: f.adminTok}, wantStatus: 404, wantType: "not-found"},
		{name: "MalformedCohort", req: req{method: "GET", path: base + "nope/roster", token: f.adminTok}, wantStatus: 404, wantType: "not-found"},
		{name: "BadCursor", req: req{method: "GET", path: base + f.cohortID + "/roster?cursor=bm9wZQ", token: f.adminTok}, wantStatus: 422, wantType: "validation"},
	})
}

// TestCohortRosterPages walks the roster page by page and meets every row once, in order.
func TestCohortRosterPages(t *testing.T) {
	e := newEnv(t)
	f := newRosterFixture(t, e)
	var emails []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the roster's pages do not end")
		}
		r := e.do(t, req{method: "GET", path: "/v1/orgs/" + f.orgID + "/cohorts/" + f.cohortID + "/roster?limit=4&cursor=" + cursor, token: f.adminTok})
		var page struct {
			Items      []rosterRowBody
			NextCursor string `json:"next_cursor"`
		}
		r.decode(t, &page)
		for _, it := range page.Items {
			emails = append(emails, it.Email)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	want := "formula@hospital.test pending@hospital.test enrolled@hospital.test in.exam@hospital.test certified@hospital.test failed@hospital.test"
	if got := strings.Join(emails, " "); got != want {
		t.Fatalf("pages gave %s, want %s", got, want)
	}
}

// TestCohortRosterCSV exports every row as CSV with formulas neutralized.
func TestCohortRosterCSV(t *testing.T) {
	e := newEnv(t)
	f := newRosterFixture(t, e)
	r := e.do(t, req{method: "GET", path: "/v1/orgs/" + f.orgID + "/cohorts/" + f.cohortID + "/roster?limit=1", token: f.adminTok,
		headers: map[string]string{"Accept": "text/csv"}})
	if r.Code != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("roster CSV: %d %s %s", r.Code, r.Header.Get("Content-Type"), r.Body)
	}
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 || recs[0][0] != "email" || recs[0][3] != "member_state" {
		t.Fatalf("CSV has %d records (want a header and 6 rows, limit ignored): %q", len(recs), recs)
	}
	byEmail := map[string][]string{}
	for _, rec := range recs[1:] {
		byEmail[rec[0]] = rec
	}
	if got := byEmail["formula@hospital.test"][1]; got != `'=HYPERLINK("http://evil.test","x")` {
		t.Errorf("a formula name is exported as %q, want it prefixed with '", got)
	}
	if got := byEmail["certified@hospital.test"][1]; got != "'-2+3" {
		t.Errorf("a name starting with - is exported as %q, want '-2+3", got)
	}
	if got := byEmail["certified@hospital.test"]; got[4] != "active" || got[5] != f.certifiedCode || got[7] == "" {
		t.Errorf("the certified member's row is %q", got)
	}
}

// TestCohortRosterQueriesDoNotGrow reads the roster with a fixed number of statements,
// whatever the number of members.
func TestCohortRosterQueriesDoNotGrow(t *testing.T) {
	e := newEnv(t)
	f := newRosterFixture(t, e)
	n := e.countQueries(t)
	read := func() int64 {
		before := n.Load()
		for _, accept := range []string{"application/json", "text/csv"} {
			r := e.do(t, req{method: "GET", path: "/v1/orgs/" + f.orgID + "/cohorts/" + f.cohortID + "/roster", token: f.adminTok,
				headers: map[string]string{"Accept": accept}})
			if r.Code != 200 {
				t.Fatalf("roster: %d %s", r.Code, r.Body)
			}
		}
		return n.Load() - before
	}
	small := read()
	for i := range 20 {
		u, _ := e.user(t, fmt.Sprintf("more%d@hospital.test", i))
		e.issueCredential(t, u, "AALS")
		e.rosterInvite(t, f.cohortID, u.Email, "More", "accepted", u, e.rosterEnrollment(t, u, "AALS", models.EnrollmentActive))
	}
	if large := read(); large != small || small == 0 {
		t.Fatalf("the roster ran %d statements for 6 members and %d for 26, want the same", small, large)
	}
}
