package api_test

import (
	"strings"
	"testing"

	"github.com/aalscert/aalscert/models"
)

// orgRouteCallers says who besides the org's admins may call a route under /v1/orgs/{orgID}.
// Every route not listed is for admins only. A new route that members or verifiers may call
// adds itself here, and the walk below checks it like every other.
var orgRouteCallers = map[string]struct{ member, apiKey bool }{
	"GET /v1/orgs/:orgID": {member: true, apiKey: true},

	// Verifiers and the org's API keys (org_verifications.go).
	"POST /v1/orgs/:orgID/verifications":                {apiKey: true},
	"GET /v1/orgs/:orgID/verifications":                 {apiKey: true},
	"GET /v1/orgs/:orgID/verifications/:verificationID": {apiKey: true},

	// Verifiers and the org's API keys (watchlist.go, org_events.go); webhooks are admins only.
	"POST /v1/orgs/:orgID/watchlist":            {apiKey: true},
	"GET /v1/orgs/:orgID/watchlist":             {apiKey: true},
	"DELETE /v1/orgs/:orgID/watchlist/:entryID": {apiKey: true},
	"GET /v1/orgs/:orgID/events":                {apiKey: true},

	// Instructors only, which the walk's callers are not (skills_checks.go).
	"GET /v1/orgs/:orgID/skills-checks/pending": {},
}

type orgRoute struct{ method, path string }

// orgRoutes returns every registered route that takes an {orgID} and is authorized by org
// membership (platform-admin routes under /v1/admin are not).
func orgRoutes(t *testing.T, e *env) []orgRoute {
	t.Helper()
	var out []orgRoute
	for _, r := range e.srv.Echo().Routes() {
		if strings.Contains(r.Path, ":orgID") && !strings.HasPrefix(r.Path, "/v1/admin/") {
			out = append(out, orgRoute{r.Method, r.Path})
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d org routes, want at least the 10 of orgs.go", len(out))
	}
	return out
}

// fill puts real IDs into a route's path parameters: the org's, and IDs of objects that exist
// in that org, so a broken check would let the request through rather than fail for lack of
// an object.
func fill(path string, ids map[string]string) string {
	return echoParam.ReplaceAllStringFunc(path, func(p string) string {
		if id, ok := ids[p[1:]]; ok {
			return id
		}
		return "00000000-0000-4000-8000-000000000000"
	})
}

func bodyFor(method string) any {
	if method == "POST" || method == "PATCH" || method == "PUT" {
		return map[string]any{}
	}
	return nil
}

// TestOrgRoutesAreAuthorized walks every org route: a member of another org, and that org's
// API key, get 404 on each (as for an org that does not exist); a member of the org without
// the needed role, and the org's own API key, get 403 on each route not open to them.
func TestOrgRoutesAreAuthorized(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, alice := e.user(t, "alice@a.test")
	bob, bobTok := e.user(t, "bob@b.test")
	carol, carolTok := e.user(t, "carol@b.test")
	orgA, orgB := e.org(t, alice, "Org A"), e.org(t, bobTok, "Org B")
	e.approve(t, orgA)
	e.approve(t, orgB)
	e.addMember(t, orgB, carol, models.RoleMember)
	_, keyA := e.apiKey(t, alice, orgA)
	keyBID, keyB := e.apiKey(t, bobTok, orgB)
	inv := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgB + "/member-invitations", token: bobTok,
		body: map[string]any{"email": "dan@b.test", "roles": []string{"member"}}})
	var invitation struct{ ID string }
	inv.decode(t, &invitation)
	ids := map[string]string{"orgID": orgB, "userID": bob.ID.String(), "keyID": keyBID, "invitationID": invitation.ID}
	ver := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgB + "/verifications", token: bobTok,
		body: map[string]any{"items": []map[string]string{{"code": "AALS-0000-0000"}}}})
	var verification struct{ ID string }
	ver.decode(t, &verification)
	ids["verificationID"] = verification.ID
	watch := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgB + "/watchlist", token: bobTok, body: map[string]string{"npi": "1234567893"}})
	var entry struct{ ID string }
	watch.decode(t, &entry)
	ids["entryID"] = entry.ID

	for _, r := range orgRoutes(t, e) {
		path := fill(r.path, ids)
		allowed := orgRouteCallers[r.method+" "+r.path]
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			for _, outsider := range []struct{ name, token string }{{"OtherOrgMember", alice}, {"OtherOrgKey", keyA}} {
				got := e.do(t, req{method: r.method, path: path, token: outsider.token, body: bodyFor(r.method)})
				if got.Code != 404 || got.problemType() != "not-found" {
					t.Errorf("%s: %s %s = %d %s, want 404 not-found", outsider.name, r.method, path, got.Code, got.problemType())
				}
			}
			for _, insider := range []struct {
				name    string
				token   string
				allowed bool
			}{{"MemberWithoutRole", carolTok, allowed.member}, {"OwnKey", keyB, allowed.apiKey}} {
				got := e.do(t, req{method: r.method, path: path, token: insider.token, body: bodyFor(r.method)})
				switch {
				case !insider.allowed && (got.Code != 403 || got.problemType() != "forbidden"):
					t.Errorf("%s: %s %s = %d %s, want 403 forbidden", insider.name, r.method, path, got.Code, got.problemType())
				case insider.allowed && (got.Code == 401 || got.Code == 403 || got.Code == 404):
					t.Errorf("%s: %s %s = %d %s, want it let through", insider.name, r.method, path, got.Code, got.problemType())
				}
			}
			// A malformed or unknown org ID is answered like another org's.
			for _, id := range []string{"not-a-uuid", "00000000-0000-4000-8000-000000000001"} {
				ids2 := map[string]string{"orgID": id}
				got := e.do(t, req{method: r.method, path: fill(r.path, ids2), token: bobTok, body: bodyFor(r.method), unspecified: id == "not-a-uuid"})
				if got.Code != 404 || got.problemType() != "not-found" {
					t.Errorf("org %s: %s = %d %s, want 404 not-found", id, r.method, got.Code, got.problemType())
				}
			}
			got := e.do(t, req{method: r.method, path: path, body: bodyFor(r.method)})
			if got.Code != 401 {
				t.Errorf("anonymous: %s %s = %d, want 401", r.method, path, got.Code)
			}
		})
	}
	// The walk changed nothing in org B.
	if n := e.count(t, `SELECT count(*) FROM org_members WHERE org_id = $1`, orgB); n != 2 {
		t.Errorf("org B has %d members after the walk, want 2", n)
	}
	if n := e.count(t, `SELECT count(*) FROM org_api_keys WHERE org_id = $1 AND revoked_at IS NULL`, orgB); n != 1 {
		t.Errorf("org B has %d live keys after the walk, want 1", n)
	}
}

