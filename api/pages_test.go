package api_test

import (
	"net/url"
	"strings"
	"testing"
)

// authPageForm posts a form-encoded page form.
func authPageForm(t testing.TB, e *env, path string, fields map[string]string) *resp {
	t.Helper()
	v := url.Values{}
	for k, val := range fields {
		v.Set(k, val)
	}
	return e.do(t, req{method: "POST", path: path, body: v.Encode(), ctype: "application/x-www-form-urlencoded"})
}

// authCheckPage checks that r is an uncached HTML page with the given status that contains
// every want and none of the wantNot.
func authCheckPage(t testing.TB, r *resp, status int, want []string, wantNot []string) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status = %d, want %d; body %s", r.Code, status, truncate(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q, want no-referrer", got)
	}
	body := string(r.Body)
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q:\n%s", w, body)
		}
	}
	for _, w := range wantNot {
		if strings.Contains(body, w) {
			t.Errorf("page has %q:\n%s", w, body)
		}
	}
}

// authTokenUsed reports whether the email token of a user and purpose was spent.
func authTokenUsed(t testing.TB, e *env, userID, purpose string) bool {
	t.Helper()
	var used bool
	if err := e.db.Gorm.Raw(`SELECT bool_or(used_at IS NOT NULL) FROM user_tokens WHERE user_id = ? AND purpose = ?`, userID, purpose).Scan(&used).Error; err != nil {
		t.Fatal(err)
	}
	return used
}

func TestVerifyEmailPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "page@example.org")
	token := authVerifyToken(t, e, u.Email)
	form := `<form method="post" action="/verify-email">`

	for range 2 { // opening the link, even twice (mail scanners do), leaves it usable
		r := e.do(t, req{method: "GET", path: "/verify-email?token=" + token})
		authCheckPage(t, r, 200, []string{form, `name="token" value="` + token + `"`, "Confirm", u.Email}, nil)
	}
	if authTokenUsed(t, e, u.ID, "verify_email") {
		t.Fatal("opening the page spent the token")
	}
	var verified bool
	e.db.Gorm.Raw(`SELECT email_verified_at IS NOT NULL FROM users WHERE id = ?`, u.ID).Scan(&verified)
	if verified {
		t.Fatal("opening the page verified the address")
	}

	r := authPageForm(t, e, "/verify-email", map[string]string{"token": token})
	authCheckPage(t, r, 200, []string{"is confirmed", u.Email}, []string{form})
	e.db.Gorm.Raw(`SELECT email_verified_at IS NOT NULL FROM users WHERE id = ?`, u.ID).Scan(&verified)
	if !verified {
		t.Fatal("the form did not verify the address")
	}

	t.Run("SpentLink", func(t *testing.T) {
		authCheckPage(t, e.do(t, req{method: "GET", path: "/verify-email?token=" + token}), 200, []string{"invalid, already used or expired"}, []string{form})
		authCheckPage(t, authPageForm(t, e, "/verify-email", map[string]string{"token": token}), 422, []string{"invalid, already used or expired"}, nil)
	})
	t.Run("NoOrUnknownToken", func(t *testing.T) {
		authCheckPage(t, e.do(t, req{method: "GET", path: "/verify-email"}), 200, []string{"invalid"}, []string{form})
		authCheckPage(t, e.do(t, req{method: "GET", path: "/verify-email?token=bm9wZQ"}), 200, []string{"invalid"}, []string{form})
		authCheckPage(t, authPageForm(t, e, "/verify-email", map[string]string{}), 422, []string{"invalid"}, nil)
	})
}

func TestResetPasswordPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "page-reset@example.org")
	old := authLogin(t, e, u.Email, authPassword, "")
	e.do(t, req{method: "POST", path: "/v1/auth/password-reset", body: map[string]string{"email": u.Email}})
	token := authResetToken(t, e, u.Email)
	form := `<form method="post" action="/reset-password">`

	r := e.do(t, req{method: "GET", path: "/reset-password?token=" + token})
	authCheckPage(t, r, 200, []string{form, `name="token" value="` + token + `"`, `type="password"`, `autocomplete="new-password"`, `<label for="password">`}, nil)
	if authTokenUsed(t, e, u.ID, "reset_password") {
		t.Fatal("opening the page spent the token")
	}

	// A refused password shows the form again with the reason, and leaves the link usable.
	r = authPageForm(t, e, "/reset-password", map[string]string{"token": token, "password": "too short"})
	authCheckPage(t, r, 422, []string{form, `aria-invalid="true"`, "at least 12 characters", `role="alert"`}, nil)
	r = authPageForm(t, e, "/reset-password", map[string]string{"token": token, "password": "passwordpassword"})
	authCheckPage(t, r, 422, []string{form, "too common"}, nil)
	if authTokenUsed(t, e, u.ID, "reset_password") {
		t.Fatal("a refused password spent the token")
	}

	const newPassword = "set from the reset page"
	r = authPageForm(t, e, "/reset-password", map[string]string{"token": token, "password": newPassword})
	authCheckPage(t, r, 200, []string{"password is changed"}, []string{form})
	authLogin(t, e, u.Email, newPassword, "")
	e.run(t, []scenario{
		{name: "OldPasswordRefused", req: req{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": u.Email, "password": authPassword}}, wantStatus: 401, wantType: "invalid-credentials"},
		{name: "OldSessionRevoked", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": old.RefreshToken}}, wantStatus: 401, wantType: "refresh-token-reused"},
	})

	t.Run("SpentLink", func(t *testing.T) {
		authCheckPage(t, e.do(t, req{method: "GET", path: "/reset-password?token=" + token}), 200, []string{"invalid, already used or expired"}, []string{form})
		r := authPageForm(t, e, "/reset-password", map[string]string{"token": token, "password": "another fine passphrase"})
		authCheckPage(t, r, 422, []string{"invalid, already used or expired"}, []string{form})
	})
}
