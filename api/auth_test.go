package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/authtoken"
	"github.com/aalscert/aalscert/models"
)

// authPassword is a password the policy accepts, used by every account these tests make.
const authPassword = "resuscitation drill 42"

// authUser is an account made through the API.
type authUser struct {
	ID    string
	Email string
}

// authPair is a token pair as the API returns it.
type authPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// authRegister creates an account through POST /v1/auth/register.
func authRegister(t testing.TB, e *env, email string) authUser {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/auth/register",
		body: map[string]string{"email": email, "password": authPassword, "name": "Ada Lovelace"}})
	if r.Code != 201 {
		t.Fatalf("register %s: status = %d, want 201; body: %s", email, r.Code, r.Body)
	}
	var u struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	r.decode(t, &u)
	return authUser{ID: u.ID, Email: u.Email}
}

// authLogin signs in through POST /v1/auth/login and fails the test unless it succeeds.
func authLogin(t testing.TB, e *env, email, password, code string) authPair {
	t.Helper()
	body := map[string]string{"email": email, "password": password}
	if code != "" {
		body["totp_code"] = code
	}
	r := e.do(t, req{method: "POST", path: "/v1/auth/login", body: body})
	if r.Code != 200 {
		t.Fatalf("login %s: status = %d, want 200; body: %s", email, r.Code, r.Body)
	}
	var p authPair
	r.decode(t, &p)
	if p.AccessToken == "" || p.RefreshToken == "" || p.TokenType != "Bearer" || p.ExpiresIn <= 0 {
		t.Fatalf("login %s: pair = %+v, want both tokens, Bearer and a lifetime", email, p)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("login Cache-Control = %q, want no-store", got)
	}
	return p
}

// authRefresh posts a refresh token and returns the response.
func authRefresh(t testing.TB, e *env, refresh string) *resp {
	t.Helper()
	return e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": refresh}})
}

// authClaims returns the claims of a JWT without checking it.
func authClaims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// authMFA reports whether an access token says its session was opened with a second factor.
func authMFA(t testing.TB, jwt string) bool {
	t.Helper()
	mfa, _ := authClaims(t, jwt)["mfa"].(bool)
	return mfa
}

// authVerifyToken returns the token of the newest verification email to addr.
func authVerifyToken(t testing.TB, e *env, addr string) string {
	t.Helper()
	return tokenFromLink(t, e.lastMail(t, addr).Text, publicURL+"/verify-email")
}

// authResetToken returns the token of the newest password-reset email to addr.
func authResetToken(t testing.TB, e *env, addr string) string {
	t.Helper()
	return tokenFromLink(t, e.lastMail(t, addr).Text, publicURL+"/reset-password")
}

// withTrustedProxy believes X-Forwarded-For from the test client's address, so a test can
// sign in from several client addresses.
func withTrustedProxy(c *api.Config, _ *api.Deps) {
	_, n, _ := net.ParseCIDR("192.0.2.0/24")
	c.TrustedProxies = []*net.IPNet{n}
}

// fromAddr sets the client address of a request (with withTrustedProxy).
func fromAddr(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }

