package api_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/models"
)

// verificationBody is the public answer for a code.
type verificationBody struct {
	Code             string `json:"code"`
	Status           string `json:"status"`
	HolderName       string `json:"holder_name"`
	Course           string `json:"course"`
	CourseTitle      string `json:"course_title"`
	Edition          string `json:"edition"`
	GuidelineEdition string `json:"guideline_edition"`
	ValidFrom        string `json:"valid_from"`
	ValidThrough     string `json:"valid_through"`
	ValidUntil       string `json:"valid_until"`
	Assessment       struct {
		Exam        string `json:"exam"`
		SkillsCheck *struct {
			Instructor string `json:"instructor"`
			Org        string `json:"org"`
		} `json:"skills_check"`
	} `json:"assessment"`
	Issuer struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"issuer"`
	RenewedBy    string `json:"renewed_by"`
	SupersededBy string `json:"superseded_by"`
	AsOf         string `json:"as_of"`
}

// verifyFrom looks path up as a client at addr (the env must trust the harness's proxy,
// withTrustedProxy), with no credential: the lookup is public.
func verifyFrom(addr, path string) req {
	return req{method: "GET", path: path, headers: fromAddr(addr)}
}

// verify looks code up (with an optional as_of) and decodes a 200 answer.
func (e *env) verify(t *testing.T, code, asOf string) verificationBody {
	t.Helper()
	path := "/v1/verify/" + code
	if asOf != "" {
		path += "?as_of=" + asOf
	}
	r := e.do(t, req{method: "GET", path: path})
	if r.Code != 200 {
		t.Fatalf("GET %s = %d %s, want 200", path, r.Code, truncate(r.Body))
	}
	var v verificationBody
	r.decode(t, &v)
	return v
}

// changeStatus applies a platform admin's status change at the env's clock.
func (e *env) changeStatus(t testing.TB, id uuid.UUID, action, category string) {
	t.Helper()
	ch := models.StatusChange{Action: action, Category: category, Reason: "recorded by the program", ActorID: uuid.New(), At: e.clock.Now()}
	err := e.db.Gorm.Transaction(func(tx *gorm.DB) error {
		_, _, err := models.ChangeCredentialStatus(context.Background(), tx, id, ch)
		return err
	})
	if err != nil {
		t.Fatalf("%s credential %s: %v", action, id, err)
	}
}

// supersede marks old replaced by next at the env's clock, as a reissue does.
func (e *env) supersede(t testing.TB, old, next *models.Credential) {
	t.Helper()
	if err := e.db.Gorm.Exec(`UPDATE credentials SET status = 'superseded', superseded_by = ? WHERE id = ?`, next.ID, old.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := e.db.Gorm.Exec(`INSERT INTO credential_status_events (credential_id, status, action, at) VALUES (?, 'superseded', 'superseded', ?)`,
		old.ID, e.clock.Now()).Error; err != nil {
		t.Fatal(err)
	}
}

func TestVerifyActiveCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	// The fixture's default name holds the email address, which must not show.
	ana, _ := e.user(t, "ana@example.org", func(u *models.User) { u.Name = "Ana Lima" })
	cr := e.issueCredential(t, ana, "AALS")

	r := e.do(t, req{method: "GET", path: "/v1/verify/" + cr.Code})
	if r.Code != 200 {
		t.Fatalf("status = %d %s, want 200", r.Code, truncate(r.Body))
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	var v verificationBody
	r.decode(t, &v)
	// Issued 2026-11-21 (the env's clock, UTC): valid through the end of November 2028.
	if v.Code != cr.Code || v.Status != "active" || v.HolderName != ana.Name || v.Course != "AALS" || v.CourseTitle == "" ||
		v.Edition != cr.Edition || v.ValidThrough != "2028-11-30" || v.ValidUntil != "2028-11-30T23:59:59Z" ||
		v.ValidFrom != "2026-11-21T15:00:00Z" || v.Assessment.Exam != models.OnlineExam || v.Assessment.SkillsCheck != nil ||
		v.Issuer.Name != api.IssuerName || v.Issuer.URL != publicURL+"/issuer" || v.RenewedBy != "" || v.SupersededBy != "" || v.AsOf != "" {
		t.Errorf("verification = %+v", v)
	}

	t.Run("OnlyTheAllowedKeys", func(t *testing.T) {
		var m map[string]any
		r.decode(t, &m)
		want := []string{"assessment", "code", "course", "course_title", "edition", "guideline_edition", "holder_name",
			"issuer", "status", "valid_from", "valid_through", "valid_until"}
		var got []string
		for k := range m {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("keys = %v, want %v", got, want)
		}
		for _, private := range []string{ana.Email, ana.ID.String(), cr.ID.String()} {
			if strings.Contains(string(r.Body), private) {
				t.Errorf("the public answer contains %q: %s", private, r.Body)
			}
		}
	})

	t.Run("CodeAsTyped", func(t *testing.T) {
		typed := strings.ToLower(strings.ReplaceAll(cr.Code, "-", ""))
		// Look-alikes of the random part: O for 0, I for 1, as read off paper.
		prefix, random := typed[:4], strings.NewReplacer("0", "o", "1", "i").Replace(typed[4:])
		for _, code := range []string{typed, prefix + random, " " + prefix + "-" + random[:4] + " " + random[4:]} {
			if v := e.verify(t, strings.ReplaceAll(code, " ", "%20"), ""); v.Code != cr.Code {
				t.Errorf("code %q found %q, want %q", code, v.Code, cr.Code)
			}
		}
	})

	e.run(t, []scenario{
		{name: "UnknownCode", req: req{method: "GET", path: "/v1/verify/AALS-ZZZZ-ZZZZ"}, wantStatus: 404, wantType: "credential-not-found"},
		{name: "NotACode", req: req{method: "GET", path: "/v1/verify/hello"}, wantStatus: 404, wantType: "credential-not-found"},
		{name: "AsOfNotADate", req: req{method: "GET", path: "/v1/verify/" + cr.Code + "?as_of=2026-13-01"}, wantStatus: 422, wantType: "validation"},
		{name: "AsOfWords", req: req{method: "GET", path: "/v1/verify/" + cr.Code + "?as_of=yesterday"}, wantStatus: 422, wantType: "validation"},
		{name: "AsOfTomorrow", req: req{method: "GET", path: "/v1/verify/" + cr.Code + "?as_of=2026-11-22"}, wantStatus: 422, wantType: "validation"},
		{name: "AsOfBeforeIssue", req: req{method: "GET", path: "/v1/verify/" + cr.Code + "?as_of=2026-11-20"}, wantStatus: 422, wantType: "not-yet-issued"},
		{name: "BadBearerIsRefused", req: req{method: "GET", path: "/v1/verify/" + cr.Code, token: "not-a-token"}, wantStatus: 401, wantType: "unauthorized"},
	})

	t.Run("AsOfErrorsNameTheFieldAndIssueDate", func(t *testing.T) {
		var p struct {
			Detail string              `json:"detail"`
			Errors []models.FieldError `json:"errors"`
		}
		e.do(t, req{method: "GET", path: "/v1/verify/" + cr.Code + "?as_of=2026-11-22"}).decode(t, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "as_of" {
			t.Errorf("future as_of errors = %+v, want one for as_of", p.Errors)
		}
		e.do(t, req{method: "GET", path: "/v1/verify/" + cr.Code + "?as_of=2026-11-20"}).decode(t, &p)
		if !strings.Contains(p.Detail, "2026-11-21") {
			t.Errorf("not-yet-issued detail = %q, want the issue date 2026-11-21", p.Detail)
		}
	})

	t.Run("AsOfToday", func(t *testing.T) {
		if v := e.verify(t, cr.Code, "2026-11-21"); v.Status != "active" || v.AsOf != "2026-11-21" {
			t.Errorf("as_of today = %s as of %q, want active as of 2026-11-21", v.Status, v.AsOf)
		}
	})
}

// TestVerifyExpiryInIssuerTimeZone reads a credential around its last day in New York: the
// status and as_of days follow the issuer's calendar, not UTC.
func TestVerifyExpiryInIssuerTimeZone(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *api.Config, _ *api.Deps) { c.Location = ny })
	e.seedCourses(t)
	ana, _ := e.user(t, "ana@example.org")
	cr := e.issueCredential(t, ana, "AALS")
	if v := e.verify(t, cr.Code, ""); v.ValidThrough != "2028-11-30" || v.ValidUntil != "2028-12-01T04:59:59Z" {
		t.Fatalf("validity = %s until %s, want through 2028-11-30, until 04:59:59Z the next day", v.ValidThrough, v.ValidUntil)
	}

	// 2028-12-01 03:00 UTC is still 30 November in New York.
	e.clock.Advance(time.Date(2028, 12, 1, 3, 0, 0, 0, time.UTC).Sub(e.clock.Now()))
	if v := e.verify(t, cr.Code, ""); v.Status != "active" {
		t.Errorf("on its last evening: %s, want active", v.Status)
	}
	e.run(t, []scenario{{name: "TomorrowInNewYork", req: req{method: "GET", path: "/v1/verify/" + cr.Code + "?as_of=2028-12-01"},
		wantStatus: 422, wantType: "validation"}})

	e.clock.Advance(3 * time.Hour)
	for asOf, want := range map[string]string{"": "expired", "2028-12-01": "expired", "2028-11-30": "active", "2026-11-21": "active"} {
		if v := e.verify(t, cr.Code, asOf); v.Status != want {
			t.Errorf("as_of %q: %s, want %s", asOf, v.Status, want)
		}
	}
}

// TestVerifyStatusHistory suspends, reinstates and revokes credentials, and reads each status
// now and on the days around each change.
func TestVerifyStatusHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ana, _ := e.user(t, "ana@example.org")
	bo, _ := e.user(t, "bo@example.org")
	suspended := e.issueCredential(t, ana, "AALS")
	revoked := e.issueCredential(t, bo, "AALS")

	e.clock.Advance(10 * 24 * time.Hour) // 2026-12-01
	e.changeStatus(t, suspended.ID, models.ActionSuspended, "license_action")
	e.changeStatus(t, revoked.ID, models.ActionRevoked, "exam_integrity")
	if v := e.verify(t, suspended.Code, ""); v.Status != "suspended" {
		t.Errorf("after suspension: %s, want suspended", v.Status)
	}
	if v := e.verify(t, revoked.Code, ""); v.Status != "revoked" {
		t.Errorf("after revocation: %s, want revoked", v.Status)
	}

	e.clock.Advance(5 * 24 * time.Hour) // 2026-12-06
	e.changeStatus(t, suspended.ID, models.ActionReinstated, "")
	for asOf, want := range map[string]string{"": "active", "2026-11-30": "active", "2026-12-01": "suspended", "2026-12-05": "suspended", "2026-12-06": "active"} {
		if v := e.verify(t, suspended.Code, asOf); v.Status != want {
			t.Errorf("suspended one, as_of %q: %s, want %s", asOf, v.Status, want)
		}
	}
	for asOf, want := range map[string]string{"": "revoked", "2026-11-30": "active", "2026-12-01": "revoked"} {
		if v := e.verify(t, revoked.Code, asOf); v.Status != want {
			t.Errorf("revoked one, as_of %q: %s, want %s", asOf, v.Status, want)
		}
	}
}

// TestVerifyRenewedAndSuperseded follows the links to a renewing and to a replacing
// credential, by code, and only from the day each existed.
func TestVerifyRenewedAndSuperseded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ana, _ := e.user(t, "ana@example.org")
	bo, _ := e.user(t, "bo@example.org")
	cy, _ := e.user(t, "cy@example.org")
	first := e.issueCredential(t, ana, "AALS")
	old := e.issueCredential(t, bo, "AALS")
	reissue := e.issueCredential(t, cy, "AALS")

	e.clock.Advance(30 * 24 * time.Hour) // 2026-12-21
	renewal := e.issueCredential(t, ana, "AALS")
	if renewal.Renews == nil || *renewal.Renews != first.ID {
		t.Fatalf("second AALS credential renews %v, want %s", renewal.Renews, first.ID)
	}
	e.supersede(t, old, reissue)

	if v := e.verify(t, first.Code, ""); v.Status != "active" || v.RenewedBy != renewal.Code {
		t.Errorf("renewed: %s renewed_by %q, want active renewed_by %s", v.Status, v.RenewedBy, renewal.Code)
	}
	if v := e.verify(t, first.Code, "2026-12-20"); v.RenewedBy != "" {
		t.Errorf("the day before the renewal: renewed_by %q, want none", v.RenewedBy)
	}
	if v := e.verify(t, old.Code, ""); v.Status != "superseded" || v.SupersededBy != reissue.Code {
		t.Errorf("superseded: %s superseded_by %q, want superseded_by %s", v.Status, v.SupersededBy, reissue.Code)
	}
	if v := e.verify(t, old.Code, "2026-12-20"); v.Status != "active" || v.SupersededBy != "" {
		t.Errorf("the day before the reissue: %s superseded_by %q, want active and none", v.Status, v.SupersededBy)
	}
}

// TestVerifyRateLimit spends one address's lookups across the JSON and HTML routes.
func TestVerifyRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withTrustedProxy)
	e.seedCourses(t)
	ana, _ := e.user(t, "ana@example.org")
	cr := e.issueCredential(t, ana, "AALS")
	const busy, other = "198.51.100.7", "198.51.100.8"

	for i := range 60 {
		path := "/v1/verify/" + cr.Code
		switch {
		case i%3 == 1:
			path = "/verify/" + cr.Code
		case i%3 == 2:
			path = "/v1/verify/AALS-ZZZZ-ZZZZ" // unknown codes count too
		}
		if r := e.do(t, verifyFrom(busy, path)); r.Code == 429 {
			t.Fatalf("lookup %d (%s) was refused", i+1, path)
		}
	}
	r := e.do(t, verifyFrom(busy, "/v1/verify/"+cr.Code))
	if r.Code != 429 || r.problemType() != "too-many-requests" {
		t.Fatalf("61st lookup = %d %s, want 429 too-many-requests", r.Code, r.problemType())
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Errorf("Retry-After = %q, want 1–60 seconds", r.Header.Get("Retry-After"))
	}
	page := e.do(t, verifyFrom(busy, "/verify/"+cr.Code))
	if page.Code != 429 || page.Header.Get("Retry-After") == "" || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("page when limited = %d, Retry-After %q, %s; want an HTML 429 with Retry-After", page.Code,
			page.Header.Get("Retry-After"), page.Header.Get("Content-Type"))
	}
	if r := e.do(t, verifyFrom(other, "/v1/verify/"+cr.Code)); r.Code != 200 {
		t.Errorf("another address = %d, want 200", r.Code)
	}
	e.clock.Advance(time.Minute)
	if r := e.do(t, verifyFrom(busy, "/v1/verify/"+cr.Code)); r.Code != 200 {
		t.Errorf("after the window = %d %s, want 200", r.Code, truncate(r.Body))
	}
}

// TestVerifyRateLimitCountsIPv6Subnets counts IPv6 clients by their /64, which one subscriber
// holds whole.
func TestVerifyRateLimitCountsIPv6Subnets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withTrustedProxy)
	for i := range 60 {
		addr := "2001:db8:1:2::" + strconv.FormatInt(int64(i+1), 16)
		if r := e.do(t, verifyFrom(addr, "/v1/verify/AALS-ZZZZ-ZZZZ")); r.Code != 404 {
			t.Fatalf("lookup %d = %d, want 404", i+1, r.Code)
		}
	}
	if r := e.do(t, verifyFrom("2001:db8:1:2:ffff::1", "/v1/verify/AALS-ZZZZ-ZZZZ")); r.Code != 429 {
		t.Errorf("61st lookup from the same /64 = %d, want 429", r.Code)
	}
	if r := e.do(t, verifyFrom("2001:db8:1:3::1", "/v1/verify/AALS-ZZZZ-ZZZZ")); r.Code != 404 {
		t.Errorf("another /64 = %d, want 404", r.Code)
	}
}
