package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aalscert/aalscert/models"
)

// cohortBody is a cohort as the API answers it.
type cohortBody struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Course         string `json:"course"`
	Offering       string `json:"offering"`
	DueDate        string `json:"due_date"`
	AllowSelfPay   bool   `json:"allow_self_pay"`
	Invited        int    `json:"invited"`
	Accepted       int    `json:"accepted"`
	SeatsRemaining int    `json:"seats_remaining"`
}

// cohortOrg is an approved org with an admin, seeded courses and seats.
type cohortOrg struct {
	orgID    string
	admin    *models.User
	adminTok string
}

func (e *env) cohortOrg(t testing.TB, name string, seats int) cohortOrg {
	t.Helper()
	e.seedCourses(t)
	admin, tok := e.user(t, "admin@"+name+".test")
	orgID := e.org(t, tok, name)
	e.approve(t, orgID)
	if seats > 0 {
		e.addSeats(t, orgID, "AALS", "initial", seats)
	}
	return cohortOrg{orgID: orgID, admin: admin, adminTok: tok}
}

// addSeats gives the org seats of a course offering, as a paid seat purchase would.
func (e *env) addSeats(t testing.TB, orgID, course, offering string, n int) {
	t.Helper()
	_, err := e.db.Pool.Exec(context.Background(), `INSERT INTO seat_pools (org_id, course_code, offering, total, updated_at)
		VALUES ($1, $2, $3, $4, now()) ON CONFLICT (org_id, course_code, offering) DO UPDATE SET total = seat_pools.total + EXCLUDED.total`,
		orgID, course, offering, n)
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) createCohort(t testing.TB, o cohortOrg, body map[string]any) cohortBody {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + o.orgID + "/cohorts", token: o.adminTok, body: body})
	if r.Code != 201 {
		t.Fatalf("create cohort: %d %s", r.Code, r.Body)
	}
	var c cohortBody
	r.decode(t, &c)
	return c
}

func cohortInput(selfPay bool) map[string]any {
	return map[string]any{"name": "ICU nurses", "course": "AALS", "offering": "initial", "due_date": "2026-12-31", "allow_self_pay": selfPay}
}

func TestCohortLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.cohortOrg(t, "mercy", 5)
	other := e.cohortOrg(t, "other", 0)
	member, memberTok := e.user(t, "nurse@mercy.test")
	e.addMember(t, o.orgID, member, models.RoleMember)
	base := "/v1/orgs/" + o.orgID + "/cohorts"

	c := e.createCohort(t, o, cohortInput(false))
	if c.Course != "AALS" || c.Offering != "initial" || c.DueDate != "2026-12-31" || c.SeatsRemaining != 5 || c.Invited != 0 {
		t.Fatalf("created cohort = %+v", c)
	}
	otherCohort := e.createCohort(t, other, cohortInput(false))
	e.run(t, []scenario{
		{"PastDueDate", req{method: "POST", path: base, token: o.adminTok, body: map[string]any{"name": "x", "course": "AALS", "offering": "initial", "due_date": "2026-11-20"}}, 422, "validation"},
		{"BadDate", req{method: "POST", path: base, token: o.adminTok, body: map[string]any{"name": "x", "course": "AALS", "offering": "initial", "due_date": "31/12/2026"}}, 422, "validation"},
		{"UnknownCourse", req{method: "POST", path: base, token: o.adminTok, body: map[string]any{"name": "x", "course": "NOPE", "offering": "initial", "due_date": "2026-12-31"}}, 422, "validation"},
		{"BadOffering", req{method: "POST", path: base, token: o.adminTok, body: map[string]any{"name": "x", "course": "AALS", "offering": "annual", "due_date": "2026-12-31"}}, 422, "validation"},
		{"MissingName", req{method: "POST", path: base, token: o.adminTok, body: map[string]any{"course": "AALS", "offering": "initial", "due_date": "2026-12-31"}}, 422, "validation"},
		{"MemberWithoutAdmin", req{method: "POST", path: base, token: memberTok, body: cohortInput(false)}, 403, "forbidden"},
		{"MemberCannotList", req{method: "GET", path: base, token: memberTok}, 403, "forbidden"},
		{"GetOwn", req{method: "GET", path: base + "/" + c.ID, token: o.adminTok}, 200, ""},
		{"OtherOrgsCohort", req{method: "GET", path: base + "/" + otherCohort.ID, token: o.adminTok}, 404, "not-found"},
		{"OtherOrgsCohortPatch", req{method: "PATCH", path: base + "/" + otherCohort.ID, token: o.adminTok, body: map[string]any{"name": "mine"}}, 404, "not-found"},
		{"OtherOrgsCohortArchive", req{method: "POST", path: base + "/" + otherCohort.ID + "/archive", token: o.adminTok}, 404, "not-found"},
		{"PatchCourse", req{method: "PATCH", path: base + "/" + c.ID, token: o.adminTok, body: map[string]any{"course": "ACLS"}}, 422, "validation"},
		{"BadArchivedFlag", req{method: "GET", path: base + "?archived=maybe", token: o.adminTok}, 422, "validation"},
	})

	r := e.do(t, req{method: "PATCH", path: base + "/" + c.ID, token: o.adminTok, body: map[string]any{"name": "ICU", "due_date": "2027-01-15", "allow_self_pay": true}})
	var patched cohortBody
	r.decode(t, &patched)
	if r.Code != 200 || patched.Name != "ICU" || patched.DueDate != "2027-01-15" || !patched.AllowSelfPay {
		t.Fatalf("patch = %d %s", r.Code, r.Body)
	}
	if r := e.do(t, req{method: "POST", path: base + "/" + c.ID + "/archive", token: o.adminTok}); r.Code != 200 {
		t.Fatalf("archive = %d %s", r.Code, r.Body)
	}
	var list struct{ Items []cohortBody }
	e.do(t, req{method: "GET", path: base, token: o.adminTok}).decode(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("archived cohort listed by default: %+v", list.Items)
	}
	e.do(t, req{method: "GET", path: base + "?archived=true", token: o.adminTok}).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != c.ID {
		t.Fatalf("list with archived = %+v", list.Items)
	}
	e.run(t, []scenario{
		{"ArchivedTakesNoInvitations", req{method: "POST", path: base + "/" + c.ID + "/invitations", token: o.adminTok, body: map[string]any{"emails": []string{"a@x.test"}}}, 409, "cohort-archived"},
	})
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE object_id = $1`, c.ID); n != 3 {
		t.Fatalf("audit entries for the cohort = %d, want 3 (create, update, archive)", n)
	}
}

type inviteRowBody struct {
	Row    int    `json:"row"`
	Email  string `json:"email"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

func (e *env) cohortInvite(t testing.TB, o cohortOrg, cohortID string, body any, ctype string) []inviteRowBody {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + o.orgID + "/cohorts/" + cohortID + "/invitations", token: o.adminTok, body: body, ctype: ctype})
	if r.Code != 200 {
		t.Fatalf("invite: %d %s", r.Code, r.Body)
	}
	var out struct{ Rows []inviteRowBody }
	r.decode(t, &out)
	return out.Rows
}

func TestCohortInvitationsCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.cohortOrg(t, "mercy", 5)
	c := e.createCohort(t, o, cohortInput(false))
	path := "/v1/orgs/" + o.orgID + "/cohorts/" + c.ID + "/invitations"

	csvBody := "\xef\xbb\xbfNPI,Name,EMAIL\r\n" +
		"1234567893,Ana Núñez,ana@mercy.test\r\n" + // line 2: good, with an NPI
		",Bo,not-an-address\r\n" + // line 3: bad email
		"1234567890,Cy,cy@mercy.test\r\n" + // line 4: NPI fails its check digit
		",Dee,\r\n" + // line 5: no email
		",Ana again,ANA@mercy.test\r\n" + // line 6: same address, other case
		",Eve,eve@mercy.test\r\n" // line 7: good
	rows := e.cohortInvite(t, o, c.ID, csvBody, "text/csv")
	want := []struct {
		row    int
		status string
	}{{2, "invited"}, {3, "error"}, {4, "error"}, {5, "error"}, {6, "already_member"}, {7, "invited"}}
	if len(rows) != len(want) {
		t.Fatalf("rows = %+v", rows)
	}
	for i, w := range want {
		if rows[i].Row != w.row || rows[i].Status != w.status || (w.status == "error") != (rows[i].Error != "") {
			t.Errorf("row %d = %+v, want line %d %s", i, rows[i], w.row, w.status)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM cohort_invitations WHERE cohort_id = $1`, c.ID); n != 2 {
		t.Fatalf("invitations stored = %d, want 2", n)
	}
	if n := e.count(t, `SELECT count(*) FROM cohort_invitations WHERE cohort_id = $1 AND npi = '1234567893' AND name = 'Ana Núñez'`, c.ID); n != 1 {
		t.Fatal("the CSV's name and NPI were not stored")
	}
	m := e.lastMail(t, "ana@mercy.test")
	if !strings.Contains(m.Text, publicURL+"/invitations/") || !strings.Contains(m.Text, "ICU nurses") {
		t.Fatalf("invitation email:\n%s", m.Text)
	}

	// JSON: positions are rows; an address already invited is already_member.
	rows = e.cohortInvite(t, o, c.ID, map[string]any{"emails": []string{"eve@mercy.test", "fay@mercy.test", "nope"}}, "")
	if rows[0].Status != "already_member" || rows[1].Status != "invited" || rows[1].Row != 2 || rows[2].Status != "error" || rows[2].Row != 3 {
		t.Fatalf("JSON rows = %+v", rows)
	}

	// A file that cannot be read as a whole changes nothing.
	before := e.count(t, `SELECT count(*) FROM cohort_invitations`)
	mailsBefore := e.count(t, `SELECT count(*) FROM outbox`)
	var many strings.Builder
	many.WriteString("email,name\n")
	for i := range 2001 {
		fmt.Fprintf(&many, "p%d@mercy.test,P %d\n", i, i)
	}
	e.run(t, []scenario{
		{"NoEmailColumn", req{method: "POST", path: path, token: o.adminTok, body: "name,npi\ngus@mercy.test,\n", ctype: "text/csv"}, 422, "validation"},
		{"NotCSV", req{method: "POST", path: path, token: o.adminTok, body: "email,name\n\"gus@mercy.test,Gus\n", ctype: "text/csv"}, 422, "validation"},
		{"NoRows", req{method: "POST", path: path, token: o.adminTok, body: "email,name\r\n", ctype: "text/csv"}, 422, "validation"},
		{"Empty", req{method: "POST", path: path, token: o.adminTok, body: "", ctype: "text/csv"}, 422, "validation"},
		{"TooManyRows", req{method: "POST", path: path, token: o.adminTok, body: many.String(), ctype: "text/csv"}, 422, "validation"},
		{"NotUTF8", req{method: "POST", path: path, token: o.adminTok, body: "email\n\xff@mercy.test\n", ctype: "text/csv"}, 422, "validation"},
		{"NoEmails", req{method: "POST", path: path, token: o.adminTok, body: map[string]any{"emails": []string{}}}, 422, "validation"},
		{"LargerThan1MiB", req{method: "POST", path: path, token: o.adminTok, body: "email\n" + strings.Repeat("x", 1<<20) + "@mercy.test\n", ctype: "text/csv"}, 422, "validation"},
	})
	if after := e.count(t, `SELECT count(*) FROM cohort_invitations`); after != before {
		t.Fatalf("a refused file stored invitations: %d → %d", before, after)
	}
	if after := e.count(t, `SELECT count(*) FROM outbox`); after != mailsBefore {
		t.Fatalf("a refused file sent email: %d → %d", mailsBefore, after)
	}

	// A retried upload with the same Idempotency-Key answers as the first and sends nothing.
	retry := req{method: "POST", path: path, token: o.adminTok, body: "email\ngus@mercy.test\n", ctype: "text/csv",
		headers: map[string]string{"Idempotency-Key": "roster-upload-1"}}
	first := e.do(t, retry)
	mailsBefore = e.count(t, `SELECT count(*) FROM outbox`)
	again := e.do(t, retry)
	if first.Code != 200 || again.Code != 200 || string(again.Body) != string(first.Body) {
		t.Fatalf("retried upload = %d %s, first %d %s", again.Code, again.Body, first.Code, first.Body)
	}
	if after := e.count(t, `SELECT count(*) FROM outbox`); after != mailsBefore {
		t.Fatalf("the retried upload sent %d more emails", after-mailsBefore)
	}

	var list struct {
		Items []struct{ Email, Status string }
	}
	e.do(t, req{method: "GET", path: path, token: o.adminTok}).decode(t, &list)
	if len(list.Items) != 4 {
		t.Fatalf("invitation list = %+v", list.Items)
	}
	var got cohortBody
	e.do(t, req{method: "GET", path: "/v1/orgs/" + o.orgID + "/cohorts/" + c.ID, token: o.adminTok}).decode(t, &got)
	if got.Invited != 4 || got.Accepted != 0 {
		t.Fatalf("cohort counts = %+v", got)
	}
}

// invitationFor invites one address and returns the invitation ID and the link's token.
func (e *env) invitationFor(t testing.TB, o cohortOrg, cohortID, email string) (id, token string) {
	t.Helper()
	rows := e.cohortInvite(t, o, cohortID, map[string]any{"emails": []string{email}}, "")
	if rows[0].Status != "invited" {
		t.Fatalf("invite %s: %+v", email, rows[0])
	}
	id = e.invitationID(t, cohortID, email)
	return id, tokenFromLink(t, e.lastMail(t, email).Text, publicURL+"/invitations/")
}

func (e *env) invitationID(t testing.TB, cohortID, email string) string {
	t.Helper()
	var id string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT id::text FROM cohort_invitations WHERE cohort_id = $1 AND email = $2`, cohortID, email).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

type acceptBody struct {
	Status     string `json:"status"`
	SeatUsed   bool   `json:"seat_used"`
	SelfPay    bool   `json:"self_pay"`
	Enrollment *struct {
		ID     string  `json:"id"`
		Status string  `json:"status"`
		OrgID  *string `json:"org_id"`
	} `json:"enrollment"`
}

func acceptReq(token, linkToken string) req {
	return req{method: "POST", path: "/v1/invitations/" + linkToken + "/accept", token: token}
}

func TestCohortAcceptWithSeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.cohortOrg(t, "mercy", 1)
	other := e.cohortOrg(t, "other", 0)
	c := e.createCohort(t, o, cohortInput(false))
	otherCohort := e.createCohort(t, other, cohortInput(false))
	base := "/v1/orgs/" + o.orgID + "/cohorts/" + c.ID + "/invitations/"

	ana, anaTok := e.user(t, "ana@mercy.test")
	_, bo := e.user(t, "bo@mercy.test")
	invID, link := e.invitationFor(t, o, c.ID, "ana@mercy.test")
	otherInvID, _ := e.invitationFor(t, other, otherCohort.ID, "ana@mercy.test")

	// Resending moves the link on: the first one is refused.
	if r := e.do(t, req{method: "POST", path: base + invID + "/resend", token: o.adminTok}); r.Code != 200 {
		t.Fatalf("resend = %d %s", r.Code, r.Body)
	}
	newLink := tokenFromLink(t, e.lastMail(t, "ana@mercy.test").Text, publicURL+"/invitations/")
	e.run(t, []scenario{
		{"OldLinkAfterResend", acceptReq(anaTok, link), 410, "invitation-link-replaced"},
		{"ForgedLink", acceptReq(anaTok, "abc.def.ghi"), 404, "invitation-not-found"},
		{"SignedOut", acceptReq("", newLink), 401, "unauthorized"},
		{"OtherOrgsInvitation", req{method: "POST", path: base + otherInvID + "/revoke", token: o.adminTok}, 404, "not-found"},
		{"OtherOrgsInvitationViaOwnCohortPath", req{method: "POST", path: "/v1/orgs/" + o.orgID + "/cohorts/" + otherCohort.ID + "/invitations/" + otherInvID + "/resend", token: o.adminTok}, 404, "not-found"},
		{"NotPendingApproval", req{method: "POST", path: base + invID + "/approve", token: o.adminTok}, 409, "invitation-not-pending-approval"},
	})

	r := e.do(t, acceptReq(anaTok, newLink))
	var acc acceptBody
	r.decode(t, &acc)
	if r.Code != 200 || acc.Status != "accepted" || !acc.SeatUsed || acc.Enrollment == nil || acc.Enrollment.Status != "active" ||
		acc.Enrollment.OrgID == nil || *acc.Enrollment.OrgID != o.orgID {
		t.Fatalf("accept = %d %s", r.Code, r.Body)
	}
	if n := e.count(t, `SELECT used FROM seat_pools WHERE org_id = $1`, o.orgID); n != 1 {
		t.Fatalf("seats used = %d, want 1", n)
	}
	e.run(t, []scenario{
		{"AcceptTwice", acceptReq(anaTok, newLink), 409, "invitation-used"},
		{"RevokeAccepted", req{method: "POST", path: base + invID + "/revoke", token: o.adminTok}, 409, "invitation-used"},
	})

	// No seat left and no self-pay: refused, nothing changed.
	_, boLink := e.invitationFor(t, o, c.ID, "bo@mercy.test")
	enrollments := e.count(t, `SELECT count(*) FROM enrollments`)
	e.run(t, []scenario{{"NoSeatsLeft", acceptReq(bo, boLink), 409, "no-seats-left"}})
	if n := e.count(t, `SELECT count(*) FROM enrollments`); n != enrollments {
		t.Fatal("a refused acceptance created an enrollment")
	}
	if n := e.count(t, `SELECT count(*) FROM cohort_invitations WHERE email = 'bo@mercy.test' AND status = 'invited'`); n != 1 {
		t.Fatal("a refused acceptance changed the invitation")
	}

	// The admin takes the seat back; then it funds Bo.
	r = e.do(t, req{method: "POST", path: base + invID + "/reclaim-seat", token: o.adminTok})
	if r.Code != 200 {
		t.Fatalf("reclaim = %d %s", r.Code, r.Body)
	}
	if st, _, _ := e.enrollmentState(t, acc.Enrollment.ID); st != "cancelled" {
		t.Fatalf("reclaimed enrollment status = %s", st)
	}
	if n := e.count(t, `SELECT used FROM seat_pools WHERE org_id = $1`, o.orgID); n != 0 {
		t.Fatalf("seats used after reclaim = %d, want 0", n)
	}
	e.run(t, []scenario{
		{"ReclaimTwice", req{method: "POST", path: base + invID + "/reclaim-seat", token: o.adminTok}, 409, "no-seat-to-reclaim"},
		{"BoGetsTheSeat", acceptReq(bo, boLink), 200, ""},
	})

	// Revoked: the link is refused; re-inviting re-opens it with a new link.
	_, cyTok := e.user(t, "cy@mercy.test")
	cyID, cyLink := e.invitationFor(t, o, c.ID, "cy@mercy.test")
	e.run(t, []scenario{
		{"Revoke", req{method: "POST", path: base + cyID + "/revoke", token: o.adminTok}, 200, ""},
		{"RevokedLink", acceptReq(cyTok, cyLink), 410, "invitation-revoked"},
		{"ResendRevoked", req{method: "POST", path: base + cyID + "/resend", token: o.adminTok}, 409, "invitation-revoked"},
	})
	if rows := e.cohortInvite(t, o, c.ID, map[string]any{"emails": []string{"cy@mercy.test"}}, ""); rows[0].Status != "invited" {
		t.Fatalf("re-invite revoked = %+v", rows)
	}

	// Expired after 30 days.
	e.clock.Advance(31 * 24 * 60 * 60 * 1e9)
	cyLink = tokenFromLink(t, e.lastMail(t, "cy@mercy.test").Text, publicURL+"/invitations/")
	e.run(t, []scenario{{"Expired", acceptReq(e.token(t, ana), cyLink), 410, "invitation-expired"}})
}

