package api_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// TestCredentialPDF: the holder downloads the certificate before the follow-up job ran; it is
// rendered, stored and then served as stored, and the job's email attaches that same file.
func TestCredentialPDF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ana, tok := e.user(t, "ana@example.org")
	c := e.issueCredential(t, ana, "AALS")
	_, otherTok := e.user(t, "bo@example.org")
	path := "/v1/credentials/" + c.ID.String() + "/pdf"

	e.run(t, []scenario{
		{"AnotherUsersIs404", req{method: "GET", path: path, token: otherTok}, 404, "not-found"},
		{"Anonymous", req{method: "GET", path: path}, 401, "unauthorized"},
		{"UnknownCredential", req{method: "GET", path: "/v1/credentials/00000000-0000-4000-8000-000000000000/pdf", token: tok}, 404, "not-found"},
		{"MalformedID", req{method: "GET", path: "/v1/credentials/nope/pdf", token: tok}, 404, "not-found"},
	})
	if n := e.count(t, `SELECT count(*) FROM credential_pdfs`); n != 0 {
		t.Fatalf("%d certificates stored by refused requests, want 0", n)
	}

	r := e.do(t, req{method: "GET", path: path, token: tok})
	if r.Code != 200 || r.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
		t.Fatalf("pdf = %d %s %q", r.Code, r.Header.Get("Content-Type"), r.Body[:min(8, len(r.Body))])
	}
	if got, want := r.Header.Get("Content-Disposition"), "attachment; filename="+c.Code+".pdf"; got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
	if n := e.count(t, `SELECT count(*) FROM credential_pdfs WHERE credential_id = $1`, c.ID); n != 1 {
		t.Fatalf("%d stored certificates after the download, want 1", n)
	}
	if again := e.do(t, req{method: "GET", path: path, token: tok}); !bytes.Equal(again.Body, r.Body) {
		t.Error("a second download differs from the first")
	}

	sent := e.workJobs(t)
	if len(sent) != 1 || sent[0].To != ana.Email {
		t.Fatalf("%d emails delivered, want one to %s", len(sent), ana.Email)
	}
	if att := sent[0].Attachments; len(att) != 1 || att[0].Filename != c.Code+".pdf" || !bytes.Equal(att[0].Data, r.Body) {
		t.Error("the email does not attach the certificate the holder downloaded")
	}
}

// TestCredentialEmailAfterPass: a pass issues the credential and queues its follow-up in the
// same transaction; working it emails the holder with the certificate attached.
func TestCredentialEmailAfterPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	ana, tok := e.user(t, "ana@example.org")
	e.passExam(t, ana, tok, "AALS")
	var c models.Credential
	if err := e.db.Gorm.First(&c, "user_id = ?", ana.ID).Error; err != nil {
		t.Fatalf("no credential after the pass: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'credential_created' AND args->>'credential_id' = $1`, c.ID.String()); n != 1 {
		t.Fatalf("%d follow-up jobs queued for the credential, want 1", n)
	}

	var delivered []string
	for _, m := range e.workJobs(t) {
		if m.To != ana.Email || !strings.Contains(m.Subject, "credential") {
			continue
		}
		delivered = append(delivered, m.Subject)
		if !strings.Contains(m.Text, c.Code) || !strings.Contains(m.Text, publicURL+"/verify/"+c.Code) {
			t.Errorf("email does not give the code and verification page:\n%s", m.Text)
		}
		if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "application/pdf" ||
			!bytes.HasPrefix(m.Attachments[0].Data, []byte("%PDF-")) {
			t.Errorf("email attachments %d, want the PDF certificate", len(m.Attachments))
		}
	}
	if len(delivered) != 1 {
		t.Fatalf("credential emails %q, want one", delivered)
	}
}

// passExam enrolls the user, passes the course's exam through the API and returns the
// enrollment's ID.
func (e *env) passExam(t *testing.T, u *models.User, tok, course string) string {
	t.Helper()
	enrID := e.activeEnrollment(t, tok, course)
	a := e.startAttempt(t, tok, enrID)
	e.answerAll(t, u, a, time.Minute, nil)
	if _, res := e.submitAttempt(t, e.token(t, u), a.ID); !res.Passed {
		t.Fatalf("result = %+v, want a pass", res)
	}
	return enrID
}

