package api_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// authTOTPCode returns the current code of secret at the test clock's time.
func authTOTPCode(t testing.TB, e *env, secret string) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// authEnableTOTP enrols and confirms TOTP for the holder of access, returning the secret.
// It leaves the clock on the step whose code confirmed it.
func authEnableTOTP(t testing.TB, e *env, access string) string {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/me/totp", token: access, body: map[string]string{"password": authPassword}})
	if r.Code != 200 {
		t.Fatalf("start TOTP: status %d; body %s", r.Code, r.Body)
	}
	var setup struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
	}
	r.decode(t, &setup)
	r = e.do(t, req{method: "POST", path: "/v1/me/totp/confirm", token: access,
		body: map[string]string{"code": authTOTPCode(t, e, setup.Secret)}})
	if r.Code != 200 {
		t.Fatalf("confirm TOTP: status %d; body %s", r.Code, r.Body)
	}
	return setup.Secret
}

func TestTOTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "totp@example.org")
	pair := authLogin(t, e, u.Email, authPassword, "")
	me := func(method, path string, body any) req {
		return req{method: method, path: path, token: pair.AccessToken, body: body}
	}
	login := func(code string) req {
		return req{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": u.Email, "password": authPassword, "totp_code": code}}
	}
	e.run(t, []scenario{
		{name: "ConfirmBeforeStart", req: me("POST", "/v1/me/totp/confirm", map[string]string{"code": "123456"}), wantStatus: 409, wantType: "totp-not-started"},
		{name: "DisableWhenOff", req: me("DELETE", "/v1/me/totp", map[string]string{"code": "123456"}), wantStatus: 409, wantType: "totp-not-enabled"},
		{name: "StartSignedOut", req: req{method: "POST", path: "/v1/me/totp"}, wantStatus: 401, wantType: "unauthorized"},
	})

	e.run(t, []scenario{
		{name: "StartWithoutPassword", req: me("POST", "/v1/me/totp", map[string]string{}), wantStatus: 422, wantType: "validation"},
		{name: "StartWithWrongPassword", req: me("POST", "/v1/me/totp", map[string]string{"password": "not the password at all"}), wantStatus: 422, wantType: "validation"},
		{name: "StartWithoutBody", req: me("POST", "/v1/me/totp", nil), wantStatus: 400, wantType: "malformed-request"},
	})
	r := e.do(t, me("POST", "/v1/me/totp", map[string]string{"password": authPassword}))
	var setup struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
	}
	r.decode(t, &setup)
	if r.Code != 200 || setup.Secret == "" || !strings.HasPrefix(setup.OTPAuthURL, "otpauth://totp/") {
		t.Fatalf("start: status %d, %+v, want 200 with a secret and an otpauth URL", r.Code, setup)
	}
	if q, _ := url.Parse(setup.OTPAuthURL); q == nil || q.Query().Get("secret") != setup.Secret {
		t.Errorf("otpauth URL %q does not carry the secret", setup.OTPAuthURL)
	}

	t.Run("SecretStoredSealedAndPending", func(t *testing.T) {
		var row struct {
			TOTPSecretEnc []byte `gorm:"column:totp_secret_enc"`
			Enabled       bool
		}
		e.db.Gorm.Raw(`SELECT totp_secret_enc, totp_enabled_at IS NOT NULL AS enabled FROM users WHERE id = ?`, u.ID).Scan(&row)
		if row.Enabled || len(row.TOTPSecretEnc) == 0 || bytes.Contains(row.TOTPSecretEnc, []byte(setup.Secret)) {
			t.Fatalf("stored %q enabled=%v, want a sealed secret and TOTP still off", row.TOTPSecretEnc, row.Enabled)
		}
		plain, err := e.keyring.Open(row.TOTPSecretEnc, []byte("totp:"+u.ID))
		if err != nil || string(plain) != setup.Secret {
			t.Fatalf("open sealed secret = %q, %v; want the secret", plain, err)
		}
		authLogin(t, e, u.Email, authPassword, "") // a pending secret does not require a code yet
	})

	code := authTOTPCode(t, e, setup.Secret)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	e.run(t, []scenario{
		{name: "ConfirmWrongCode", req: me("POST", "/v1/me/totp/confirm", map[string]string{"code": wrong}), wantStatus: 422, wantType: "validation"},
		{name: "ConfirmEmptyCode", req: me("POST", "/v1/me/totp/confirm", map[string]string{"code": ""}), wantStatus: 422, wantType: "validation"},
		{name: "Confirm", req: me("POST", "/v1/me/totp/confirm", map[string]string{"code": code}), wantStatus: 200},
		{name: "StartAgainWhenOn", req: me("POST", "/v1/me/totp", map[string]string{"password": authPassword}), wantStatus: 409, wantType: "totp-already-enabled"},
		{name: "LoginWithoutCode", req: req{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": u.Email, "password": authPassword}}, wantStatus: 401, wantType: "totp-required"},
		{name: "CodeOfConfirmationNotReusable", req: login(code), wantStatus: 401, wantType: "invalid-credentials"},
		{name: "WrongCode", req: login(wrong), wantStatus: 401, wantType: "invalid-credentials"},
	})

	t.Run("WrongCodeCountsAsFailure", func(t *testing.T) {
		var failures int
		e.db.Gorm.Raw(`SELECT failures FROM login_throttle WHERE key LIKE 'acct:' || ? || '|ip:%'`, u.ID).Scan(&failures)
		if failures != 2 {
			t.Errorf("pair failures = %d, want 2 (a replayed and a wrong code)", failures)
		}
	})

	e.clock.Advance(30 * time.Second)
	next := authTOTPCode(t, e, setup.Secret)
	mfaPair := authLogin(t, e, u.Email, authPassword, next)
	if !authMFA(t, mfaPair.AccessToken) {
		t.Error("access token of a sign-in with a TOTP code lacks mfa")
	}
	e.run(t, []scenario{{name: "ReplayOfSameCode", req: login(next), wantStatus: 401, wantType: "invalid-credentials"}})

	t.Run("RefreshKeepsMFA", func(t *testing.T) {
		r := authRefresh(t, e, mfaPair.RefreshToken)
		var p authPair
		r.decode(t, &p)
		if r.Code != 200 || !authMFA(t, p.AccessToken) {
			t.Fatalf("refresh: status %d, mfa %v; want 200 and mfa kept", r.Code, r.Code == 200 && authMFA(t, p.AccessToken))
		}
		r = authRefresh(t, e, pair.RefreshToken) // the sign-in without a code stays without
		r.decode(t, &p)
		if r.Code != 200 || authMFA(t, p.AccessToken) {
			t.Fatalf("refresh of a password-only sign-in: status %d, want 200 without mfa", r.Code)
		}
	})

	t.Run("Disable", func(t *testing.T) {
		e.clock.Advance(30 * time.Second)
		now := authTOTPCode(t, e, setup.Secret)
		e.run(t, []scenario{
			{name: "WrongCode", req: me("DELETE", "/v1/me/totp", map[string]string{"code": wrong}), wantStatus: 422, wantType: "validation"},
			{name: "EmptyBody", req: me("DELETE", "/v1/me/totp", ""), wantStatus: 400, wantType: "malformed-request"},
			{name: "Disable", req: me("DELETE", "/v1/me/totp", map[string]string{"code": now}), wantStatus: 204},
		})
		p := authLogin(t, e, u.Email, authPassword, "")
		if authMFA(t, p.AccessToken) {
			t.Error("password-only sign-in has mfa")
		}
	})
}

func TestAdminRoutesRequireMFA(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdminMFA)
	const path = "/v1/admin/outbox"
	admin := authRegister(t, e, "staff@example.org")
	plain := authRegister(t, e, "member@example.org")
	if err := e.db.Gorm.Exec(`UPDATE users SET platform_role = 'admin' WHERE id = ?`, admin.ID).Error; err != nil {
		t.Fatal(err)
	}
	adminPair := authLogin(t, e, admin.Email, authPassword, "")
	plainPair := authLogin(t, e, plain.Email, authPassword, "")
	e.run(t, []scenario{
		{name: "NotAnAdmin", req: req{method: "GET", path: path, token: plainPair.AccessToken}, wantStatus: 403, wantType: "forbidden"},
		{name: "AdminWithoutTOTP", req: req{method: "GET", path: path, token: adminPair.AccessToken}, wantStatus: 403, wantType: "mfa-required"},
	})

	secret := authEnableTOTP(t, e, adminPair.AccessToken)
	e.run(t, []scenario{
		// Enabling TOTP does not upgrade a session opened without it.
		{name: "OldSessionStillRefused", req: req{method: "GET", path: path, token: adminPair.AccessToken}, wantStatus: 403, wantType: "mfa-required"},
	})
	e.clock.Advance(30 * time.Second)
	mfa := authLogin(t, e, admin.Email, authPassword, authTOTPCode(t, e, secret))
	e.run(t, []scenario{{name: "AdminWithTOTP", req: req{method: "GET", path: path, token: mfa.AccessToken}, wantStatus: 200}})

	t.Run("WithoutAdminMFAConfigured", func(t *testing.T) {
		dev := newEnv(t)
		a := authRegister(t, dev, "dev-staff@example.org")
		if err := dev.db.Gorm.Exec(`UPDATE users SET platform_role = 'admin' WHERE id = ?`, a.ID).Error; err != nil {
			t.Fatal(err)
		}
		p := authLogin(t, dev, a.Email, authPassword, "")
		dev.run(t, []scenario{{name: "PasswordOnlyAdmin", req: req{method: "GET", path: path, token: p.AccessToken}, wantStatus: 200}})
	})
}
