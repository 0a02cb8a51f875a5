package api_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

type orgBody struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Approved   bool       `json:"approved"`
	ApprovedAt *time.Time `json:"approved_at"`
	MyRoles    []string   `json:"my_roles"`
}

type listBody[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func TestCreateAndReadOrgs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, ann := e.user(t, "ann@h.test")
	_, ben := e.user(t, "ben@h.test")

	r := e.do(t, req{method: "POST", path: "/v1/orgs", token: ann, body: map[string]any{"name": "  Mercy Hospital  "}})
	if r.Code != 201 {
		t.Fatalf("create = %d %s", r.Code, r.Body)
	}
	var o orgBody
	r.decode(t, &o)
	if o.Name != "Mercy Hospital" || o.Approved || o.ApprovedAt != nil || len(o.MyRoles) != 1 || o.MyRoles[0] != "admin" {
		t.Errorf("created org = %+v, want unapproved Mercy Hospital with my_roles [admin]", o)
	}
	e.org(t, ann, "Second")
	e.org(t, ann, "Third")
	e.org(t, ben, "Ben's")

	e.run(t, []scenario{
		{name: "Anonymous", req: req{method: "POST", path: "/v1/orgs", body: map[string]any{"name": "X"}}, wantStatus: 401, wantType: "unauthorized"},
		{name: "NoName", req: req{method: "POST", path: "/v1/orgs", token: ann, body: map[string]any{}}, wantStatus: 422, wantType: "validation"},
		{name: "BlankName", req: req{method: "POST", path: "/v1/orgs", token: ann, body: map[string]any{"name": "  "}}, wantStatus: 422, wantType: "validation"},
		{name: "LongName", req: req{method: "POST", path: "/v1/orgs", token: ann, body: map[string]any{"name": strings.Repeat("x", 201)}}, wantStatus: 422, wantType: "validation"},
		{name: "UnknownField", req: req{method: "POST", path: "/v1/orgs", token: ann, body: map[string]any{"name": "X", "approved": true}}, wantStatus: 400, wantType: "malformed-request"},
		{name: "NotJSON", req: req{method: "POST", path: "/v1/orgs", token: ann, body: "name=X", ctype: "application/x-www-form-urlencoded"}, wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "Get", req: req{method: "GET", path: "/v1/orgs/" + o.ID, token: ann}, wantStatus: 200},
		{name: "GetAsNonMember", req: req{method: "GET", path: "/v1/orgs/" + o.ID, token: ben}, wantStatus: 404, wantType: "not-found"},
		{name: "BadCursor", req: req{method: "GET", path: "/v1/orgs?cursor=zzz", token: ann}, wantStatus: 422, wantType: "validation"},
	})

	// Ann sees her three orgs over two pages, Ben's never.
	var seen []string
	cursor := ""
	for page := 0; page < 3; page++ {
		r := e.do(t, req{method: "GET", path: "/v1/orgs?limit=2&cursor=" + cursor, token: ann})
		var l listBody[orgBody]
		r.decode(t, &l)
		for _, it := range l.Items {
			seen = append(seen, it.Name)
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if got := strings.Join(seen, ","); len(seen) != 3 || strings.Contains(got, "Ben") {
		t.Errorf("Ann's orgs = %s, want her three", got)
	}
}

func TestRenameOrg(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, ann := e.user(t, "ann@h.test")
	mia, miaTok := e.user(t, "mia@h.test")
	org := e.org(t, ann, "Mercy")
	e.addMember(t, org, mia, "member")
	e.run(t, []scenario{
		{name: "Admin", req: req{method: "PATCH", path: "/v1/orgs/" + org, token: ann, body: map[string]any{"name": "Mercy General"}}, wantStatus: 200},
		{name: "Member", req: req{method: "PATCH", path: "/v1/orgs/" + org, token: miaTok, body: map[string]any{"name": "Mine"}}, wantStatus: 403, wantType: "forbidden"},
		{name: "Invalid", req: req{method: "PATCH", path: "/v1/orgs/" + org, token: ann, body: map[string]any{"name": ""}}, wantStatus: 422, wantType: "validation"},
	})
	var o orgBody
	e.do(t, req{method: "GET", path: "/v1/orgs/" + org, token: miaTok}).decode(t, &o)
	if o.Name != "Mercy General" {
		t.Errorf("name = %q, want Mercy General", o.Name)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'org.update' AND object_id = $1 AND after->>'name' = 'Mercy General' AND before->>'name' = 'Mercy'`, org); n != 1 {
		t.Errorf("audit rows for the rename = %d, want 1", n)
	}
}

func TestApproveOrg(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staff := e.adminUser(t)
	staffTok := e.token(t, staff)
	_, ann := e.user(t, "ann@h.test")
	org := e.org(t, ann, "Mercy")
	other := e.org(t, ann, "Other")
	e.run(t, []scenario{
		{name: "NotStaff", req: req{method: "POST", path: "/v1/admin/orgs/" + org + "/approve", token: ann}, wantStatus: 403, wantType: "forbidden"},
		{name: "NotStaffList", req: req{method: "GET", path: "/v1/admin/orgs", token: ann}, wantStatus: 403, wantType: "forbidden"},
		{name: "Anonymous", req: req{method: "GET", path: "/v1/admin/orgs"}, wantStatus: 401, wantType: "unauthorized"},
		{name: "BadFilter", req: req{method: "GET", path: "/v1/admin/orgs?approved=maybe", token: staffTok}, wantStatus: 422, wantType: "validation"},
		{name: "Approve", req: req{method: "POST", path: "/v1/admin/orgs/" + org + "/approve", token: staffTok}, wantStatus: 200},
		{name: "ApproveAgain", req: req{method: "POST", path: "/v1/admin/orgs/" + org + "/approve", token: staffTok}, wantStatus: 409, wantType: "already-approved"},
		{name: "Unknown", req: req{method: "POST", path: "/v1/admin/orgs/" + uuid.NewString() + "/approve", token: staffTok}, wantStatus: 404, wantType: "not-found"},
	})
	names := func(q string) string {
		var l listBody[orgBody]
		e.do(t, req{method: "GET", path: "/v1/admin/orgs" + q, token: staffTok}).decode(t, &l)
		var out []string
		for _, o := range l.Items {
			out = append(out, o.ID)
		}
		return strings.Join(out, ",")
	}
	if got := names("?approved=true"); got != org {
		t.Errorf("approved orgs = %s, want %s", got, org)
	}
	if got := names("?approved=false"); got != other {
		t.Errorf("unapproved orgs = %s, want %s", got, other)
	}
	var o orgBody
	e.do(t, req{method: "GET", path: "/v1/orgs/" + org, token: ann}).decode(t, &o)
	if !o.Approved || o.ApprovedAt == nil {
		t.Errorf("org after approval = %+v, want approved", o)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'org.approve' AND object_id = $1 AND actor_id = $2
		AND (before->>'approved')::bool = false AND (after->>'approved')::bool = true AND request_id <> ''`, org, staff.ID); n != 1 {
		t.Errorf("audit rows for the approval = %d, want 1", n)
	}
}

func TestApproveOrgNeedsTOTPWhereRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdminMFA)
	staff := e.adminUser(t)
	staffTok := e.token(t, staff)
	_, ann := e.user(t, "ann@h.test")
	org := e.org(t, ann, "Mercy")
	e.run(t, []scenario{
		{name: "NoMFA", req: req{method: "POST", path: "/v1/admin/orgs/" + org + "/approve", token: staffTok}, wantStatus: 403, wantType: "mfa-required"},
	})
}