// TestOrgNotFoundRevealsNothing compares the answer for another org with the answer for no
// org at all.
func TestOrgNotFoundRevealsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, alice := e.user(t, "alice@a.test")
	_, bob := e.user(t, "bob@b.test")
	orgB := e.org(t, bob, "Org B")
	detail := func(path string) string {
		r := e.do(t, req{method: "GET", path: path, token: alice})
		var p struct{ Type, Title, Detail string }
		r.decode(t, &p)
		return r.Header.Get("Content-Type") + "|" + p.Type + "|" + p.Title + "|" + p.Detail
	}
	if a, b := detail("/v1/orgs/"+orgB), detail("/v1/orgs/00000000-0000-4000-8000-000000000001"); a != b {
		t.Errorf("another org's answer %q differs from no org's %q", a, b)
	}
}

// TestAPIKeyIsNotAUser checks that an org API key reaches nothing outside its org's verifier
// routes.
func TestAPIKeyIsNotAUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, bob := e.user(t, "bob@b.test")
	orgB := e.org(t, bob, "Org B")
	e.approve(t, orgB)
	_, key := e.apiKey(t, bob, orgB)
	e.run(t, []scenario{
		{name: "OwnOrg", req: req{method: "GET", path: "/v1/orgs/" + orgB, token: key}, wantStatus: 200},
		{name: "Me", req: req{method: "GET", path: "/v1/me", token: key}, wantStatus: 401, wantType: "unauthorized"},
		{name: "Export", req: req{method: "GET", path: "/v1/me/export", token: key}, wantStatus: 401, wantType: "unauthorized"},
		{name: "ListOrgs", req: req{method: "GET", path: "/v1/orgs", token: key}, wantStatus: 401, wantType: "unauthorized"},
		{name: "CreateOrg", req: req{method: "POST", path: "/v1/orgs", token: key, body: map[string]any{"name": "X"}}, wantStatus: 401, wantType: "unauthorized"},
		{name: "Accept", req: req{method: "POST", path: "/v1/org-invitations/accept", token: key, body: map[string]any{"token": "x"}}, wantStatus: 401, wantType: "unauthorized"},
		{name: "AdminOrgs", req: req{method: "GET", path: "/v1/admin/orgs", token: key}, wantStatus: 401, wantType: "unauthorized"},
		{name: "Approve", req: req{method: "POST", path: "/v1/admin/orgs/" + orgB + "/approve", token: key}, wantStatus: 401, wantType: "unauthorized"},
		{name: "Rename", req: req{method: "PATCH", path: "/v1/orgs/" + orgB, token: key, body: map[string]any{"name": "X"}}, wantStatus: 403, wantType: "forbidden"},
		{name: "MalformedKey", req: req{method: "GET", path: "/v1/orgs/" + orgB, token: key + "x"}, wantStatus: 401, wantType: "unauthorized"},
	})
	r := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgB, token: key})
	var o struct {
		MyRoles []string `json:"my_roles"`
	}
	r.decode(t, &o)
	if len(o.MyRoles) != 1 || o.MyRoles[0] != "verifier" {
		t.Errorf("API key's my_roles = %v, want [verifier]", o.MyRoles)
	}
}
