package api_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/models"
)

// verifyPage opens the verification page and checks what every such page must be: HTML with
// no script, never cached, under a policy that loads nothing.
func (e *env) verifyPage(t *testing.T, path string, wantStatus int) string {
	t.Helper()
	r := e.do(t, req{method: "GET", path: path})
	if r.Code != wantStatus {
		t.Fatalf("GET %s = %d, want %d\n%s", path, r.Code, wantStatus, truncate(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'none' and no script source", csp)
	}
	body := string(r.Body)
	if strings.Contains(strings.ToLower(body), "<script") {
		t.Errorf("page has a <script> element:\n%s", body)
	}
	for _, want := range []string{`<html lang="en">`, `<meta name="viewport"`, "<main>"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(body, "<h1"); n != 1 {
		t.Errorf("page has %d <h1>, want 1", n)
	}
	return body
}

// statusRegion returns the text of the page's role="status" region.
func statusRegion(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<div class="banner (\w+)" role="status">(.*?)</div>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no status region in:\n%s", body)
	}
	return m[1] + ": " + m[2]
}

func TestVerifyPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	zoe, _ := e.user(t, "zoe@example.org", func(u *models.User) { u.Name = `Zoë <script>alert(1)</script> O'Neil` })
	cr := e.issueCredential(t, zoe, "AALS")

	t.Run("Active", func(t *testing.T) {
		body := e.verifyPage(t, "/verify/"+cr.Code, 200)
		if got := statusRegion(t, body); !strings.HasPrefix(got, "ok:") || !strings.Contains(got, "Valid — active") {
			t.Errorf("status region = %q, want the ok banner saying Valid — active", got)
		}
		for _, want := range []string{
			"Zoë &lt;script&gt;alert(1)&lt;/script&gt; O&#39;Neil", // the holder's name, escaped
			"<dl>", "<code>" + cr.Code + "</code>", "(AALS)", cr.Edition,
			`<time datetime="2026-11-21">November 21, 2026</time>`, `<time datetime="2028-11-30">November 30, 2028</time>`,
			"Online unproctored exam", `<a href="` + publicURL + `/issuer">`,
			`<form method="get" action="/verify/` + cr.Code + `">`, `<label for="as_of">`, `id="as_of" name="as_of" max="2026-11-21"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %s", want)
			}
		}
	})

	t.Run("AsOf", func(t *testing.T) {
		body := e.verifyPage(t, "/verify/"+strings.ToLower(cr.Code)+"?as_of=2026-11-21", 200)
		if got := statusRegion(t, body); !strings.Contains(got, "Status at the end of November 21, 2026, UTC time.") {
			t.Errorf("status region = %q, want it to name the day asked", got)
		}
	})

	t.Run("BadAsOfShowsTheErrorByTheField", func(t *testing.T) {
		for asOf, msg := range map[string]string{
			"21/11/2026": "The date must be a date written YYYY-MM-DD.",
			"2026-11-22": "The date must not be after today, 2026-11-21.",
			"2026-11-20": "The credential was not issued yet on 2026-11-20: it was issued on 2026-11-21.",
		} {
			body := e.verifyPage(t, "/verify/"+cr.Code+"?as_of="+asOf, 422)
			if !strings.Contains(body, `aria-invalid="true" aria-describedby="as_of-hint as_of-error"`) ||
				!strings.Contains(body, `<p class="error" id="as_of-error">`+msg+`</p>`) {
				t.Errorf("as_of %s: the field lacks its error %q:\n%s", asOf, msg, body)
			}
			if got := statusRegion(t, body); !strings.Contains(got, "Valid — active") {
				t.Errorf("as_of %s: status region = %q, want the status now", asOf, got)
			}
		}
	})

	t.Run("UnknownCode", func(t *testing.T) {
		body := e.verifyPage(t, "/verify/AALS-ZZZZ-ZZZZ", 404)
		if !strings.Contains(body, "Credential not found") || !strings.Contains(body, "No credential has the code “AALS-ZZZZ-ZZZZ”") {
			t.Errorf("404 page does not say the code is unknown:\n%s", body)
		}
	})
}

// TestVerifyPageStatuses checks the banner of each status, in words as well as color, and the
// link from a replaced or renewed credential to its successor.
func TestVerifyPageStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ana, _ := e.user(t, "ana@example.org")
	bo, _ := e.user(t, "bo@example.org")
	cy, _ := e.user(t, "cy@example.org")
	renewed := e.issueCredential(t, ana, "AALS")
	revoked := e.issueCredential(t, bo, "AALS")
	superseded := e.issueCredential(t, cy, "AALS")
	dee, _ := e.user(t, "dee@example.org")
	reissue := e.issueCredential(t, dee, "AALS")

	e.clock.Advance(24 * time.Hour)
	renewal := e.issueCredential(t, ana, "AALS")
	e.changeStatus(t, revoked.ID, models.ActionRevoked, "misconduct")
	e.supersede(t, superseded, reissue)

	for _, tc := range []struct {
		name, code, class, label, link string
	}{
		{"Renewed", renewed.Code, "ok", "Valid — active", `<a href="/verify/` + renewal.Code + `">`},
		{"Revoked", revoked.Code, "bad", "Not valid — revoked", ""},
		{"Superseded", superseded.Code, "warn", "Replaced — superseded", `<a href="/verify/` + reissue.Code + `">`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := e.verifyPage(t, "/verify/"+tc.code, 200)
			if got := statusRegion(t, body); !strings.HasPrefix(got, tc.class+":") || !strings.Contains(got, tc.label) {
				t.Errorf("status region = %q, want %s saying %s", got, tc.class, tc.label)
			}
			if tc.link != "" && !strings.Contains(body, tc.link) {
				t.Errorf("page lacks the link %s", tc.link)
			}
		})
	}

	e.changeStatus(t, renewal.ID, models.ActionSuspended, "license_action")
	if got := statusRegion(t, e.verifyPage(t, "/verify/"+renewal.Code, 200)); !strings.HasPrefix(got, "warn:") || !strings.Contains(got, "Not valid — suspended") {
		t.Errorf("suspended: status region = %q", got)
	}
	e.clock.Advance(3 * 365 * 24 * time.Hour)
	if got := statusRegion(t, e.verifyPage(t, "/verify/"+renewed.Code, 200)); !strings.HasPrefix(got, "bad:") || !strings.Contains(got, "Not valid — expired") {
		t.Errorf("expired: status region = %q", got)
	}
}
