package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// cookiesOf returns the cookies a response sets, by name.
func cookiesOf(r *resp) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

// adminSignInForm opens the sign-in page and returns its form token and the cookie header
// that must go back with the form.
func (e *env) adminSignInForm(t testing.TB) (token, cookie string) {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/admin/sign-in"})
	m := csrfField.FindSubmatch(r.Body)
	ck := cookiesOf(r)["aals_admin_csrf"]
	if r.Code != 200 || m == nil || ck == nil || ck.Value != string(m[1]) {
		t.Fatalf("sign-in page: %d, form token %q, cookie %v; want 200 with the token in the form and a cookie", r.Code, m, ck)
	}
	return string(m[1]), "aals_admin_csrf=" + ck.Value
}

// adminSignIn posts the sign-in form as a browser would and returns the response.
func (e *env) adminSignIn(t testing.TB, email, password, code string) *resp {
	t.Helper()
	token, cookie := e.adminSignInForm(t)
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {token}}
	if code != "" {
		form.Set("totp_code", code)
	}
	return e.do(t, req{method: "POST", path: "/admin/sign-in", body: form.Encode(),
		ctype: "application/x-www-form-urlencoded", headers: map[string]string{"Cookie": cookie}})
}

// adminSession signs in a platform admin through the page and returns the session cookie
// header.
func (e *env) adminSession(t testing.TB, email, password string) string {
	t.Helper()
	r := e.adminSignIn(t, email, password, "")
	ck := cookiesOf(r)["aals_admin"]
	if r.Code != 303 || ck == nil {
		t.Fatalf("admin sign-in: %d, cookie %v; want 303 with the session cookie; body %s", r.Code, ck, truncate(r.Body))
	}
	return "aals_admin=" + ck.Value
}

func TestJobsDashboardSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.adminUser(t)
	e.user(t, "provider@example.org")

	t.Run("AdminGetsAStrictHttpOnlySession", func(t *testing.T) {
		r := e.adminSignIn(t, admin.Email, fixturePassword, "")
		if r.Code != 303 || r.Header.Get("Location") != "/admin/jobs/" {
			t.Fatalf("sign-in = %d to %q, want 303 to /admin/jobs/", r.Code, r.Header.Get("Location"))
		}
		ck := cookiesOf(r)["aals_admin"]
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/admin" || ck.Secure || ck.MaxAge != 8*3600 {
			t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/admin, not Secure on http, 8 hours", ck)
		}
		if n := e.count(t, `SELECT count(*) FROM admin_sessions WHERE user_id = $1 AND token_hash = sha256($2::bytea)`, admin.ID, []byte(ck.Value)); n != 1 {
			t.Fatalf("stored sessions with the cookie's SHA-256 = %d, want 1", n)
		}
	})

	refused := []struct {
		name, email, password string
		status                int
	}{
		{"NotAPlatformAdmin", "provider@example.org", fixturePassword, 403},
		{"WrongPassword", admin.Email, "not the password", 401},
		{"UnknownAccount", "nobody@example.org", fixturePassword, 401},
		{"MissingPassword", admin.Email, "", 422},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := e.adminSignIn(t, tc.email, tc.password, "")
			if r.Code != tc.status || cookiesOf(r)["aals_admin"] != nil {
				t.Fatalf("sign-in = %d with cookies %v, want %d and no session", r.Code, cookiesOf(r), tc.status)
			}
			if !csrfField.Match(r.Body) {
				t.Fatalf("refusal does not show the form again: %s", truncate(r.Body))
			}
		})
	}

	// A form posted from another site carries no token cookie (SameSite=Strict), or a token
	// that is not the page's.
	t.Run("FormWithoutItsToken", func(t *testing.T) {
		_, cookie := e.adminSignInForm(t)
		for name, q := range map[string]req{
			"NoCookie": {headers: nil, body: url.Values{"email": {admin.Email}, "password": {fixturePassword}, "csrf_token": {"forged"}}.Encode()},
			"OtherToken": {headers: map[string]string{"Cookie": cookie},
				body: url.Values{"email": {admin.Email}, "password": {fixturePassword}, "csrf_token": {"forged"}}.Encode()},
		} {
			q.method, q.path, q.ctype = "POST", "/admin/sign-in", "application/x-www-form-urlencoded"
			if r := e.do(t, q); r.Code != 403 || cookiesOf(r)["aals_admin"] != nil {
				t.Errorf("%s: sign-in = %d, want 403 and no session", name, r.Code)
			}
		}
		if n := e.count(t, `SELECT count(*) FROM admin_sessions`); n != 1 {
			t.Errorf("sessions = %d, want only the one signed in above", n)
		}
	})
}