type memberBody struct {
	UserID string   `json:"user_id"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
}

func TestMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann, annTok := e.user(t, "ann@h.test")
	mia, miaTok := e.user(t, "mia@h.test")
	org := e.org(t, annTok, "Mercy")
	e.addMember(t, org, mia, "member")
	members := "/v1/orgs/" + org + "/members/"
	e.run(t, []scenario{
		{name: "List", req: req{method: "GET", path: "/v1/orgs/" + org + "/members", token: annTok}, wantStatus: 200},
		{name: "ListAsMember", req: req{method: "GET", path: "/v1/orgs/" + org + "/members", token: miaTok}, wantStatus: 403, wantType: "forbidden"},
		{name: "VerifierNeedsApproval", req: req{method: "PATCH", path: members + mia.ID.String(), token: annTok, body: map[string]any{"roles": []string{"verifier"}}}, wantStatus: 403, wantType: "org-not-approved"},
		{name: "InstructorNeedsApproval", req: req{method: "PATCH", path: members + mia.ID.String(), token: annTok, body: map[string]any{"roles": []string{"member", "instructor"}}}, wantStatus: 403, wantType: "org-not-approved"},
		{name: "UnknownRole", req: req{method: "PATCH", path: members + mia.ID.String(), token: annTok, body: map[string]any{"roles": []string{"owner"}}}, wantStatus: 422, wantType: "validation"},
		{name: "NoRoles", req: req{method: "PATCH", path: members + mia.ID.String(), token: annTok, body: map[string]any{"roles": []string{}}}, wantStatus: 422, wantType: "validation"},
		{name: "NotAMember", req: req{method: "PATCH", path: members + uuid.NewString(), token: annTok, body: map[string]any{"roles": []string{"member"}}}, wantStatus: 404, wantType: "not-found"},
		{name: "MalformedUser", req: req{method: "DELETE", path: members + "nope", token: annTok}, wantStatus: 404, wantType: "not-found"},
		{name: "MakeAdmin", req: req{method: "PATCH", path: members + mia.ID.String(), token: annTok, body: map[string]any{"roles": []string{"member", "admin", "admin"}}}, wantStatus: 200},
		{name: "NowAdminLists", req: req{method: "GET", path: "/v1/orgs/" + org + "/members", token: miaTok}, wantStatus: 200},
		{name: "DemoteAnn", req: req{method: "PATCH", path: members + ann.ID.String(), token: miaTok, body: map[string]any{"roles": []string{"member"}}}, wantStatus: 200},
		{name: "LastAdminCannotStepDown", req: req{method: "PATCH", path: members + mia.ID.String(), token: miaTok, body: map[string]any{"roles": []string{"member"}}}, wantStatus: 409, wantType: "last-admin"},
		{name: "LastAdminCannotLeave", req: req{method: "DELETE", path: members + mia.ID.String(), token: miaTok}, wantStatus: 409, wantType: "last-admin"},
		{name: "RemoveAnn", req: req{method: "DELETE", path: members + ann.ID.String(), token: miaTok}, wantStatus: 204},
		{name: "AnnIsOut", req: req{method: "GET", path: "/v1/orgs/" + org, token: annTok}, wantStatus: 404, wantType: "not-found"},
	})
	if n := e.count(t, `SELECT count(*) FROM org_members WHERE org_id = $1 AND roles = ARRAY['admin','member']`, org); n != 1 {
		t.Errorf("members with roles [admin member] = %d, want Mia alone (duplicates dropped)", n)
	}
	for action, want := range map[string]int{"org_member.update_roles": 2, "org_member.remove": 1} {
		if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = $1 AND object_type = 'org_member' AND actor_id IS NOT NULL AND before IS NOT NULL`, action); n != want {
			t.Errorf("audit rows %s = %d, want %d", action, n, want)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'org_member.remove' AND before->>'user_id' = $1`, ann.ID.String()); n != 1 {
		t.Errorf("audit of Ann's removal = %d rows, want 1", n)
	}
}

func TestMemberListPaginates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, ann := e.user(t, "ann@h.test")
	org := e.org(t, ann, "Mercy")
	for i := range 4 {
		u, _ := e.user(t, fmt.Sprintf("m%d@h.test", i))
		e.clock.Advance(time.Second)
		e.addMember(t, org, u, "member")
	}
	seen := map[string]bool{}
	cursor := ""
	for range 5 {
		var l listBody[memberBody]
		e.do(t, req{method: "GET", path: "/v1/orgs/" + org + "/members?limit=2&cursor=" + cursor, token: ann}).decode(t, &l)
		for _, m := range l.Items {
			if seen[m.Email] {
				t.Errorf("%s listed twice", m.Email)
			}
			seen[m.Email] = true
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Errorf("listed %d members, want 5", len(seen))
	}
}

// TestLastAdminUnderConcurrency has two admins remove each other at once, many times over:
// each org must keep exactly one admin.
func TestLastAdminUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const orgs = 8
	for i := range orgs {
		a, aTok := e.user(t, fmt.Sprintf("a%d@h.test", i))
		b, bTok := e.user(t, fmt.Sprintf("b%d@h.test", i))
		org := e.org(t, aTok, fmt.Sprintf("Org %d", i))
		e.addMember(t, org, b, "admin")
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for j, call := range []struct {
			token  string
			target uuid.UUID
			method string
		}{{aTok, b.ID, "DELETE"}, {bTok, a.ID, "PATCH"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q := req{method: call.method, path: "/v1/orgs/" + org + "/members/" + call.target.String(), token: call.token}
				if call.method == "PATCH" {
					q.body = map[string]any{"roles": []string{"member"}}
				}
				codes[j] = e.do(t, q).Code
			}()
		}
		wg.Wait()
		if ok := (codes[0] < 300) != (codes[1] < 300); !ok {
			t.Errorf("org %d: codes %v, want exactly one success", i, codes)
		}
		if n := e.count(t, `SELECT count(*) FROM org_members WHERE org_id = $1 AND 'admin' = ANY(roles)`, org); n != 1 {
			t.Errorf("org %d has %d admins after concurrent removal (codes %v), want 1", i, n, codes)
		}
	}
}

type invitationBody struct {
	ID     string   `json:"id"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
	Status string   `json:"status"`
}