func TestCohortAcceptPendingApprovalAndSelfPay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.cohortOrg(t, "mercy", 1)
	c := e.createCohort(t, o, cohortInput(true))
	base := "/v1/orgs/" + o.orgID + "/cohorts/" + c.ID + "/invitations/"

	// Accepted from another address: waits for the admin, who approves; the seat is used then.
	_, personalTok := e.user(t, "dee.personal@example.test")
	deeID, deeLink := e.invitationFor(t, o, c.ID, "dee@mercy.test")
	r := e.do(t, acceptReq(personalTok, deeLink))
	var acc acceptBody
	r.decode(t, &acc)
	if r.Code != 202 || acc.Status != "pending_approval" || acc.Enrollment != nil {
		t.Fatalf("accept from another address = %d %s", r.Code, r.Body)
	}
	if n := e.count(t, `SELECT used FROM seat_pools WHERE org_id = $1`, o.orgID); n != 0 {
		t.Fatal("a pending acceptance used a seat")
	}
	r = e.do(t, req{method: "POST", path: base + deeID + "/approve", token: o.adminTok})
	var inv struct {
		Status   string `json:"status"`
		SeatUsed bool   `json:"seat_used"`
	}
	r.decode(t, &inv)
	if r.Code != 200 || inv.Status != "accepted" || !inv.SeatUsed {
		t.Fatalf("approve = %d %s", r.Code, r.Body)
	}
	if n := e.count(t, `SELECT count(*) FROM enrollments e JOIN users u ON u.id = e.user_id
		WHERE u.email = 'dee.personal@example.test' AND e.status = 'active' AND e.org_id = $1`, o.orgID); n != 1 {
		t.Fatal("approval did not create the org-paid enrollment")
	}

	// An unverified address waits for approval too.
	_, unverifiedTok := e.user(t, "ed@mercy.test", unverified)
	_, edLink := e.invitationFor(t, o, c.ID, "ed@mercy.test")
	e.run(t, []scenario{{"Unverified", acceptReq(unverifiedTok, edLink), 202, ""}})

	// No seat left, self-pay allowed: a pending-payment enrollment the member pays.
	_, fayTok := e.user(t, "fay@mercy.test")
	fayID, fayLink := e.invitationFor(t, o, c.ID, "fay@mercy.test")
	r = e.do(t, acceptReq(fayTok, fayLink))
	r.decode(t, &acc)
	if r.Code != 200 || !acc.SelfPay || acc.SeatUsed || acc.Enrollment == nil || acc.Enrollment.Status != "pending_payment" || acc.Enrollment.OrgID != nil {
		t.Fatalf("self-pay accept = %d %s", r.Code, r.Body)
	}
	if n := e.count(t, `SELECT count(*) FROM cohort_invitations WHERE id = $1 AND status = 'accepted' AND self_pay AND NOT seat_used`, fayID); n != 1 {
		t.Fatal("self-pay acceptance not recorded")
	}
	e.run(t, []scenario{{"ReclaimSelfPay", req{method: "POST", path: base + fayID + "/reclaim-seat", token: o.adminTok}, 409, "no-seat-to-reclaim"}})
}