func TestJobsDashboardRequiresTOTPWhereConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdminMFA)
	staff := authRegister(t, e, "staff@example.org")
	if err := e.db.Gorm.Exec(`UPDATE users SET platform_role = 'admin' WHERE id = ?`, staff.ID).Error; err != nil {
		t.Fatal(err)
	}
	if r := e.adminSignIn(t, staff.Email, authPassword, ""); r.Code != 403 || cookiesOf(r)["aals_admin"] != nil {
		t.Fatalf("admin without TOTP: sign-in = %d, want 403 and no session", r.Code)
	}
	pair := authLogin(t, e, staff.Email, authPassword, "")
	secret := authEnableTOTP(t, e, pair.AccessToken)
	if r := e.adminSignIn(t, staff.Email, authPassword, ""); r.Code != 401 || !strings.Contains(string(r.Body), `name="totp_code"`) {
		t.Fatalf("admin with TOTP, no code: sign-in = %d, want 401 asking for the code", r.Code)
	}
	e.clock.Advance(30 * time.Second)
	if r := e.adminSignIn(t, staff.Email, authPassword, authTOTPCode(t, e, secret)); r.Code != 303 || cookiesOf(r)["aals_admin"] == nil {
		t.Fatalf("admin with a TOTP code: sign-in = %d, want 303 with a session", r.Code)
	}
}

func TestJobsDashboardAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	admin := e.adminUser(t)
	session := e.adminSession(t, admin.Email, fixturePassword)
	origin := map[string]string{"Cookie": session, "Origin": publicURL}

	queued, err := e.jobs.Insert(ctx, jobs.PruneArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	failed, err := e.jobs.Insert(ctx, jobs.LapseEnrollmentsArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = $1`, failed.Job.ID); err != nil {
		t.Fatal(err)
	}
	retryBody := `{"ids": ["` + strconv.FormatInt(failed.Job.ID, 10) + `"]}`

	e.run(t, []scenario{
		{name: "AnonymousPageGoesToSignIn", req: req{method: "GET", path: "/admin/jobs/"}, wantStatus: 303},
		{name: "AnonymousRootGoesToSignIn", req: req{method: "GET", path: "/admin/jobs"}, wantStatus: 303},
		{name: "AnonymousAPIIsUnauthorized", req: req{method: "GET", path: "/admin/jobs/api/jobs?state=available"}, wantStatus: 401, wantType: "unauthorized"},
		{name: "UnknownSessionIsAnonymous", req: req{method: "GET", path: "/admin/jobs/api/jobs?state=available",
			headers: map[string]string{"Cookie": "aals_admin=" + models.NewSecret()}}, wantStatus: 401, wantType: "unauthorized"},
		{name: "AnonymousChangeIsUnauthorized", req: req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: retryBody,
			headers: map[string]string{"Origin": publicURL}}, wantStatus: 401, wantType: "unauthorized"},
		{name: "BearerTokenIsNotASession", req: req{method: "GET", path: "/admin/jobs/api/jobs?state=available", token: e.token(t, admin)},
			wantStatus: 401, wantType: "unauthorized"},
		{name: "CrossOriginChangeRefused", req: req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: retryBody,
			headers: map[string]string{"Cookie": session, "Origin": "https://attacker.example"}}, wantStatus: 403, wantType: "cross-origin-request"},
		{name: "OpaqueOriginChangeRefused", req: req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: retryBody,
			headers: map[string]string{"Cookie": session, "Origin": "null"}}, wantStatus: 403, wantType: "cross-origin-request"},
		{name: "ChangeWithoutOriginRefused", req: req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: retryBody,
			headers: map[string]string{"Cookie": session}}, wantStatus: 403, wantType: "cross-origin-request"},
		{name: "CrossSiteRefererRefused", req: req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: retryBody,
			headers: map[string]string{"Cookie": session, "Referer": "https://attacker.example/admin/jobs/"}}, wantStatus: 403, wantType: "cross-origin-request"},
	})
	if got := e.count(t, `SELECT count(*) FROM river_job WHERE id = $1 AND state = 'discarded'`, failed.Job.ID); got != 1 {
		t.Fatalf("refused retries changed the job: discarded rows = %d, want 1", got)
	}
	for _, path := range []string{"/admin/jobs/", "/admin/jobs"} {
		if r := e.do(t, req{method: "GET", path: path}); r.Header.Get("Location") != "/admin/sign-in" {
			t.Errorf("anonymous GET %s goes to %q, want /admin/sign-in", path, r.Header.Get("Location"))
		}
	}

	t.Run("AdminSeesRiverUI", func(t *testing.T) {
		for _, path := range []string{"/admin/jobs/", "/admin/jobs"} {
			r := e.do(t, req{method: "GET", path: path, headers: map[string]string{"Cookie": session}})
			if r.Code != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), `/admin/jobs/api`) {
				t.Fatalf("GET %s = %d %s, want River's UI page configured for /admin/jobs/api; body %s", path, r.Code, r.Header.Get("Content-Type"), truncate(r.Body))
			}
			if got := r.Header.Get("Referrer-Policy"); got != "same-origin" {
				t.Errorf("Referrer-Policy = %q, want same-origin so the UI's changes carry their Origin", got)
			}
		}
	})

	t.Run("AdminReadsJobsAsJSON", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/admin/jobs/api/jobs?state=available", headers: map[string]string{"Cookie": session}})
		var list struct {
			Data []struct {
				ID   json.Number `json:"id"`
				Kind string      `json:"kind"`
			} `json:"data"`
		}
		if r.Code != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("job list = %d %s, want 200 JSON; body %s", r.Code, r.Header.Get("Content-Type"), truncate(r.Body))
		}
		r.decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].Kind != "prune" || list.Data[0].ID.String() != strconv.FormatInt(queued.Job.ID, 10) {
			t.Fatalf("available jobs = %+v, want the queued prune job %d", list.Data, queued.Job.ID)
		}
	})

	t.Run("AdminRetriesFromTheDashboard", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: retryBody, headers: origin})
		if r.Code != 200 {
			t.Fatalf("retry = %d, want 200; body %s", r.Code, truncate(r.Body))
		}
		if got := e.count(t, `SELECT count(*) FROM river_job WHERE id = $1 AND state = 'available'`, failed.Job.ID); got != 1 {
			t.Fatalf("retried job available = %d, want 1", got)
		}
		if got := e.count(t, `SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'jobs_dashboard.change'
			AND object_id = 'POST /admin/jobs/api/jobs/retry' AND after->'ids'->>0 = $2`, admin.ID, strconv.FormatInt(failed.Job.ID, 10)); got != 1 {
			t.Fatalf("audit entries of the retry = %d, want 1", got)
		}
	})

	t.Run("SessionOfAFormerAdminIsForbidden", func(t *testing.T) {
		other, _ := e.user(t, "former-staff@example.org", platformAdmin)
		former := e.adminSession(t, other.Email, fixturePassword)
		if err := e.db.Gorm.Exec(`UPDATE users SET platform_role = NULL WHERE id = ?`, other.ID).Error; err != nil {
			t.Fatal(err)
		}
		e.run(t, []scenario{
			{name: "Page", req: req{method: "GET", path: "/admin/jobs/", headers: map[string]string{"Cookie": former}}, wantStatus: 403, wantType: "forbidden"},
			{name: "API", req: req{method: "GET", path: "/admin/jobs/api/jobs?state=available", headers: map[string]string{"Cookie": former}}, wantStatus: 403, wantType: "forbidden"},
			{name: "Change", req: req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: retryBody,
				headers: map[string]string{"Cookie": former, "Origin": publicURL}}, wantStatus: 403, wantType: "forbidden"},
		})
	})

	t.Run("SessionExpiresAfterEightHours", func(t *testing.T) {
		e.clock.Advance(8 * time.Hour)
		defer e.clock.Advance(-8 * time.Hour)
		e.run(t, []scenario{
			{name: "Page", req: req{method: "GET", path: "/admin/jobs/", headers: map[string]string{"Cookie": session}}, wantStatus: 303},
			{name: "API", req: req{method: "GET", path: "/admin/jobs/api/jobs?state=available", headers: map[string]string{"Cookie": session}}, wantStatus: 401, wantType: "unauthorized"},
		})
	})
}

func TestJobsDashboardSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.adminUser(t)
	session := e.adminSession(t, admin.Email, fixturePassword)
	cookie := map[string]string{"Cookie": session}

	page := e.do(t, req{method: "GET", path: "/admin/sign-in", headers: cookie})
	m := csrfField.FindSubmatch(page.Body)
	if page.Code != 200 || m == nil || !strings.Contains(string(page.Body), admin.Email) || !strings.Contains(string(page.Body), `action="/admin/sign-out"`) {
		t.Fatalf("sign-in page with a session = %d, want who is signed in and a sign-out form; body %s", page.Code, truncate(page.Body))
	}
	signOut := func(token string) *resp {
		return e.do(t, req{method: "POST", path: "/admin/sign-out", body: url.Values{"csrf_token": {token}}.Encode(),
			ctype: "application/x-www-form-urlencoded", headers: cookie})
	}
	if r := signOut("forged"); r.Code != 403 {
		t.Fatalf("sign-out with a forged token = %d, want 403", r.Code)
	}
	e.run(t, []scenario{{name: "StillSignedIn", req: req{method: "GET", path: "/admin/jobs/", headers: cookie}, wantStatus: 200}})

	r := signOut(string(m[1]))
	if ck := cookiesOf(r)["aals_admin"]; r.Code != 303 || r.Header.Get("Location") != "/admin/sign-in" || ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("sign-out = %d to %q, cookie %+v; want 303 to /admin/sign-in deleting the cookie", r.Code, r.Header.Get("Location"), ck)
	}
	if n := e.count(t, `SELECT count(*) FROM admin_sessions`); n != 0 {
		t.Fatalf("sessions after sign-out = %d, want 0", n)
	}
	e.run(t, []scenario{
		{name: "OldCookieGoesToSignIn", req: req{method: "GET", path: "/admin/jobs/", headers: cookie}, wantStatus: 303},
		{name: "SignOutAgainIsHarmless", req: req{method: "POST", path: "/admin/sign-out", body: "csrf_token=x",
			ctype: "application/x-www-form-urlencoded", headers: cookie}, wantStatus: 303},
	})
}

func TestJobsDashboardBehindHTTPS(t *testing.T) {
	t.Parallel()
	const public = "https://certs.example.org"
	e := newEnv(t, func(c *api.Config, _ *api.Deps) { c.PublicURL = public })
	admin := e.adminUser(t)
	r := e.adminSignIn(t, admin.Email, fixturePassword, "")
	ck := cookiesOf(r)["aals_admin"]
	if r.Code != 303 || ck == nil || !ck.Secure {
		t.Fatalf("sign-in = %d, cookie %+v; want a Secure session cookie behind https", r.Code, ck)
	}
	for _, name := range []string{"aals_admin_csrf"} {
		if c := cookiesOf(r)[name]; c == nil || !c.Secure {
			t.Errorf("cookie %s = %+v, want it Secure behind https", name, c)
		}
	}
	job, err := e.jobs.Insert(context.Background(), jobs.PruneArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = $1`, job.Job.ID); err != nil {
		t.Fatal(err)
	}
	body := `{"ids": ["` + strconv.FormatInt(job.Job.ID, 10) + `"]}`
	session := "aals_admin=" + ck.Value
	refused := e.do(t, req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: body,
		headers: map[string]string{"Cookie": session, "Origin": "http://certs.example.org"}})
	if refused.Code != 403 || !strings.HasSuffix(refused.problemType(), "/problems/cross-origin-request") {
		t.Fatalf("change from the plain-http origin = %d %s, want 403 cross-origin-request", refused.Code, refused.problemType())
	}
	e.run(t, []scenario{
		{name: "SameOriginReferer", req: req{method: "POST", path: "/admin/jobs/api/jobs/retry", body: body,
			headers: map[string]string{"Cookie": session, "Referer": public + "/admin/jobs/jobs?state=discarded"}}, wantStatus: 200},
	})
}