func TestRegister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := func(email, pw, name string) req {
		return req{method: "POST", path: "/v1/auth/register", body: map[string]string{"email": email, "password": pw, "name": name}}
	}
	e.run(t, []scenario{
		{name: "Created", req: reg("Nurse@Example.org", authPassword, "Grace Hopper"), wantStatus: 201},
		{name: "DuplicateInOtherCase", req: reg("nurse@example.ORG", authPassword, "Grace"), wantStatus: 409, wantType: "email-taken"},
		{name: "ShortPassword", req: reg("a@example.org", "short pass", "A"), wantStatus: 422, wantType: "validation"},
		{name: "CommonPassword", req: reg("b@example.org", "Password1234", "B"), wantStatus: 422, wantType: "validation"},
		{name: "BadEmail", req: reg("not-an-address", authPassword, "C"), wantStatus: 422, wantType: "validation"},
		{name: "DisplayNameEmail", req: reg("D <d@example.org>", authPassword, "D"), wantStatus: 422, wantType: "validation"},
		{name: "EmptyName", req: reg("e@example.org", authPassword, "   "), wantStatus: 422, wantType: "validation"},
		{name: "LongName", req: reg("f@example.org", authPassword, strings.Repeat("n", 201)), wantStatus: 422, wantType: "validation"},
		{name: "UnknownField", req: req{method: "POST", path: "/v1/auth/register", body: `{"email":"g@example.org","password":"x","name":"G","admin":true}`}, wantStatus: 400, wantType: "malformed-request"},
		{name: "NotJSON", req: req{method: "POST", path: "/v1/auth/register", body: "email=x", ctype: "application/x-www-form-urlencoded"}, wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "BadBearer", req: req{method: "POST", path: "/v1/auth/register", token: "garbage", body: map[string]string{"email": "h@example.org", "password": authPassword, "name": "H"}}, wantStatus: 401, wantType: "unauthorized"},
	})

	t.Run("EveryBadFieldAtOnce", func(t *testing.T) {
		r := e.do(t, reg("nope", "short", ""))
		var p struct {
			Errors []models.FieldError `json:"errors"`
		}
		r.decode(t, &p)
		got := map[string]bool{}
		for _, f := range p.Errors {
			got[f.Field] = true
		}
		if r.Code != 422 || !got["email"] || !got["password"] || !got["name"] {
			t.Fatalf("status %d, field errors %v, want 422 with email, password and name", r.Code, p.Errors)
		}
	})

	t.Run("ResponseAndVerificationEmail", func(t *testing.T) {
		r := e.do(t, reg("  rn@example.org ", authPassword, " Florence Nightingale "))
		var u struct {
			Email         string `json:"email"`
			Name          string `json:"name"`
			EmailVerified bool   `json:"email_verified"`
			TOTPEnabled   bool   `json:"totp_enabled"`
		}
		r.decode(t, &u)
		if r.Code != 201 || u.Email != "rn@example.org" || u.Name != "Florence Nightingale" || u.EmailVerified || u.TOTPEnabled {
			t.Fatalf("status %d, user %+v, want 201 with a trimmed, unverified account", r.Code, u)
		}
		if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), "password") {
			t.Errorf("response leaks the password hash: %s", r.Body)
		}
		token := authVerifyToken(t, e, "rn@example.org")
		// The copy an admin can read has the live token redacted.
		rows, _, err := models.ListOutboxMessages(t.Context(), e.db.Gorm, models.OutboxFilter{To: "rn@example.org", Page: models.Page{Limit: 5}})
		if err != nil || len(rows) != 1 {
			t.Fatalf("outbox rows = %d, %v, want 1", len(rows), err)
		}
		if strings.Contains(rows[0].TextBody, token) || strings.Contains(rows[0].HTMLBody, token) {
			t.Error("the stored copy of the verification email holds the live token")
		}
	})
}