// verifyToken asks for a verification email as the user and returns the token in its link.
func (e *env) verifyToken(t *testing.T, u *models.User) string {
	t.Helper()
	if r := e.do(t, req{method: "POST", path: "/v1/auth/verify-email/resend", token: e.token(t, u)}); r.Code != 202 {
		t.Fatalf("resend = %d %s", r.Code, truncate(r.Body))
	}
	tok, err := url.QueryUnescape(tokenFromLink(t, e.lastMail(t, u.Email).Text, publicURL+"/verify-email"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestHeldCredentialIssuedWhenEmailVerified: a learner who passes with an unverified address
// gets no credential; verifying the address days later issues it, dated the day of the pass,
// with its follow-up; another verification issues nothing more.
func TestHeldCredentialIssuedWhenEmailVerified(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	ana, tok := e.user(t, "ana@example.org", unverified)
	enrID := e.passExam(t, ana, tok, "AALS")
	status, _, passedAt := e.enrollmentState(t, enrID)
	if status != "active" || passedAt == nil {
		t.Fatalf("enrollment %s, passed at %v; want active with the pass recorded", status, passedAt)
	}
	if n := e.count(t, `SELECT count(*) FROM credentials WHERE user_id = $1`, ana.ID); n != 0 {
		t.Fatalf("%d credentials for an unverified address, want 0", n)
	}

	// From 21 November to 1 December: a credential dated at verification would run to the end
	// of December 2028, not November.
	e.clock.Advance(10 * 24 * time.Hour)
	first, second := e.verifyToken(t, ana), e.verifyToken(t, ana)
	if r := e.do(t, req{method: "POST", path: "/v1/auth/verify-email", body: map[string]string{"token": first}}); r.Code != 200 {
		t.Fatalf("verify = %d %s", r.Code, truncate(r.Body))
	}
	var list struct {
		Items []credentialBody `json:"items"`
	}
	e.do(t, req{method: "GET", path: "/v1/credentials", token: e.token(t, ana)}).decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d credentials after verification, want 1", len(list.Items))
	}
	c := list.Items[0]
	validFrom, err := time.Parse(time.RFC3339, c.ValidFrom)
	if err != nil {
		t.Fatal(err)
	}
	if want := passedAt.UTC().Truncate(time.Second); !validFrom.Equal(want) || c.ValidThrough != "2028-11-30" {
		t.Errorf("valid from %s through %s, want from the pass %s through 2028-11-30", validFrom, c.ValidThrough, want)
	}
	if status, _, _ := e.enrollmentState(t, enrID); status != "completed" {
		t.Errorf("enrollment %s after issuance, want completed", status)
	}
	followUps := `SELECT count(*) FROM river_job WHERE kind = 'credential_created'`
	if n := e.count(t, followUps); n != 1 {
		t.Errorf("%d follow-up jobs, want 1", n)
	}

	if r := e.do(t, req{method: "POST", path: "/v1/auth/verify-email", body: map[string]string{"token": second}}); r.Code != 200 {
		t.Fatalf("second verify = %d %s", r.Code, truncate(r.Body))
	}
	err = e.db.InTx(context.Background(), func(tx models.Tx) error {
		return jobs.IssueHeldCredentials(context.Background(), tx, e.issuance(), ana.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM credentials WHERE user_id = $1`, ana.ID); n != 1 {
		t.Errorf("%d credentials after verifying again, want 1", n)
	}
	if n := e.count(t, followUps); n != 1 {
		t.Errorf("%d follow-up jobs after verifying again, want 1", n)
	}
}

// TestHeldCredentialIssuedFromVerifyPage: the page's form issues held credentials too, dated
// by the later of the exam pass and the skills check, and holds back an enrollment whose
// skills check is still missing.
func TestHeldCredentialIssuedFromVerifyPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ctx := context.Background()
	ana, _ := e.user(t, "ana@example.org", unverified)
	passed := e.clock.Now().Add(-72 * time.Hour).Truncate(time.Second)
	skills := passed.Add(48 * time.Hour)
	met := e.heldEnrollment(t, ana, "ACLS", passed, &skills)
	e.clock.Advance(24 * time.Hour)
	bo, _ := e.user(t, "bo@example.org", unverified)
	waiting := e.heldEnrollment(t, bo, "ACLS", passed, nil)

	for _, u := range []*models.User{ana, bo} {
		secret, err := models.CreateUserToken(ctx, e.db.Gorm, u.ID, models.TokenVerifyEmail, u.Email, time.Hour, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		r := e.do(t, req{method: "POST", path: "/verify-email", ctype: "application/x-www-form-urlencoded",
			body: "token=" + url.QueryEscape(secret)})
		if r.Code != 200 {
			t.Fatalf("verify page = %d %s", r.Code, truncate(r.Body))
		}
	}
	var from time.Time
	if err := e.db.Pool.QueryRow(ctx, `SELECT valid_from FROM credentials WHERE enrollment_id = $1`, met).Scan(&from); err != nil {
		t.Fatalf("no credential for the completed enrollment: %v", err)
	}
	if !from.Equal(skills) {
		t.Errorf("valid from %s, want the skills check %s", from, skills)
	}
	if n := e.count(t, `SELECT count(*) FROM credentials WHERE enrollment_id = $1`, waiting); n != 0 {
		t.Errorf("%d credentials for an enrollment still awaiting its skills check, want 0", n)
	}
}

// heldEnrollment stores an active enrollment of the user with the exam passed at passed and
// the skills check passed at skills (nil: not yet), and returns its ID.
func (e *env) heldEnrollment(t *testing.T, u *models.User, course string, passed time.Time, skills *time.Time) string {
	t.Helper()
	ctx := context.Background()
	enr := &models.Enrollment{UserID: u.ID, CourseCode: course, Offering: "initial", Status: models.EnrollmentActive}
	if err := models.CreateEnrollment(ctx, e.db.Gorm, enr, nil); err != nil {
		t.Fatal(err)
	}
	if err := models.MarkExamPassed(ctx, e.db.Gorm, enr.ID, passed); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE enrollments SET skills_passed_at = $1 WHERE id = $2`, skills, enr.ID); err != nil {
		t.Fatal(err)
	}
	return enr.ID.String()
}
