package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aalscert/aalscert/models"
)

type userBody struct {
	Email         string  `json:"email"`
	EmailVerified bool    `json:"email_verified"`
	Name          string  `json:"name"`
	Profession    *string `json:"profession"`
	NPI           *string `json:"npi"`
	LicenseNumber *string `json:"license_number"`
	LicenseState  *string `json:"license_state"`
}

func TestGetMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.user(t, "pat@h.test")
	e.run(t, []scenario{
		{name: "SignedIn", req: req{method: "GET", path: "/v1/me", token: tok}, wantStatus: 200},
		{name: "Anonymous", req: req{method: "GET", path: "/v1/me"}, wantStatus: 401, wantType: "unauthorized"},
		{name: "BadToken", req: req{method: "GET", path: "/v1/me", token: "nope"}, wantStatus: 401, wantType: "unauthorized"},
	})
	var u userBody
	e.do(t, req{method: "GET", path: "/v1/me", token: tok}).decode(t, &u)
	if u.Email != "pat@h.test" || !u.EmailVerified {
		t.Errorf("me = %+v, want pat@h.test, verified", u)
	}
}

func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.user(t, "pat@h.test")
	_, other := e.user(t, "sam@h.test")
	patch := func(body any) req { return req{method: "PATCH", path: "/v1/me", token: tok, body: body} }
	e.run(t, []scenario{
		{name: "Set", req: patch(map[string]any{"name": " Pat Doe ", "profession": "crna", "npi": "1234567893",
			"license_number": "RN-123", "license_state": "ma"}), wantStatus: 200},
		{name: "BadNPICheckDigit", req: patch(map[string]any{"npi": "1234567890"}), wantStatus: 422, wantType: "validation"},
		{name: "BadProfession", req: patch(map[string]any{"profession": "surgeon"}), wantStatus: 422, wantType: "validation"},
		{name: "BadState", req: patch(map[string]any{"license_state": "ZZ"}), wantStatus: 422, wantType: "validation"},
		{name: "NullName", req: patch(map[string]any{"name": nil}), wantStatus: 422, wantType: "validation"},
		{name: "WrongType", req: patch(map[string]any{"npi": 1234567893}), wantStatus: 422, wantType: "validation"},
		{name: "UnknownField", req: patch(map[string]any{"nickname": "P"}), wantStatus: 400, wantType: "malformed-request"},
		{name: "EmptyBody", req: patch(""), wantStatus: 400, wantType: "malformed-request"},
		{name: "NotJSON", req: req{method: "PATCH", path: "/v1/me", token: tok, body: "x", ctype: "text/plain"}, wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "NPITaken", req: req{method: "PATCH", path: "/v1/me", token: other, body: map[string]any{"npi": "1234567893"}}, wantStatus: 409, wantType: "npi-taken"},
		{name: "Anonymous", req: req{method: "PATCH", path: "/v1/me", body: map[string]any{"name": "X"}}, wantStatus: 401, wantType: "unauthorized"},
	})
	var u userBody
	e.do(t, req{method: "GET", path: "/v1/me", token: tok}).decode(t, &u)
	if u.Name != "Pat Doe" || deref(u.Profession) != "crna" || deref(u.NPI) != "1234567893" ||
		deref(u.LicenseNumber) != "RN-123" || deref(u.LicenseState) != "MA" {
		t.Errorf("profile = %+v, want the values set (trimmed, state upper-cased)", u)
	}

	// Every invalid field is reported at once.
	r := e.do(t, patch(map[string]any{"npi": "123", "profession": "x", "license_state": "QQ", "name": ""}))
	var p struct{ Errors []struct{ Field string } }
	r.decode(t, &p)
	fields := map[string]bool{}
	for _, f := range p.Errors {
		fields[f.Field] = true
	}
	if r.Code != 422 || len(fields) != 4 {
		t.Errorf("errors = %+v, want npi, profession, license_state and name", p.Errors)
	}

	// Absent fields stay; null clears.
	r = e.do(t, patch(map[string]any{"npi": nil, "license_number": nil}))
	r.decode(t, &u)
	if r.Code != 200 || u.NPI != nil || u.LicenseNumber != nil || deref(u.Profession) != "crna" || deref(u.LicenseState) != "MA" {
		t.Errorf("after clearing = %d %+v, want npi and license number cleared, the rest kept", r.Code, u)
	}
	// A cleared NPI is free for another account.
	e.run(t, []scenario{{name: "NPIFreed", req: req{method: "PATCH", path: "/v1/me", token: other, body: map[string]any{"npi": "1234567893"}}, wantStatus: 200}})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestNameLockedAfterEnrollment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, tok := e.user(t, "pat@h.test")
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE users SET name_locked_at = now() WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{
		{name: "Change", req: req{method: "PATCH", path: "/v1/me", token: tok, body: map[string]any{"name": "Someone Else"}}, wantStatus: 403, wantType: "name-locked"},
		{name: "SameNameIsNoChange", req: req{method: "PATCH", path: "/v1/me", token: tok, body: map[string]any{"name": u.Name, "profession": "srna"}}, wantStatus: 200},
		{name: "OtherFields", req: req{method: "PATCH", path: "/v1/me", token: tok, body: map[string]any{"profession": "nurse"}}, wantStatus: 200},
	})
	if got, err := models.FindUser(context.Background(), e.db.Gorm, u.ID); err != nil || got.Name != u.Name {
		t.Errorf("name = %v (%v), want unchanged %q", got, err, u.Name)
	}
}

func TestChangeEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, tok := e.user(t, "pat@h.test")
	e.user(t, "taken@h.test")
	change := func(body map[string]any) req { return req{method: "PATCH", path: "/v1/me", token: tok, body: body} }
	e.run(t, []scenario{
		{name: "NoPassword", req: change(map[string]any{"email": "new@h.test"}), wantStatus: 422, wantType: "validation"},
		{name: "WrongPassword", req: change(map[string]any{"email": "new@h.test", "current_password": "wrong password!"}), wantStatus: 422, wantType: "validation"},
		{name: "NotAnAddress", req: change(map[string]any{"email": "new", "current_password": fixturePassword}), wantStatus: 422, wantType: "validation"},
		{name: "NullEmail", req: change(map[string]any{"email": nil}), wantStatus: 422, wantType: "validation"},
		{name: "Taken", req: change(map[string]any{"email": "TAKEN@h.test", "current_password": fixturePassword}), wantStatus: 409, wantType: "email-taken"},
		{name: "SameAddressNeedsNoPassword", req: change(map[string]any{"email": "PAT@h.test"}), wantStatus: 200},
	})
	if n := len(e.mails(t, "new@h.test")); n != 0 {
		t.Fatalf("%d emails to the new address after refused changes, want 0", n)
	}
	r := e.do(t, change(map[string]any{"email": "new@h.test", "current_password": fixturePassword}))
	var got userBody
	r.decode(t, &got)
	if r.Code != 200 || got.Email != "new@h.test" || got.EmailVerified {
		t.Fatalf("change = %d %+v, want new@h.test unverified", r.Code, got)
	}
	m := e.lastMail(t, "new@h.test")
	token := tokenFromLink(t, m.Text, publicURL+"/verify-email?token=")
	tk, err := models.PeekUserToken(context.Background(), e.db.Gorm, token, models.TokenVerifyEmail, e.clock.Now())
	if err != nil || tk.UserID != u.ID || !strings.EqualFold(tk.Email, "new@h.test") {
		t.Fatalf("verification token = %+v, %v; want a live token for new@h.test", tk, err)
	}
	if len(e.mails(t, "pat@h.test")) != 0 {
		t.Error("the verification link went to the old address")
	}
}

func TestExportMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, tok := e.user(t, "pat@h.test")
	_, annTok := e.user(t, "ann@h.test")
	mine := e.org(t, tok, "Pat's Group")
	theirs := e.org(t, annTok, "Mercy")
	_, invToken := e.invite(t, annTok, theirs, "pat@h.test", "member")
	if _, err := models.CreateRefreshToken(context.Background(), e.db.Gorm, u.ID, false,
		models.RefreshClient{UserAgent: "Firefox/140", ClientIP: "192.0.2.7"}, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// An address change leaves a redacted verification email in the outbox.
	e.do(t, req{method: "PATCH", path: "/v1/me", token: tok, body: map[string]any{"email": "pat2@h.test", "current_password": fixturePassword}})
	verifyToken := tokenFromLink(t, e.lastMail(t, "pat2@h.test").Text, publicURL+"/verify-email?token=")

	r := e.do(t, req{method: "GET", path: "/v1/me/export", token: tok})
	if r.Code != 200 {
		t.Fatalf("export = %d %s", r.Code, r.Body)
	}
	body := string(r.Body)
	for _, secret := range []string{"argon2id", fixtureHash, invToken, verifyToken, "token_hash", "password", "totp_secret"} {
		if strings.Contains(body, secret) {
			t.Errorf("export contains %q", secret)
		}
	}
	var x struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		Memberships []struct {
			OrgID string   `json:"org_id"`
			Roles []string `json:"roles"`
		} `json:"memberships"`
		MemberInvitations []struct {
			OrgID string `json:"org_id"`
		} `json:"member_invitations"`
		Sessions []struct {
			UserAgent string `json:"user_agent"`
			ClientIP  string `json:"client_ip"`
			Used      bool   `json:"used"`
		} `json:"sessions"`
		Emails []struct {
			Subject string `json:"subject"`
			Text    string `json:"text"`
		} `json:"emails"`
	}
	r.decode(t, &x)
	if x.User.Email != "pat2@h.test" {
		t.Errorf("user = %+v", x.User)
	}
	if len(x.Memberships) != 1 || x.Memberships[0].OrgID != mine || strings.Join(x.Memberships[0].Roles, ",") != "admin" {
		t.Errorf("memberships = %+v, want admin of %s", x.Memberships, mine)
	}
	if len(x.Sessions) != 1 || x.Sessions[0].UserAgent != "Firefox/140" || x.Sessions[0].ClientIP != "192.0.2.7" || x.Sessions[0].Used {
		t.Errorf("sessions = %+v, want the one sign-in", x.Sessions)
	}
	if len(x.Emails) != 2 || !strings.Contains(x.Emails[0].Text, "[redacted]") {
		t.Errorf("emails = %+v, want the verification email (redacted) and the invitation", x.Emails)
	}
	// The invitation went to the old address; the export lists invitations to the current one.
	if len(x.MemberInvitations) != 0 {
		t.Errorf("member invitations = %+v, want none for pat2@h.test", x.MemberInvitations)
	}
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	if strings.Contains(string(raw["user"]), "hash") {
		t.Errorf("user carries a hash: %s", raw["user"])
	}
}

func TestExportListsInvitationsToMyAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.user(t, "pat@h.test")
	_, annTok := e.user(t, "ann@h.test")
	org := e.org(t, annTok, "Mercy")
	e.invite(t, annTok, org, "PAT@h.test", "member")
	var x struct {
		MemberInvitations []struct {
			OrgID  string `json:"org_id"`
			Status string `json:"status"`
		} `json:"member_invitations"`
		Emails []struct{ Subject string } `json:"emails"`
	}
	e.do(t, req{method: "GET", path: "/v1/me/export", token: tok}).decode(t, &x)
	if len(x.MemberInvitations) != 1 || x.MemberInvitations[0].OrgID != org || x.MemberInvitations[0].Status != "pending" {
		t.Errorf("member invitations = %+v, want the pending one from %s", x.MemberInvitations, org)
	}
	if len(x.Emails) != 1 {
		t.Errorf("emails = %+v, want the invitation", x.Emails)
	}
}

// TestExportIncludesEnrollmentsOrdersAndCards checks that the export carries what the user
// bought and uploaded, and never the uploaded file itself.
func TestExportIncludesEnrollmentsOrdersAndCards(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, tok := e.user(t, "buyer@h.test")
	r := e.do(t, req{method: "POST", path: "/v1/enrollments", token: tok, body: map[string]string{"course": "AALS", "offering": "initial"}})
	if r.Code != 201 {
		t.Fatalf("enroll = %d %s", r.Code, r.Body)
	}
	var enrolled struct {
		ID    string `json:"id"`
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
	}
	r.decode(t, &enrolled)
	card := e.uploadCard(t, tok, nil)

	var x struct {
		Enrollments []struct {
			ID    string `json:"id"`
			Order *struct {
				ID string `json:"id"`
			} `json:"order"`
		} `json:"enrollments"`
		Orders []struct {
			ID     string `json:"id"`
			Amount int    `json:"amount"`
		} `json:"orders"`
		Cards []struct {
			ID string `json:"id"`
		} `json:"external_credentials"`
	}
	exp := e.do(t, req{method: "GET", path: "/v1/me/export", token: tok})
	exp.decode(t, &x)
	if len(x.Enrollments) != 1 || x.Enrollments[0].ID != enrolled.ID || x.Enrollments[0].Order == nil || x.Enrollments[0].Order.ID != enrolled.Order.ID {
		t.Errorf("enrollments = %+v, want %s with its order", x.Enrollments, enrolled.ID)
	}
	if len(x.Orders) != 1 || x.Orders[0].ID != enrolled.Order.ID || x.Orders[0].Amount <= 0 {
		t.Errorf("orders = %+v, want the enrollment's order", x.Orders)
	}
	if len(x.Cards) != 1 || x.Cards[0].ID != card.ID {
		t.Errorf("external credentials = %+v, want the uploaded card %s", x.Cards, card.ID)
	}
	if strings.Contains(string(exp.Body), "file_data") || strings.Contains(string(exp.Body), "%PDF") {
		t.Error("export carries the uploaded file")
	}
}
