package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/models"
)

func form(values map[string]string) string {
	v := url.Values{}
	for k, s := range values {
		v.Set(k, s)
	}
	return v.Encode()
}

// TestOrgInvitationPage follows the link in an invitation email: the page shows the
// invitation without spending it, and its form signs in and accepts.
func TestOrgInvitationPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, adminTok := e.user(t, "head@example.org")
	orgID := e.org(t, adminTok, "Mercy General Anesthesia")
	invitee, _ := e.user(t, "crna@example.org")
	e.user(t, "other@example.org")
	unverified, _ := e.user(t, "new@example.org", func(u *models.User) { u.EmailVerifiedAt = nil })

	invite := func(email string) string {
		r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgID + "/member-invitations", token: adminTok,
			body: map[string]any{"email": email, "roles": []string{"member"}}})
		if r.Code != 201 {
			t.Fatalf("invite %s: %d %s", email, r.Code, r.Body)
		}
		return tokenFromLink(t, e.lastMail(t, email).Text, publicURL+"/org-invitations/")
	}
	token := invite(invitee.Email)
	page := "/org-invitations/" + token
	post := func(values map[string]string) req {
		return req{method: "POST", path: page, body: form(values), ctype: "application/x-www-form-urlencoded"}
	}

	for i := 0; i < 2; i++ {
		r := e.do(t, req{method: "GET", path: page})
		if r.Code != 200 || !strings.Contains(string(r.Body), "Mercy General Anesthesia") || !strings.Contains(string(r.Body), `name="password"`) {
			t.Fatalf("GET page = %d, want the invitation and a sign-in form: %s", r.Code, r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", r.Header.Get("Cache-Control"))
		}
	}
	e.run(t, []scenario{
		{name: "WrongPassword", req: post(map[string]string{"email": invitee.Email, "password": "not my password!"}), wantStatus: 401},
		{name: "OtherAccount", req: post(map[string]string{"email": "other@example.org", "password": fixturePassword}), wantStatus: 403},
		{name: "Incomplete", req: post(map[string]string{"email": invitee.Email}), wantStatus: 422},
		{name: "Accept", req: post(map[string]string{"email": invitee.Email, "password": fixturePassword}), wantStatus: 200},
		{name: "UsedLink", req: req{method: "GET", path: page}, wantStatus: 200},
		{name: "UsedLinkPost", req: post(map[string]string{"email": invitee.Email, "password": fixturePassword}), wantStatus: 422},
		{name: "UnknownLink", req: req{method: "GET", path: "/org-invitations/nope"}, wantStatus: 200},
	})
	m, err := models.FindMembership(context.Background(), e.db.Gorm, uuid.MustParse(orgID), invitee.ID)
	if err != nil || len(m.Roles) != 1 || m.Roles[0] != "member" {
		t.Fatalf("membership = %+v, %v; want member", m, err)
	}
	if r := e.do(t, req{method: "GET", path: page}); !strings.Contains(string(r.Body), "invalid, already used") {
		t.Errorf("used link page does not say so: %s", r.Body)
	}

	// An unconfirmed address cannot accept; the invitation stays open.
	tok2 := invite(unverified.Email)
	r := e.do(t, req{method: "POST", path: "/org-invitations/" + tok2, body: form(map[string]string{"email": unverified.Email, "password": fixturePassword}), ctype: "application/x-www-form-urlencoded"})
	if r.Code != 403 {
		t.Errorf("unverified accept = %d, want 403", r.Code)
	}
	if r := e.do(t, req{method: "GET", path: "/org-invitations/" + tok2}); !strings.Contains(string(r.Body), `name="password"`) {
		t.Error("a refused accept spent the invitation")
	}

	// The form is throttled like the login API: five failures, then 429.
	for i := 0; i < 5; i++ {
		e.do(t, req{method: "POST", path: "/org-invitations/" + tok2, body: form(map[string]string{"email": unverified.Email, "password": "wrong password " + string(rune('a'+i))}), ctype: "application/x-www-form-urlencoded"})
	}
	r = e.do(t, req{method: "POST", path: "/org-invitations/" + tok2, body: form(map[string]string{"email": unverified.Email, "password": fixturePassword}), ctype: "application/x-www-form-urlencoded"})
	if r.Code != 429 {
		t.Errorf("sixth attempt = %d, want 429", r.Code)
	}
}
