package api_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/linktoken"
)

// linkCodec is the codec of the signed links in emails, keyed as the server's and the jobs' are.
func (e *env) linkCodec(t testing.TB) *linktoken.Codec {
	t.Helper()
	c, err := linktoken.New(e.keyring.DeriveKeys("link-token"), e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reminderEmails reads the user's reminder preference from the database.
func (e *env) reminderEmails(t testing.TB, id uuid.UUID) bool {
	t.Helper()
	var on bool
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT reminder_emails FROM users WHERE id = $1`, id).Scan(&on); err != nil {
		t.Fatal(err)
	}
	return on
}

// setReminderEmails sets the preference through PATCH /v1/me as the user with token.
func (e *env) setReminderEmails(t testing.TB, token string, on bool) {
	t.Helper()
	if r := e.do(t, req{method: "PATCH", path: "/v1/me", token: token, body: map[string]any{"reminder_emails": on}}); r.Code != 200 {
		t.Fatalf("PATCH reminder_emails %v: %d %s", on, r.Code, r.Body)
	}
}

// htmlPage requests an HTML page and checks its status and that it says want.
func (e *env) htmlPage(t testing.TB, q req, wantStatus int, want ...string) string {
	t.Helper()
	r := e.do(t, q)
	body := string(r.Body)
	if r.Code != wantStatus {
		t.Fatalf("%s %s = %d, want %d; body: %s", q.method, q.path, r.Code, wantStatus, truncate(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s %s: Content-Type %q, want text/html", q.method, q.path, ct)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s %s: Cache-Control %q, want no-store (the URL carries a live token)", q.method, q.path, r.Header.Get("Cache-Control"))
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s %s: page lacks %q:\n%s", q.method, q.path, w, body)
		}
	}
	return body
}

// oneClick is the POST a mail client sends for RFC 8058 one-click unsubscribe: the
// List-Unsubscribe URL, a form body, no cookies and no sign-in.
func oneClick(path string) req {
	return req{method: "POST", path: path, body: "List-Unsubscribe=One-Click", ctype: "application/x-www-form-urlencoded"}
}

func TestUnsubscribePageStopsRemindersOnlyOnPost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, anaTok := e.user(t, "ana@example.org")
	bo, _ := e.user(t, "bo@example.org")
	token := e.linkCodec(t).Sign(linktoken.PurposeUnsubscribe, ana.ID.String(), 60*24*time.Hour)
	path := "/unsubscribe?token=" + token

	// Mail scanners open every link: opening the page, however often, changes nothing.
	for range 2 {
		e.htmlPage(t, req{method: "GET", path: path}, 200,
			"Stop renewal reminder emails for <strong>ana@example.org</strong>?", `action="/unsubscribe?token=`+token+`"`)
	}
	if !e.reminderEmails(t, ana.ID) {
		t.Fatal("opening the page turned reminders off")
	}

	t.Run("PageButton", func(t *testing.T) {
		e.htmlPage(t, req{method: "POST", path: path, body: "", ctype: "application/x-www-form-urlencoded"}, 200,
			"no more renewal reminder emails", "turn on")
		if e.reminderEmails(t, ana.ID) {
			t.Error("reminder_emails still true after the page's button")
		}
		e.htmlPage(t, req{method: "GET", path: path}, 200, "already off")
	})
	t.Run("OneClickWithoutSignIn", func(t *testing.T) {
		e.setReminderEmails(t, anaTok, true)
		e.htmlPage(t, oneClick(path), 200, "no more renewal reminder emails")
		if e.reminderEmails(t, ana.ID) {
			t.Error("reminder_emails still true after the RFC 8058 one-click POST")
		}
	})
	t.Run("Repeated", func(t *testing.T) {
		e.htmlPage(t, oneClick(path), 200, "no more renewal reminder emails")
		if e.reminderEmails(t, ana.ID) {
			t.Error("reminder_emails true after a second POST")
		}
	})
	if !e.reminderEmails(t, bo.ID) {
		t.Error("another user's reminders were turned off")
	}
}

func TestUnsubscribePageRefusesBadLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, _ := e.user(t, "ana@example.org")
	links := e.linkCodec(t)
	good := links.Sign(linktoken.PurposeUnsubscribe, ana.ID.String(), time.Hour)
	stranger, err := linktoken.New([][]byte{bytes.Repeat([]byte{9}, 32)}, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	forged := map[string]string{
		"Missing":        "",
		"Garbage":        "not-a-token",
		"AlteredSubject": links.Sign(linktoken.PurposeUnsubscribe, uuid.NewString(), time.Hour)[:10] + good[10:],
		"AlteredMAC":     good[:len(good)-2] + flipChars(good[len(good)-2:]),
		"OtherKey":       stranger.Sign(linktoken.PurposeUnsubscribe, ana.ID.String(), time.Hour),
		"RenewalLink":    links.Sign(linktoken.PurposeRenew, ana.ID.String(), time.Hour),
		"UnknownUser":    links.Sign(linktoken.PurposeUnsubscribe, uuid.NewString(), time.Hour),
	}
	for name, token := range forged {
		t.Run(name, func(t *testing.T) {
			path := "/unsubscribe?token=" + token
			for _, q := range []req{{method: "GET", path: path}, oneClick(path)} {
				body := e.htmlPage(t, q, 404, "This unsubscribe link is not valid", "preferences")
				if strings.Contains(body, "ana@example.org") || strings.Contains(body, "<form") {
					t.Errorf("%s %s shows an address or a form:\n%s", q.method, name, body)
				}
			}
		})
	}

	e.clock.Advance(time.Hour + time.Second)
	path := "/unsubscribe?token=" + good
	for _, q := range []req{{method: "GET", path: path}, oneClick(path)} {
		body := e.htmlPage(t, q, 410, "This unsubscribe link has expired", "in your preferences")
		if strings.Contains(body, "<form") {
			t.Errorf("%s of an expired link shows a form", q.method)
		}
	}
	if !e.reminderEmails(t, ana.ID) {
		t.Error("a bad or expired link turned reminders off")
	}
}

// flipChars changes every character of s, keeping it in the base64url alphabet.
func flipChars(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

func TestReminderEmailsPreference(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, tok := e.user(t, "ana@example.org")
	var me struct {
		ReminderEmails *bool  `json:"reminder_emails"`
		Name           string `json:"name"`
	}
	get := func() bool {
		t.Helper()
		me.ReminderEmails = nil
		e.do(t, req{method: "GET", path: "/v1/me", token: tok}).decode(t, &me)
		if me.ReminderEmails == nil {
			t.Fatal("GET /v1/me has no reminder_emails")
		}
		return *me.ReminderEmails
	}
	if !get() {
		t.Fatal("a new account has reminder_emails false, want true")
	}
	patch := func(body any) req { return req{method: "PATCH", path: "/v1/me", token: tok, body: body} }
	e.run(t, []scenario{
		{name: "Off", req: patch(map[string]any{"reminder_emails": false}), wantStatus: 200},
		{name: "Null", req: patch(map[string]any{"reminder_emails": nil}), wantStatus: 422, wantType: "validation"},
		{name: "String", req: patch(map[string]any{"reminder_emails": "no"}), wantStatus: 422, wantType: "validation"},
		{name: "OtherFieldLeavesItAlone", req: patch(map[string]any{"name": "Ana Diaz"}), wantStatus: 200},
		{name: "Anonymous", req: req{method: "PATCH", path: "/v1/me", body: map[string]any{"reminder_emails": true}}, wantStatus: 401, wantType: "unauthorized"},
	})
	if get() || e.reminderEmails(t, ana.ID) || me.Name != "Ana Diaz" {
		t.Fatalf("after turning off: GET %v, stored %v, name %q; want off, off, Ana Diaz", *me.ReminderEmails, e.reminderEmails(t, ana.ID), me.Name)
	}
	var export struct {
		User struct {
			ReminderEmails *bool `json:"reminder_emails"`
		} `json:"user"`
	}
	e.do(t, req{method: "GET", path: "/v1/me/export", token: tok}).decode(t, &export)
	if export.User.ReminderEmails == nil || *export.User.ReminderEmails {
		t.Errorf("export user.reminder_emails = %v, want false", export.User.ReminderEmails)
	}
	e.setReminderEmails(t, tok, true)
	if !get() || !e.reminderEmails(t, ana.ID) {
		t.Error("turning reminders back on did not stick")
	}
}