// invite has the admin invite email with roles and returns the token from the email.
func (e *env) invite(t testing.TB, adminTok, org, email string, roles ...string) (invitationBody, string) {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + org + "/member-invitations", token: adminTok,
		body: map[string]any{"email": email, "roles": roles}})
	if r.Code != 201 {
		t.Fatalf("invite %s: %d %s", email, r.Code, r.Body)
	}
	var inv invitationBody
	r.decode(t, &inv)
	m := e.lastMail(t, email)
	return inv, tokenFromLink(t, m.Text, publicURL+"/org-invitations/")
}

func TestMemberInvitations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann, annTok := e.user(t, "ann@h.test")
	_, mia := e.user(t, "Mia@H.test")
	_, eve := e.user(t, "eve@h.test")
	_, unv := e.user(t, "unv@h.test", unverified)
	org := e.org(t, annTok, "Mercy")
	path := "/v1/orgs/" + org + "/member-invitations"

	e.run(t, []scenario{
		{name: "VerifierBeforeApproval", req: req{method: "POST", path: path, token: annTok, body: map[string]any{"email": "v@h.test", "roles": []string{"verifier"}}}, wantStatus: 403, wantType: "org-not-approved"},
		{name: "BadEmailAndRole", req: req{method: "POST", path: path, token: annTok, body: map[string]any{"email": "nope", "roles": []string{"boss"}}}, wantStatus: 422, wantType: "validation"},
		{name: "AlreadyMember", req: req{method: "POST", path: path, token: annTok, body: map[string]any{"email": "ANN@h.test", "roles": []string{"member"}}}, wantStatus: 409, wantType: "already-member"},
	})
	r := e.do(t, req{method: "POST", path: path, token: annTok, body: map[string]any{"email": "nope", "roles": []string{"boss"}}})
	var p struct{ Errors []struct{ Field string } }
	r.decode(t, &p)
	if len(p.Errors) != 2 {
		t.Errorf("field errors = %+v, want email and roles", p.Errors)
	}

	inv, token := e.invite(t, annTok, org, "mia@h.test", "member")
	if inv.Status != "pending" {
		t.Errorf("status = %s, want pending", inv.Status)
	}
	m := e.lastMail(t, "mia@h.test")
	if !strings.Contains(m.Text, "Mercy") || !strings.Contains(m.Text, ann.Name) || !strings.Contains(m.Text, "7 days") {
		t.Errorf("invitation email lacks org, inviter or expiry:\n%s", m.Text)
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE to_addr = 'mia@h.test' AND position($1 in text_body) > 0`, token); n != 0 {
		t.Error("the outbox copy holds the live invitation token")
	}
	if n := e.count(t, `SELECT count(*) FROM org_member_invitations WHERE token_hash = sha256($1::bytea)`, token); n != 1 {
		t.Error("the stored hash is not the SHA-256 of the token")
	}
	accept := func(tok string) map[string]any { return map[string]any{"token": tok} }
	e.run(t, []scenario{
		{name: "Anonymous", req: req{method: "POST", path: "/v1/org-invitations/accept", body: accept(token)}, wantStatus: 401, wantType: "unauthorized"},
		{name: "WrongAddress", req: req{method: "POST", path: "/v1/org-invitations/accept", token: eve, body: accept(token)}, wantStatus: 403, wantType: "email-mismatch"},
		{name: "UnknownToken", req: req{method: "POST", path: "/v1/org-invitations/accept", token: mia, body: accept("nope")}, wantStatus: 422, wantType: "token-invalid"},
		{name: "EmptyToken", req: req{method: "POST", path: "/v1/org-invitations/accept", token: mia, body: accept("")}, wantStatus: 422, wantType: "validation"},
		{name: "AcceptCaseInsensitive", req: req{method: "POST", path: "/v1/org-invitations/accept", token: mia, body: accept(token)}, wantStatus: 200},
		{name: "Twice", req: req{method: "POST", path: "/v1/org-invitations/accept", token: mia, body: accept(token)}, wantStatus: 422, wantType: "token-invalid"},
		{name: "MiaIsMember", req: req{method: "GET", path: "/v1/orgs/" + org, token: mia}, wantStatus: 200},
		{name: "ButNotAdmin", req: req{method: "GET", path: "/v1/orgs/" + org + "/members", token: mia}, wantStatus: 403, wantType: "forbidden"},
	})

	_, unvToken := e.invite(t, annTok, org, "unv@h.test", "member")
	e.run(t, []scenario{{name: "Unverified", req: req{method: "POST", path: "/v1/org-invitations/accept", token: unv, body: accept(unvToken)}, wantStatus: 403, wantType: "email-unverified"}})

	// Already a member by another invitation: refused, and the invitation stays open.
	_, second := e.invite(t, annTok, org, "eve@h.test", "member")
	_, third := e.invite(t, annTok, org, "eve@h.test", "member")
	e.run(t, []scenario{
		{name: "EveAccepts", req: req{method: "POST", path: "/v1/org-invitations/accept", token: eve, body: accept(second)}, wantStatus: 200},
		{name: "EveAgain", req: req{method: "POST", path: "/v1/org-invitations/accept", token: eve, body: accept(third)}, wantStatus: 409, wantType: "already-member"},
	})

	// Expired and revoked invitations no longer work.
	revoked, revokedToken := e.invite(t, annTok, org, "rev@h.test", "member")
	_, expiredToken := e.invite(t, annTok, org, "exp@h.test", "member")
	_, rev := e.user(t, "rev@h.test")
	expUser, _ := e.user(t, "exp@h.test")
	e.run(t, []scenario{
		{name: "Revoke", req: req{method: "DELETE", path: path + "/" + revoked.ID, token: annTok}, wantStatus: 204},
		{name: "RevokeAgain", req: req{method: "DELETE", path: path + "/" + revoked.ID, token: annTok}, wantStatus: 409, wantType: "invitation-closed"},
		{name: "RevokeUnknown", req: req{method: "DELETE", path: path + "/" + uuid.NewString(), token: annTok}, wantStatus: 404, wantType: "not-found"},
		{name: "RevokedToken", req: req{method: "POST", path: "/v1/org-invitations/accept", token: rev, body: accept(revokedToken)}, wantStatus: 422, wantType: "token-invalid"},
	})
	e.clock.Advance(7*24*time.Hour + time.Minute)
	annTok = e.token(t, ann)
	e.run(t, []scenario{{name: "Expired", req: req{method: "POST", path: "/v1/org-invitations/accept", token: e.token(t, expUser), body: accept(expiredToken)}, wantStatus: 422, wantType: "token-invalid"}})

	var l listBody[invitationBody]
	e.do(t, req{method: "GET", path: path, token: annTok}).decode(t, &l)
	status := map[string]int{}
	for _, i := range l.Items {
		status[i.Status]++
	}
	if status["accepted"] != 2 || status["revoked"] != 1 || status["expired"] != 3 || len(l.Items) != 6 {
		t.Errorf("invitation statuses = %v, want 2 accepted, 1 revoked, 3 expired", status)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'org_member_invitation.revoke' AND object_id = $1`, revoked.ID); n != 1 {
		t.Errorf("audit rows for the revocation = %d, want 1", n)
	}
}

