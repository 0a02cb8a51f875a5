package api_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// statusListBit fetches a status list through the API, verifies its signature with the key
// its kid names, and returns its purpose, the bit at index, and the response's ETag.
func (e *env) statusListBit(t *testing.T, list, index int) (purpose string, set bool, etag string) {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/status-lists/" + strconv.Itoa(list)})
	if r.Code != 200 || r.Header.Get("Content-Type") != "application/vc+jwt" {
		t.Fatalf("status list %d = %d %s %s", list, r.Code, r.Header.Get("Content-Type"), truncate(r.Body))
	}
	v, err := credential.NewVerifier(e.issuerKeyOf(t, string(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := v.VerifySignature(string(r.Body))
	if err != nil {
		t.Fatalf("status list signature: %v", err)
	}
	subject := payload["credentialSubject"].(map[string]any)
	if payload["id"] != publicURL+"/v1/status-lists/"+strconv.Itoa(list) || subject["type"] != "BitstringStatusList" ||
		payload["issuer"] != publicURL+"/issuer" || payload["iss"] != publicURL+"/issuer" {
		t.Errorf("status list payload = %v", payload)
	}
	bits, err := credential.DecodeBitstring(subject["encodedList"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if bits.Len() < credential.MinListSize {
		t.Errorf("list of %d entries, want at least %d", bits.Len(), credential.MinListSize)
	}
	set, err = bits.Get(index)
	if err != nil {
		t.Fatal(err)
	}
	return subject["statusPurpose"].(string), set, r.Header.Get("ETag")
}

func TestStatusListsShowStatusChangesAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	holder, _ := e.user(t, "holder@example.org")
	c := e.issueCredential(t, holder, "AALS")
	other := e.issueCredential(t, func() *models.User { u, _ := e.user(t, "other@example.org"); return u }(), "AALS")
	admin := e.token(t, e.adminUser(t))

	purpose, revoked, etag := e.statusListBit(t, c.RevocationList, c.RevocationIndex)
	if purpose != "revocation" || revoked {
		t.Fatalf("fresh credential: purpose %s, revoked %v", purpose, revoked)
	}
	r := e.do(t, req{method: "GET", path: "/v1/status-lists/" + strconv.Itoa(c.RevocationList), headers: map[string]string{"If-None-Match": etag}})
	if r.Code != 304 {
		t.Errorf("unchanged list with its ETag = %d, want 304", r.Code)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=60" {
		t.Errorf("Cache-Control = %q", cc)
	}
	purpose, suspended, susTag := e.statusListBit(t, c.SuspensionList, c.SuspensionIndex)
	if purpose != "suspension" || suspended || c.SuspensionList == c.RevocationList {
		t.Fatalf("suspension list %d: purpose %s, set %v", c.SuspensionList, purpose, suspended)
	}

	path := "/v1/admin/credentials/" + c.ID.String()
	if r := e.do(t, req{method: "POST", path: path + "/suspend", token: admin, body: map[string]string{"category": "license_action", "reason": "board review"}}); r.Code != 200 {
		t.Fatalf("suspend = %d %s", r.Code, truncate(r.Body))
	}
	_, suspended, newTag := e.statusListBit(t, c.SuspensionList, c.SuspensionIndex)
	if !suspended || newTag == susTag {
		t.Errorf("after suspend: bit %v, ETag %s (was %s); want set and a new ETag", suspended, newTag, susTag)
	}
	if _, set, _ := e.statusListBit(t, other.SuspensionList, other.SuspensionIndex); set {
		t.Error("another credential's suspension bit is set")
	}
	if r := e.do(t, req{method: "POST", path: path + "/reinstate", token: admin, body: map[string]string{"reason": "cleared"}}); r.Code != 200 {
		t.Fatalf("reinstate = %d %s", r.Code, truncate(r.Body))
	}
	if _, suspended, _ = e.statusListBit(t, c.SuspensionList, c.SuspensionIndex); suspended {
		t.Error("reinstated credential still suspended in the list")
	}
	if r := e.do(t, req{method: "POST", path: path + "/revoke", token: admin, body: map[string]string{"category": "exam_integrity", "reason": "proxy test taker"}}); r.Code != 200 {
		t.Fatalf("revoke = %d %s", r.Code, truncate(r.Body))
	}
	_, revoked, revTag := e.statusListBit(t, c.RevocationList, c.RevocationIndex)
	if !revoked || revTag == etag {
		t.Errorf("after revoke: bit %v, ETag %s (was %s)", revoked, revTag, etag)
	}
	if _, set, _ := e.statusListBit(t, other.RevocationList, other.RevocationIndex); set {
		t.Error("another credential's revocation bit is set")
	}
	if r := e.do(t, req{method: "GET", path: "/v1/status-lists/" + strconv.Itoa(c.RevocationList), headers: map[string]string{"If-None-Match": etag}}); r.Code != 200 {
		t.Errorf("changed list with the old ETag = %d, want 200", r.Code)
	}
	e.run(t, []scenario{
		{name: "UnknownList", req: req{method: "GET", path: "/v1/status-lists/999"}, wantStatus: 404, wantType: "not-found"},
		{name: "NotANumber", req: req{method: "GET", path: "/v1/status-lists/abc", unspecified: true}, wantStatus: 404, wantType: "not-found"},
	})
}

func TestAdminCredentialStatusChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	holder, holderTok := e.user(t, "holder@example.org")
	c := e.issueCredential(t, holder, "AALS")
	admin := e.token(t, e.adminUser(t))
	path := "/v1/admin/credentials/" + c.ID.String()
	revoke := map[string]string{"category": "misconduct", "reason": "falsified records"}
	e.run(t, []scenario{
		{name: "HolderCannotRevoke", req: req{method: "POST", path: path + "/revoke", token: holderTok, body: revoke}, wantStatus: 403, wantType: "forbidden"},
		{name: "HolderCannotRead", req: req{method: "GET", path: path, token: holderTok}, wantStatus: 403, wantType: "forbidden"},
		{name: "Anonymous", req: req{method: "POST", path: path + "/suspend", body: revoke}, wantStatus: 401, wantType: "unauthorized"},
		{name: "Unknown", req: req{method: "POST", path: "/v1/admin/credentials/00000000-0000-4000-8000-000000000000/revoke", token: admin, body: revoke}, wantStatus: 404, wantType: "not-found"},
		{name: "NoCategory", req: req{method: "POST", path: path + "/revoke", token: admin, body: map[string]string{"reason": "x"}}, wantStatus: 422, wantType: "validation"},
		{name: "UnknownCategory", req: req{method: "POST", path: path + "/suspend", token: admin, body: map[string]string{"category": "mood", "reason": "x"}}, wantStatus: 422, wantType: "validation"},
		{name: "NoReason", req: req{method: "POST", path: path + "/revoke", token: admin, body: map[string]string{"category": "other"}}, wantStatus: 422, wantType: "validation"},
		{name: "UnknownField", req: req{method: "POST", path: path + "/revoke", token: admin, body: map[string]string{"category": "other", "reason": "x", "final": "yes"}}, wantStatus: 400, wantType: "malformed-request"},
		{name: "ReinstateActive", req: req{method: "POST", path: path + "/reinstate", token: admin, body: map[string]string{}}, wantStatus: 409, wantType: "credential-not-suspended"},
		{name: "FindNeitherFilter", req: req{method: "GET", path: "/v1/admin/credentials", token: admin}, wantStatus: 422, wantType: "validation"},
	})

	// Two admins revoke at once: one change, one history entry, one email.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(t, req{method: "POST", path: path + "/revoke", token: admin, body: revoke}).Code
		}()
	}
	wg.Wait()
	if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
		t.Fatalf("concurrent revokes = %v, want one 200 and one 409", codes)
	}
	if n := e.count(t, `SELECT count(*) FROM credential_status_events WHERE credential_id = $1 AND action = 'revoked'`, c.ID); n != 1 {
		t.Errorf("%d revocation events, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'credential.revoke' AND object_id = $1`, c.ID.String()); n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}
	if m := e.lastMail(t, holder.Email); m.Subject != "Your AALS credential "+c.Code+" was revoked" {
		t.Errorf("holder's email subject = %q", m.Subject)
	}

	var got struct {
		Status  string `json:"status"`
		Source  string `json:"source"`
		Holder  struct{ Email string }
		History []struct {
			Status   string  `json:"status"`
			Action   string  `json:"action"`
			Category *string `json:"category"`
			Reason   *string `json:"reason"`
		} `json:"history"`
	}
	r := e.do(t, req{method: "GET", path: path, token: admin})
	r.decode(t, &got)
	if r.Code != 200 || got.Status != "revoked" || got.Source != "issued" || got.Holder.Email != holder.Email || len(got.History) != 2 ||
		got.History[0].Action != "issued" || got.History[1].Action != "revoked" || *got.History[1].Category != "misconduct" ||
		*got.History[1].Reason != "falsified records" {
		t.Errorf("admin view = %d %+v", r.Code, got)
	}
	e.run(t, []scenario{
		{name: "RevokeIsFinal", req: req{method: "POST", path: path + "/reinstate", token: admin, body: map[string]string{}}, wantStatus: 409, wantType: "credential-revoked"},
		{name: "NoSuspendAfterRevoke", req: req{method: "POST", path: path + "/suspend", token: admin, body: revoke}, wantStatus: 409, wantType: "credential-revoked"},
	})
	var found struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	r = e.do(t, req{method: "GET", path: "/v1/admin/credentials?code=" + c.Code, token: admin})
	r.decode(t, &found)
	if r.Code != 200 || len(found.Items) != 1 || found.Items[0].ID != c.ID.String() {
		t.Errorf("find by code = %d %s", r.Code, truncate(r.Body))
	}
	r = e.do(t, req{method: "GET", path: "/v1/admin/credentials?email=HOLDER@example.org", token: admin})
	r.decode(t, &found)
	if r.Code != 200 || len(found.Items) != 1 {
		t.Errorf("find by email = %d %s", r.Code, truncate(r.Body))
	}
	r = e.do(t, req{method: "GET", path: "/v1/admin/credentials?email=nobody@example.org", token: admin})
	r.decode(t, &found)
	if r.Code != 200 || len(found.Items) != 0 {
		t.Errorf("find unknown email = %d %s", r.Code, truncate(r.Body))
	}
}
