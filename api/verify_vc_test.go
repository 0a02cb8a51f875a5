package api_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/credential"
)

// vcVerification is the answer of POST /v1/verify/vc.
type vcVerification struct {
	Valid  bool `json:"valid"`
	Checks []struct {
		Check  string `json:"check"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
	Credential   map[string]any `json:"credential"`
	Status       *string        `json:"status"`
	SupersededBy string         `json:"superseded_by"`
}

// failed returns the names of the checks that failed.
func (v vcVerification) failed() []string {
	var out []string
	for _, c := range v.Checks {
		if !c.OK {
			out = append(out, c.Check)
		}
	}
	return out
}

func (e *env) verifyVC(t *testing.T, token string) vcVerification {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/verify/vc", body: map[string]string{"vc": token}})
	if r.Code != 200 {
		t.Fatalf("verify = %d %s", r.Code, truncate(r.Body))
	}
	var v vcVerification
	r.decode(t, &v)
	if len(v.Checks) != 5 {
		t.Fatalf("checks = %+v, want five", v.Checks)
	}
	return v
}

func TestVerifyVC(t *testing.T) {
	t.Parallel()
	keys := testIssuerKeys(t)
	e := newEnv(t, withIssuerKeys(keys))
	e.seedCourses(t)
	holder, tok := e.user(t, "holder@example.org")
	c := e.issueCredential(t, holder, "AALS")
	admin := e.token(t, e.adminUser(t))
	r := e.do(t, req{method: "GET", path: "/v1/credentials/" + c.ID.String() + "/vc", token: tok})
	if r.Code != 200 {
		t.Fatalf("vc = %d", r.Code)
	}
	vc := string(r.Body)

	v := e.verifyVC(t, vc)
	if !v.Valid || len(v.failed()) != 0 || v.Credential["id"] != "urn:uuid:"+c.ID.String() || v.Status == nil || *v.Status != "active" {
		t.Fatalf("genuine credential = %+v", v)
	}
	raw := e.do(t, req{method: "POST", path: "/v1/verify/vc", body: vc, ctype: "application/vc+jwt"})
	var v2 vcVerification
	raw.decode(t, &v2)
	if raw.Code != 200 || !v2.Valid {
		t.Errorf("bare JWT body = %d %s", raw.Code, truncate(raw.Body))
	}

	// One changed byte of the payload breaks the signature, and nothing else is vouched for.
	parts := strings.Split(vc, ".")
	p := []byte(parts[1])
	p[10] ^= 1
	if p[10] == '-' || p[10] == '_' || p[10] == '.' {
		p[10] = 'A'
	}
	if v := e.verifyVC(t, parts[0]+"."+string(p)+"."+parts[2]); v.Valid || v.Checks[0].OK || v.Credential != nil {
		t.Errorf("tampered payload = %+v", v)
	}
	// A credential signed with a key the issuer never published.
	stranger := newCredentialKey(t, credential.AlgEdDSA)
	signer, err := credential.NewSigner(stranger)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.Unmarshal(decodeSegment(t, parts[1]), &doc)
	for _, claim := range []string{"iss", "jti", "sub", "nbf", "exp"} {
		delete(doc, claim)
	}
	forged, err := signer.SignDocument(doc, credential.Claims{Issuer: publicURL + "/issuer", ID: doc["id"].(string), NotBefore: c.ValidFrom, Expires: c.ValidUntil})
	if err != nil {
		t.Fatal(err)
	}
	if v := e.verifyVC(t, forged); v.Valid || v.Checks[0].OK || !strings.Contains(v.Checks[0].Detail, "not signed with a key this issuer published") {
		t.Errorf("foreign key = %+v", v)
	}
	// Signed by the issuer but pointing at a status list elsewhere: the status cannot be read.
	doc["credentialStatus"].(map[string]any)["statusListCredential"] = "https://lists.example.org/1"
	elsewhere, err := keys.Signer.SignDocument(doc, credential.Claims{Issuer: publicURL + "/issuer", ID: doc["id"].(string), NotBefore: c.ValidFrom, Expires: c.ValidUntil})
	if err != nil {
		t.Fatal(err)
	}
	if v := e.verifyVC(t, elsewhere); v.Valid || strings.Join(v.failed(), ",") != "revocation" || !strings.HasPrefix(v.Checks[3].Detail, "status unknown") {
		t.Errorf("foreign status list = %+v", v)
	}
	// Signed by the issuer for an index the list does not have.
	doc["credentialStatus"].(map[string]any)["statusListCredential"] = publicURL + "/v1/status-lists/1"
	doc["credentialStatus"].(map[string]any)["statusListIndex"] = "99999999"
	outOfRange, _ := keys.Signer.SignDocument(doc, credential.Claims{Issuer: publicURL + "/issuer", ID: doc["id"].(string), NotBefore: c.ValidFrom, Expires: c.ValidUntil})
	if v := e.verifyVC(t, outOfRange); v.Valid || strings.Join(v.failed(), ",") != "revocation" {
		t.Errorf("index out of range = %+v", v)
	}

	// A reissue replaced it: still genuine and valid, and the verifier learns the new code.
	next := e.issueCredential(t, holder, "AALS")
	if err := e.db.Gorm.Exec(`UPDATE credentials SET status = 'superseded', superseded_by = ? WHERE id = ?`, next.ID, c.ID).Error; err != nil {
		t.Fatal(err)
	}
	if v := e.verifyVC(t, vc); !v.Valid || v.Status == nil || *v.Status != "superseded" || v.SupersededBy != next.Code {
		t.Errorf("superseded = %+v", v)
	}
	if err := e.db.Gorm.Exec(`UPDATE credentials SET status = 'active', superseded_by = NULL WHERE id = ?`, c.ID).Error; err != nil {
		t.Fatal(err)
	}

	path := "/v1/admin/credentials/" + c.ID.String()
	e.do(t, req{method: "POST", path: path + "/suspend", token: admin, body: map[string]string{"category": "license_action", "reason": "review"}})
	if v := e.verifyVC(t, vc); v.Valid || strings.Join(v.failed(), ",") != "suspension" || v.Checks[4].Detail != "suspended" {
		t.Errorf("suspended = %+v", v)
	}
	e.do(t, req{method: "POST", path: path + "/revoke", token: admin, body: map[string]string{"category": "license_action", "reason": "license revoked"}})
	if v := e.verifyVC(t, vc); v.Valid || strings.Join(v.failed(), ",") != "revocation" || v.Checks[3].Detail != "revoked" {
		t.Errorf("revoked = %+v", v)
	}

	e.run(t, []scenario{
		{name: "Empty", req: req{method: "POST", path: "/v1/verify/vc", body: map[string]string{"vc": " "}}, wantStatus: 422, wantType: "validation"},
		{name: "Missing", req: req{method: "POST", path: "/v1/verify/vc", body: map[string]string{}}, wantStatus: 422, wantType: "validation"},
		{name: "UnknownField", req: req{method: "POST", path: "/v1/verify/vc", body: map[string]string{"jwt": vc}, unspecified: true}, wantStatus: 400, wantType: "malformed-request"},
	})
	if v := e.verifyVC(t, "not.a.jwt"); v.Valid || !strings.HasPrefix(v.Checks[0].Detail, "not a compact JWT") {
		t.Errorf("garbage = %+v", v)
	}
}

func TestVerifyVCDatesAndRSA(t *testing.T) {
	t.Parallel()
	k := newCredentialKey(t, credential.AlgRS256)
	signer, err := credential.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withIssuerKeys(&api.IssuerKeys{Signer: signer, Published: []credential.PublicKey{k.Public()}}))
	e.seedCourses(t)
	holder, tok := e.user(t, "holder@example.org")
	c := e.issueCredential(t, holder, "AALS")
	vc := string(e.do(t, req{method: "GET", path: "/v1/credentials/" + c.ID.String() + "/vc", token: tok}).Body)
	if v := e.verifyVC(t, vc); !v.Valid {
		t.Fatalf("RS256 credential = %+v", v)
	}
	e.clock.Advance(c.ValidUntil.Sub(e.clock.Now()) + time.Hour)
	if v := e.verifyVC(t, vc); v.Valid || strings.Join(v.failed(), ",") != "dates" || !strings.HasPrefix(v.Checks[2].Detail, "expired") {
		t.Errorf("after valid_until = %+v", v)
	}
}

func decodeSegment(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyVCIsRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := req{method: "POST", path: "/v1/verify/vc", body: map[string]string{"vc": "a.b.c"}}
	for i := range 60 {
		if r := e.doFrom(t, "198.51.100.7", q); r.Code != 200 {
			t.Fatalf("request %d = %d, want 200", i+1, r.Code)
		}
	}
	r := e.doFrom(t, "198.51.100.7", q)
	if r.Code != 429 || r.problemType() != "too-many-requests" || r.Header.Get("Retry-After") == "" {
		t.Errorf("61st request = %d %s, Retry-After %q; want 429", r.Code, r.problemType(), r.Header.Get("Retry-After"))
	}
	if r := e.doFrom(t, "198.51.100.8", q); r.Code != 200 {
		t.Errorf("another address = %d, want 200", r.Code)
	}
}