func TestInviteVerifierOnceApproved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, annTok := e.user(t, "ann@h.test")
	_, vic := e.user(t, "vic@h.test")
	org := e.org(t, annTok, "Mercy")
	e.approve(t, org)
	_, token := e.invite(t, annTok, org, "vic@h.test", "verifier", "member")
	m := e.lastMail(t, "vic@h.test")
	if !strings.Contains(m.Text, "verifier and member") {
		t.Errorf("invitation email does not name the roles readably:\n%s", m.Text)
	}
	r := e.do(t, req{method: "POST", path: "/v1/org-invitations/accept", token: vic, body: map[string]any{"token": token}})
	var ms struct {
		OrgID string   `json:"org_id"`
		Roles []string `json:"roles"`
	}
	r.decode(t, &ms)
	if r.Code != 200 || ms.OrgID != org || strings.Join(ms.Roles, ",") != "verifier,member" {
		t.Errorf("accept = %d %+v, want membership of %s as verifier,member", r.Code, ms, org)
	}
}

// TestAcceptInvitationOnce accepts one invitation from many requests at once: exactly one
// succeeds and exactly one membership exists.
func TestAcceptInvitationOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, annTok := e.user(t, "ann@h.test")
	mia, miaTok := e.user(t, "mia@h.test")
	org := e.org(t, annTok, "Mercy")
	_, token := e.invite(t, annTok, org, "mia@h.test", "member")
	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(t, req{method: "POST", path: "/v1/org-invitations/accept", token: miaTok, body: map[string]any{"token": token}}).Code
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d accepts succeeded (codes %v), want 1", ok, codes)
	}
	if got := e.count(t, `SELECT count(*) FROM org_members WHERE org_id = $1 AND user_id = $2`, org, mia.ID); got != 1 {
		t.Errorf("memberships = %d, want 1", got)
	}
	if got := e.count(t, `SELECT count(*) FROM org_member_invitations WHERE org_id = $1 AND accepted_by = $2`, org, mia.ID); got != 1 {
		t.Errorf("accepted invitations = %d, want 1", got)
	}
}