func TestCohortReclaimAfterExamStarted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.cohortOrg(t, "mercy", 2)
	e.seedBank(t, "AALS")
	c := e.createCohort(t, o, cohortInput(false))
	_, anaTok := e.user(t, "ana@mercy.test")
	invID, link := e.invitationFor(t, o, c.ID, "ana@mercy.test")
	var acc acceptBody
	e.do(t, acceptReq(anaTok, link)).decode(t, &acc)
	if acc.Enrollment == nil {
		t.Fatal("no enrollment")
	}
	e.startAttempt(t, anaTok, acc.Enrollment.ID)
	e.run(t, []scenario{{"ExamStarted", req{method: "POST", path: "/v1/orgs/" + o.orgID + "/cohorts/" + c.ID + "/invitations/" + invID + "/reclaim-seat", token: o.adminTok}, 409, "exam-started"}})
	if n := e.count(t, `SELECT used FROM seat_pools WHERE org_id = $1`, o.orgID); n != 1 {
		t.Fatalf("seats used = %d, want 1", n)
	}
}

// TestCohortSeatsConcurrentAccepts: 50 invitees accepting at once against 10 seats get 10
// enrollments and 40 no-seats-left, and the pool counts exactly 10 used.
func TestCohortSeatsConcurrentAccepts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.cohortOrg(t, "mercy", 10)
	c := e.createCohort(t, o, cohortInput(false))
	const n = 50
	emails := make([]string, n)
	tokens := make([]string, n)
	for i := range n {
		emails[i] = fmt.Sprintf("nurse%02d@mercy.test", i)
		_, tokens[i] = e.user(t, emails[i])
	}
	e.cohortInvite(t, o, c.ID, map[string]any{"emails": emails}, "")
	links := make([]string, n)
	for i := range n {
		links[i] = tokenFromLink(t, e.lastMail(t, emails[i]).Text, publicURL+"/invitations/")
	}
	codes := make([]int, n)
	types := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(t, acceptReq(tokens[i], links[i]))
			codes[i], types[i] = r.Code, r.problemType()
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for i := range n {
		switch {
		case codes[i] == 200:
			ok++
		case codes[i] == 409 && types[i] == "no-seats-left":
			refused++
		default:
			t.Errorf("accept %d = %d %s", i, codes[i], types[i])
		}
	}
	if ok != 10 || refused != 40 {
		t.Fatalf("accepted %d, refused %d; want 10 and 40", ok, refused)
	}
	if got := e.count(t, `SELECT count(*) FROM enrollments WHERE org_id = $1 AND status = 'active'`, o.orgID); got != 10 {
		t.Fatalf("org-paid enrollments = %d, want 10", got)
	}
	if got := e.count(t, `SELECT used FROM seat_pools WHERE org_id = $1`, o.orgID); got != 10 {
		t.Fatalf("seats used = %d, want 10", got)
	}
	if got := e.count(t, `SELECT count(*) FROM cohort_invitations WHERE cohort_id = $1 AND status = 'accepted' AND seat_used`, c.ID); got != 10 {
		t.Fatalf("accepted invitations = %d, want 10", got)
	}
}

func TestCohortInvitationPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.cohortOrg(t, "mercy", 1)
	c := e.createCohort(t, o, cohortInput(false))
	ana, _ := e.user(t, "ana@mercy.test")
	_, link := e.invitationFor(t, o, c.ID, "ana@mercy.test")
	form := func(pw string) string {
		return url.Values{"email": {ana.Email}, "password": {pw}}.Encode()
	}
	const formType = "application/x-www-form-urlencoded"

	r := e.do(t, req{method: "GET", path: "/invitations/" + link})
	page := string(r.Body)
	if r.Code != 200 || !strings.Contains(page, "mercy") || !strings.Contains(page, "ICU nurses") || !strings.Contains(page, "AALS") ||
		!strings.Contains(page, `action="/invitations/`+link+`"`) || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("page = %d %s", r.Code, page)
	}
	if n := e.count(t, `SELECT count(*) FROM enrollments`); n != 0 {
		t.Fatal("opening the page enrolled")
	}
	r = e.do(t, req{method: "POST", path: "/invitations/" + link, body: form("wrong password"), ctype: formType})
	if r.Code != 401 || !strings.Contains(string(r.Body), "incorrect") {
		t.Fatalf("wrong password = %d %s", r.Code, r.Body)
	}
	r = e.do(t, req{method: "POST", path: "/invitations/" + link, body: form(fixturePassword), ctype: formType})
	if r.Code != 200 || !strings.Contains(string(r.Body), "paid by") {
		t.Fatalf("accept on the page = %d %s", r.Code, r.Body)
	}
	if n := e.count(t, `SELECT count(*) FROM enrollments WHERE user_id = $1 AND org_id = $2 AND status = 'active'`, ana.ID, o.orgID); n != 1 {
		t.Fatal("the page did not enroll with the org's seat")
	}
	for _, tok := range []string{link, "forged.token.value"} {
		r = e.do(t, req{method: "GET", path: "/invitations/" + tok})
		if r.Code != 200 || strings.Contains(string(r.Body), "<form") {
			t.Fatalf("used or forged link page = %d %s", r.Code, r.Body)
		}
	}
}
