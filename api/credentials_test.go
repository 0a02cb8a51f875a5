package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// credentialBody is a credential as its holder reads it.
type credentialBody struct {
	ID           string   `json:"id"`
	Code         string   `json:"code"`
	Status       string   `json:"status"`
	Course       string   `json:"course"`
	HolderName   string   `json:"holder_name"`
	ValidFrom    string   `json:"valid_from"`
	ValidThrough string   `json:"valid_through"`
	ValidUntil   string   `json:"valid_until"`
	CECredits    *float64 `json:"ce_credits"`
	VerifyURL    string   `json:"verify_url"`
	LinkedInURL  string   `json:"linkedin_url"`
}

// TestCredentialIssuedOnPass takes a learner with a verified email through a passing AALS
// exam and reads the credential it issued: the list, the credential, and its VC-JWT.
func TestCredentialIssuedOnPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	ana, tok := e.user(t, "ana@example.org")
	enrID := e.activeEnrollment(t, tok, "AALS")
	a := e.startAttempt(t, tok, enrID)
	e.answerAll(t, ana, a, time.Minute, nil)
	tok = e.token(t, ana)
	if _, res := e.submitAttempt(t, tok, a.ID); !res.Passed {
		t.Fatalf("result = %+v, want a pass", res)
	}
	if status, _, _ := e.enrollmentState(t, enrID); status != "completed" {
		t.Errorf("enrollment status = %s, want completed", status)
	}

	r := e.do(t, req{method: "GET", path: "/v1/credentials", token: tok})
	var list struct {
		Items []credentialBody `json:"items"`
	}
	r.decode(t, &list)
	if r.Code != 200 || len(list.Items) != 1 {
		t.Fatalf("list = %d %s, want one credential", r.Code, truncate(r.Body))
	}
	c := list.Items[0]
	// Issued 2026-11-21 (the env's clock): valid through the end of November 2028.
	if c.Status != "active" || c.Course != "AALS" || c.ValidThrough != "2028-11-30" || !strings.HasPrefix(c.Code, "AALS-") ||
		c.VerifyURL != publicURL+"/verify/"+c.Code || !strings.Contains(c.LinkedInURL, "certId="+c.Code) || c.HolderName != ana.Name {
		t.Errorf("credential = %+v", c)
	}

	var one credentialBody
	r = e.do(t, req{method: "GET", path: "/v1/credentials/" + c.ID, token: tok})
	r.decode(t, &one)
	if r.Code != 200 || !reflect.DeepEqual(one, c) {
		t.Errorf("get = %d %+v, want %+v", r.Code, one, c)
	}
	_, otherTok := e.user(t, "bo@example.org")
	for _, path := range []string{"/v1/credentials/" + c.ID, "/v1/credentials/" + c.ID + "/vc"} {
		if r := e.do(t, req{method: "GET", path: path, token: otherTok}); r.Code != 404 || r.problemType() != "not-found" {
			t.Errorf("another user's %s = %d %s, want 404 not-found", path, r.Code, r.problemType())
		}
	}
	if r := e.do(t, req{method: "GET", path: "/v1/credentials", token: otherTok}); r.Code != 200 || strings.Contains(string(r.Body), c.ID) {
		t.Errorf("another user's list = %d %s", r.Code, truncate(r.Body))
	}

	r = e.do(t, req{method: "GET", path: "/v1/credentials/" + c.ID + "/vc", token: tok})
	if r.Code != 200 || r.Header.Get("Content-Type") != "application/vc+jwt" {
		t.Fatalf("vc = %d %s %s", r.Code, r.Header.Get("Content-Type"), truncate(r.Body))
	}
	v, err := credential.NewVerifier(e.issuerKeyOf(t, string(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := v.Verify(string(r.Body), e.clock.Now())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	status, _ := payload["credentialStatus"].(map[string]any)
	subject, _ := payload["credentialSubject"].(map[string]any)
	if payload["id"] != "urn:uuid:"+c.ID || payload["validUntil"] != c.ValidUntil[:19]+"Z" ||
		status["statusPurpose"] != "revocation" || status["statusListCredential"] != publicURL+"/v1/status-lists/1" ||
		subject["id"] != "urn:uuid:"+ana.ID.String() {
		t.Errorf("payload = %v", payload)
	}
	again := e.do(t, req{method: "GET", path: "/v1/credentials/" + c.ID + "/vc", token: tok})
	if p2, err := v.Verify(string(again.Body), e.clock.Now()); err != nil ||
		p2["credentialSubject"].(map[string]any)["identifier"].([]any)[0].(map[string]any)["identityHash"] !=
			subject["identifier"].([]any)[0].(map[string]any)["identityHash"] {
		t.Errorf("the hashed email changed between two reads (%v)", err)
	}
}

// issuerKeyOf fetches the public key a VC-JWT names in its kid, from the kid URL itself.
func (e *env) issuerKeyOf(t *testing.T, token string) credential.PublicKey {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, req{method: "GET", path: strings.TrimPrefix(h.Kid, publicURL)})
	if r.Code != 200 {
		t.Fatalf("GET %s = %d %s", h.Kid, r.Code, truncate(r.Body))
	}
	var j credential.JWK
	r.decode(t, &j)
	k, err := j.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCredentialIssuedOnSkillsCheck issues an ACLS credential when the instructor attests the
// skills check after the exam was passed, and records who attested it; a learner whose email
// is unverified passes the check without a credential.
func TestCredentialIssuedOnSkillsCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	site, instructor, instructorTok, _ := e.trainingSite(t, "mercy")
	attest := func(t *testing.T, u *models.User, tok string) uuid.UUID {
		t.Helper()
		enr := e.paidEnrollmentIn(t, u, "ACLS")
		if _, err := e.db.Pool.Exec(context.Background(), `UPDATE enrollments SET exam_passed_at = $1 WHERE id = $2`,
			e.clock.Now().Add(-time.Hour), enr.ID); err != nil {
			t.Fatal(err)
		}
		path := "/v1/enrollments/" + enr.ID.String()
		e.run(t, []scenario{
			{name: "ChooseSite", req: req{method: "PUT", path: path + "/skills-site", token: tok, body: map[string]any{"org_id": site}}, wantStatus: 200},
			{name: "Attest", req: req{method: "POST", path: path + "/skills-check", token: instructorTok, body: map[string]any{"passed": true}}, wantStatus: 201},
		})
		return enr.ID
	}

	learner, tok := e.user(t, "learner@h.test")
	enr := attest(t, learner, tok)
	if status, _, _ := e.enrollmentState(t, enr.String()); status != "completed" {
		t.Errorf("enrollment = %s, want completed", status)
	}
	var assessment string
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT assessment::text FROM credentials WHERE enrollment_id = $1`, enr).Scan(&assessment); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(assessment, instructor.Name) || !strings.Contains(assessment, "mercy") {
		t.Errorf("assessment = %s, want the instructor and the site", assessment)
	}
	r := e.do(t, req{method: "GET", path: "/v1/credentials", token: tok})
	if r.Code != 200 || !strings.Contains(string(r.Body), `"course":"ACLS"`) {
		t.Errorf("list = %d %s, want the ACLS credential", r.Code, truncate(r.Body))
	}

	unverifiedLearner, utok := e.user(t, "late@h.test", unverified)
	enr = attest(t, unverifiedLearner, utok)
	if status, _, _ := e.enrollmentState(t, enr.String()); status != "active" {
		t.Errorf("enrollment of an unverified email = %s, want active", status)
	}
	if n := e.count(t, `SELECT count(*) FROM credentials WHERE enrollment_id = $1`, enr); n != 0 {
		t.Errorf("%d credentials for an unverified email, want none", n)
	}
}