var keyFormat = regexp.MustCompile(`^aals_([a-z2-7]{12})_[a-z2-7]{40,}$`)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann, annTok := e.user(t, "ann@h.test")
	org := e.org(t, annTok, "Mercy")
	keys := "/v1/orgs/" + org + "/api-keys"
	e.run(t, []scenario{
		{name: "BeforeApproval", req: req{method: "POST", path: keys, token: annTok, body: map[string]any{"name": "LIMS"}}, wantStatus: 403, wantType: "org-not-approved"},
	})
	e.approve(t, org)
	e.run(t, []scenario{
		{name: "NoName", req: req{method: "POST", path: keys, token: annTok, body: map[string]any{"name": ""}}, wantStatus: 422, wantType: "validation"},
	})
	r := e.do(t, req{method: "POST", path: keys, token: annTok, body: map[string]any{"name": "LIMS"}})
	var k struct {
		ID     string   `json:"id"`
		Prefix string   `json:"prefix"`
		Key    string   `json:"key"`
		Scopes []string `json:"scopes"`
	}
	r.decode(t, &k)
	m := keyFormat.FindStringSubmatch(k.Key)
	if r.Code != 201 || m == nil || m[1] != k.Prefix || strings.Join(k.Scopes, ",") != "verify" {
		t.Fatalf("create key = %d %+v, want aals_<prefix>_<secret> with scope verify", r.Code, k)
	}
	if n := e.count(t, `SELECT count(*) FROM org_api_keys WHERE id = $1 AND secret_hash = sha256($2::bytea)`, k.ID, k.Key); n != 1 {
		t.Error("the stored hash is not the SHA-256 of the whole key")
	}
	list := e.do(t, req{method: "GET", path: keys, token: annTok})
	if strings.Contains(string(list.Body), k.Key) || strings.Contains(string(list.Body), `"key"`) {
		t.Errorf("key list shows the key: %s", list.Body)
	}
	// Another org's admin cannot revoke this org's key, even knowing its ID.
	_, bobTok := e.user(t, "bob@h.test")
	other := e.org(t, bobTok, "Other")
	e.run(t, []scenario{
		{name: "OtherOrgsAdmin", req: req{method: "DELETE", path: "/v1/orgs/" + other + "/api-keys/" + k.ID, token: bobTok}, wantStatus: 404, wantType: "not-found"},
		{name: "KeyWorks", req: req{method: "GET", path: "/v1/orgs/" + org, token: k.Key}, wantStatus: 200},
		{name: "KeyCannotListKeys", req: req{method: "GET", path: keys, token: k.Key}, wantStatus: 403, wantType: "forbidden"},
		{name: "RevokeUnknown", req: req{method: "DELETE", path: keys + "/" + uuid.NewString(), token: annTok}, wantStatus: 404, wantType: "not-found"},
		{name: "Revoke", req: req{method: "DELETE", path: keys + "/" + k.ID, token: annTok}, wantStatus: 204},
		{name: "RevokedKey", req: req{method: "GET", path: "/v1/orgs/" + org, token: k.Key}, wantStatus: 401, wantType: "unauthorized"},
		{name: "RevokeAgain", req: req{method: "DELETE", path: keys + "/" + k.ID, token: annTok}, wantStatus: 404, wantType: "not-found"},
	})
	for _, action := range []string{"api_key.create", "api_key.revoke"} {
		if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = $1 AND object_id = $2 AND actor_id = $3`, action, k.ID, ann.ID); n != 1 {
			t.Errorf("audit rows %s = %d, want 1", action, n)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE position($1 in coalesce(after::text, '')) > 0`, k.Key); n != 0 {
		t.Error("the audit log holds the key")
	}
}