func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "verify@example.org")
	token := authVerifyToken(t, e, u.Email)
	verify := func(tok string) req {
		return req{method: "POST", path: "/v1/auth/verify-email", body: map[string]string{"token": tok}}
	}

	pair := authLogin(t, e, u.Email, authPassword, "")
	r := e.do(t, req{method: "POST", path: "/v1/auth/verify-email/resend", token: pair.AccessToken})
	if r.Code != 202 || len(e.mails(t, u.Email)) != 2 {
		t.Fatalf("resend: status %d, %d emails, want 202 and a second email", r.Code, len(e.mails(t, u.Email)))
	}
	second := authVerifyToken(t, e, u.Email)

	r = e.do(t, verify(token))
	var got struct {
		EmailVerified bool `json:"email_verified"`
	}
	r.decode(t, &got)
	if r.Code != 200 || !got.EmailVerified {
		t.Fatalf("verify: status %d, verified %v, want 200 and true", r.Code, got.EmailVerified)
	}
	e.run(t, []scenario{
		{name: "SpentTokenRefused", req: verify(token), wantStatus: 422, wantType: "token-invalid"},
		{name: "UnknownToken", req: verify("bm90LWEtdG9rZW4"), wantStatus: 422, wantType: "token-invalid"},
		{name: "EmptyToken", req: verify(""), wantStatus: 422, wantType: "validation"},
		{name: "ResendWhenVerified", req: req{method: "POST", path: "/v1/auth/verify-email/resend", token: pair.AccessToken}, wantStatus: 409, wantType: "email-already-verified"},
		{name: "ResendSignedOut", req: req{method: "POST", path: "/v1/auth/verify-email/resend"}, wantStatus: 401, wantType: "unauthorized"},
		// The resent link is still good: verifying twice is harmless.
		{name: "SecondLinkStillWorks", req: verify(second), wantStatus: 200},
	})

	t.Run("ExpiresAfter48Hours", func(t *testing.T) {
		v := authRegister(t, e, "late@example.org")
		tok := authVerifyToken(t, e, v.Email)
		e.clock.Advance(48*time.Hour + time.Second)
		e.run(t, []scenario{{name: "Expired", req: verify(tok), wantStatus: 422, wantType: "token-invalid"}})
	})

	t.Run("OnlyForTheCurrentAddress", func(t *testing.T) {
		v := authRegister(t, e, "old-address@example.org")
		tok := authVerifyToken(t, e, v.Email)
		if err := e.db.Gorm.Exec(`UPDATE users SET email = 'new-address@example.org' WHERE id = ?`, v.ID).Error; err != nil {
			t.Fatal(err)
		}
		e.run(t, []scenario{{name: "AddressChanged", req: verify(tok), wantStatus: 422, wantType: "token-invalid"}})
		var verified bool
		e.db.Gorm.Raw(`SELECT email_verified_at IS NOT NULL FROM users WHERE id = ?`, v.ID).Scan(&verified)
		if verified {
			t.Error("a link sent to the old address verified the new one")
		}
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "login@example.org")
	login := func(email, pw string) req {
		return req{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": email, "password": pw}}
	}
	e.run(t, []scenario{
		{name: "WrongPassword", req: login(u.Email, "wrong password here"), wantStatus: 401, wantType: "invalid-credentials"},
		{name: "UnknownEmail", req: login("nobody@example.org", authPassword), wantStatus: 401, wantType: "invalid-credentials"},
		{name: "MissingPassword", req: login(u.Email, ""), wantStatus: 422, wantType: "validation"},
		{name: "MissingEmail", req: login("", authPassword), wantStatus: 422, wantType: "validation"},
		{name: "Malformed", req: req{method: "POST", path: "/v1/auth/login", body: `{"email":`}, wantStatus: 400, wantType: "malformed-request"},
	})

	pair := authLogin(t, e, "LOGIN@example.org", authPassword, "")
	claims := authClaims(t, pair.AccessToken)
	if claims["sub"] != u.ID || authMFA(t, pair.AccessToken) {
		t.Errorf("claims = %v, want sub %s without mfa", claims, u.ID)
	}
	signedIn := func(token string) req { return req{method: "GET", path: "/v1/me", token: token} }

	// Forged, foreign and expired access tokens are refused on a signed-in route.
	parts := strings.Split(pair.AccessToken, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	_ = json.Unmarshal(header, &h)
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+h["kid"].(string)+`"}`)) + "." + parts[1] + "."
	otherIssuer, err := authtoken.NewIssuer(publicURL, 15*time.Minute, e.clock.Now, authtoken.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, _ := otherIssuer.Issue(u.ID, true)
	e.run(t, []scenario{
		{name: "AlgNone", req: signedIn(none), wantStatus: 401, wantType: "unauthorized"},
		{name: "ForeignKey", req: signedIn(foreign), wantStatus: 401, wantType: "unauthorized"},
		{name: "NoToken", req: signedIn(""), wantStatus: 401, wantType: "unauthorized"},
		{name: "Valid", req: signedIn(pair.AccessToken), wantStatus: 200},
	})
	e.clock.Advance(16 * time.Minute)
	e.run(t, []scenario{{name: "Expired", req: signedIn(pair.AccessToken), wantStatus: 401, wantType: "unauthorized"}})
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "rotate@example.org")
	first := authLogin(t, e, u.Email, authPassword, "")
	other := authLogin(t, e, u.Email, authPassword, "") // a second sign-in, e.g. another device

	r := authRefresh(t, e, first.RefreshToken)
	if r.Code != 200 {
		t.Fatalf("refresh: status %d, want 200; body %s", r.Code, r.Body)
	}
	var second authPair
	r.decode(t, &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatalf("refresh returned %+v, want a new pair", second)
	}
	if claims := authClaims(t, second.AccessToken); claims["sub"] != u.ID {
		t.Errorf("refreshed sub = %v, want %s", claims["sub"], u.ID)
	}
	e.run(t, []scenario{
		{name: "ReuseOfSpentToken", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": first.RefreshToken}}, wantStatus: 401, wantType: "refresh-token-reused"},
		// Reuse revoked the whole family: the pair issued by the rotation is dead too.
		{name: "SecondPairRevoked", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": second.RefreshToken}}, wantStatus: 401, wantType: "refresh-token-reused"},
		{name: "OtherSignInUnaffected", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": other.RefreshToken}}, wantStatus: 200},
		{name: "Unknown", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": "bm90LWEtdG9rZW4"}}, wantStatus: 401, wantType: "unauthorized"},
		{name: "Empty", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": ""}}, wantStatus: 422, wantType: "validation"},
	})

	t.Run("ExpiresAfter30Days", func(t *testing.T) {
		p := authLogin(t, e, u.Email, authPassword, "")
		e.clock.Advance(30*24*time.Hour + time.Second)
		e.run(t, []scenario{{name: "Expired", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": p.RefreshToken}}, wantStatus: 401, wantType: "unauthorized"}})
	})
}

// TestRefreshConcurrent presents one refresh token from many goroutines at once: at most one
// new pair may come out of it.
func TestRefreshConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "race@example.org")
	pair := authLogin(t, e, u.Email, authPassword, "")

	const n = 16
	var wg sync.WaitGroup
	codes := make([]int, n)
	kinds := make([]string, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := authRefresh(t, e, pair.RefreshToken)
			codes[i], kinds[i] = r.Code, r.problemType()
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, c := range codes {
		switch {
		case c == 200:
			ok++
		case c != 401 || kinds[i] != "refresh-token-reused":
			t.Errorf("request %d: status %d type %q, want 200 or 401 refresh-token-reused", i, c, kinds[i])
		}
	}
	if ok != 1 {
		t.Errorf("%d requests got a new pair, want exactly 1", ok)
	}
	var rows, live int
	e.db.Gorm.Raw(`SELECT count(*) FROM refresh_tokens WHERE user_id = ?`, u.ID).Scan(&rows)
	e.db.Gorm.Raw(`SELECT count(*) FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL`, u.ID).Scan(&live)
	if rows != 2 || live != 0 {
		t.Errorf("refresh tokens in the database: %d rows, %d live; want 2 rows (the original and one rotation), none live", rows, live)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "logout@example.org")
	pair := authLogin(t, e, u.Email, authPassword, "")
	rotated := authRefresh(t, e, pair.RefreshToken)
	var next authPair
	rotated.decode(t, &next)
	logout := func(tok string) req {
		return req{method: "POST", path: "/v1/auth/logout", body: map[string]string{"refresh_token": tok}}
	}
	e.run(t, []scenario{
		{name: "Logout", req: logout(next.RefreshToken), wantStatus: 204},
		{name: "RefreshAfterLogout", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": next.RefreshToken}}, wantStatus: 401, wantType: "refresh-token-reused"},
		{name: "AgainIsFine", req: logout(next.RefreshToken), wantStatus: 204},
		{name: "UnknownIsFine", req: logout("bm90LWEtdG9rZW4"), wantStatus: 204},
		{name: "Empty", req: logout(""), wantStatus: 422, wantType: "validation"},
	})
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "reset@example.org")
	old := authLogin(t, e, u.Email, authPassword, "")
	ask := func(email string) req {
		return req{method: "POST", path: "/v1/auth/password-reset", body: map[string]string{"email": email}}
	}
	confirm := func(tok, pw string) req {
		return req{method: "POST", path: "/v1/auth/password-reset/confirm", body: map[string]string{"token": tok, "password": pw}}
	}
	const newPassword = "a brand new passphrase"

	e.run(t, []scenario{
		{name: "UnknownAddressStill202", req: ask("ghost@example.org"), wantStatus: 202},
		{name: "KnownAddressOtherCase", req: ask("RESET@example.org"), wantStatus: 202},
		{name: "BadAddress", req: ask("nope"), wantStatus: 422, wantType: "validation"},
	})
	if n := len(e.mails(t, "ghost@example.org")); n != 0 {
		t.Errorf("%d emails to an unregistered address, want 0", n)
	}
	first := authResetToken(t, e, u.Email)
	e.run(t, []scenario{{name: "AskAgain", req: ask(u.Email), wantStatus: 202}})
	second := authResetToken(t, e, u.Email)
	if first == second {
		t.Fatal("two reset requests sent the same token")
	}

	e.run(t, []scenario{
		{name: "WeakPasswordRefused", req: confirm(second, "password1234"), wantStatus: 422, wantType: "validation"},
		{name: "Confirm", req: confirm(second, newPassword), wantStatus: 204}, // the weak try did not spend it
		{name: "SpentToken", req: confirm(second, newPassword+"!"), wantStatus: 422, wantType: "token-invalid"},
		{name: "OlderLinkRevoked", req: confirm(first, newPassword+"?"), wantStatus: 422, wantType: "token-invalid"},
		{name: "OldSessionsRevoked", req: req{method: "POST", path: "/v1/auth/refresh", body: map[string]string{"refresh_token": old.RefreshToken}}, wantStatus: 401, wantType: "refresh-token-reused"},
		{name: "OldPasswordRefused", req: req{method: "POST", path: "/v1/auth/login", body: map[string]string{"email": u.Email, "password": authPassword}}, wantStatus: 401, wantType: "invalid-credentials"},
	})
	authLogin(t, e, u.Email, newPassword, "")

	t.Run("ExpiresAfterAnHour", func(t *testing.T) {
		e.do(t, ask(u.Email))
		tok := authResetToken(t, e, u.Email)
		e.clock.Advance(time.Hour + time.Second)
		e.run(t, []scenario{{name: "Expired", req: confirm(tok, "yet another passphrase"), wantStatus: 422, wantType: "token-invalid"}})
	})
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withTrustedProxy)
	u := authRegister(t, e, "throttle@example.org")
	attempt := func(email, pw, addr string) *resp {
		return e.do(t, req{method: "POST", path: "/v1/auth/login", headers: fromAddr(addr),
			body: map[string]string{"email": email, "password": pw}})
	}
	wantStatus := func(r *resp, status int, kind string) {
		t.Helper()
		if r.Code != status || kind != "" && r.problemType() != kind {
			t.Fatalf("status %d type %q, want %d %q; body %s", r.Code, r.problemType(), status, kind, r.Body)
		}
	}

	t.Run("PairBlockedUntilWindowEnds", func(t *testing.T) {
		for range 5 {
			wantStatus(attempt(u.Email, "wrong password!", "198.51.100.1"), 401, "invalid-credentials")
		}
		r := attempt(u.Email, authPassword, "198.51.100.1") // even the right password waits
		wantStatus(r, 429, "too-many-requests")
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 900 {
			t.Fatalf("Retry-After = %q, want 1..900 seconds", r.Header.Get("Retry-After"))
		}
		// The pair counter does not block the same account from another address.
		wantStatus(attempt(u.Email, authPassword, "198.51.100.2"), 200, "")
		e.clock.Advance(time.Duration(secs) * time.Second)
		wantStatus(attempt(u.Email, authPassword, "198.51.100.1"), 200, "")
	})

	t.Run("SuccessClearsThePair", func(t *testing.T) {
		for range 4 {
			wantStatus(attempt(u.Email, "wrong password!", "198.51.100.3"), 401, "invalid-credentials")
		}
		wantStatus(attempt(u.Email, authPassword, "198.51.100.3"), 200, "")
		for range 4 {
			wantStatus(attempt(u.Email, "wrong password!", "198.51.100.3"), 401, "invalid-credentials")
		}
		wantStatus(attempt(u.Email, authPassword, "198.51.100.3"), 200, "")
	})

	t.Run("AddressAcrossAccounts", func(t *testing.T) {
		// 49 earlier failures from this address at other accounts, then one more.
		for i := range 49 {
			att := models.LoginAttempt{Account: models.LoginAccount(nil, strconv.Itoa(i)+"@example.org"), Addr: "198.51.100.4"}
			if err := models.RecordLoginFailure(t.Context(), e.db.Gorm, att, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		wantStatus(attempt("someone@example.org", "wrong password!", "198.51.100.4"), 401, "invalid-credentials")
		r := attempt(u.Email, authPassword, "198.51.100.4")
		wantStatus(r, 429, "too-many-requests")
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		wantStatus(attempt(u.Email, authPassword, "198.51.100.5"), 200, "")
	})

	t.Run("BusyAccountIsSlowedNotLocked", func(t *testing.T) {
		v := authRegister(t, e, "target@example.org")
		acct := models.LoginAccount(&models.User{ID: uuid.MustParse(v.ID)}, v.Email)
		for i := range 19 {
			att := models.LoginAttempt{Account: acct, Addr: "203.0.113." + strconv.Itoa(i+1)}
			if err := models.RecordLoginFailure(t.Context(), e.db.Gorm, att, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		wantStatus(attempt(v.Email, "wrong password!", "203.0.113.100"), 401, "invalid-credentials")
		// The 20th failure: the owner, from a fresh address, must wait 2 seconds, no more.
		r := attempt(v.Email, authPassword, "198.51.100.6")
		wantStatus(r, 429, "too-many-requests")
		if got := r.Header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After = %q, want 2", got)
		}
		e.clock.Advance(2 * time.Second)
		wantStatus(attempt(v.Email, authPassword, "198.51.100.6"), 200, "")
	})
}
