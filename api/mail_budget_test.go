package api_test

import (
	"testing"
	"time"
)

// TestVerificationAndResetEmailsAreCapped proves one account cannot be made to receive more
// than five verification or reset emails an hour through these routes.
func TestVerificationAndResetEmailsAreCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := authRegister(t, e, "flood@example.org") // the registration sends verification email 1
	pair := authLogin(t, e, u.Email, authPassword, "")
	resend := req{method: "POST", path: "/v1/auth/verify-email/resend", token: pair.AccessToken}
	for i := 2; i <= 5; i++ {
		if r := e.do(t, resend); r.Code != 202 {
			t.Fatalf("resend %d = %d, want 202", i, r.Code)
		}
	}
	e.run(t, []scenario{{name: "SixthResend", req: resend, wantStatus: 429, wantType: "too-many-requests"}})
	if r := e.do(t, resend); r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	reset := req{method: "POST", path: "/v1/auth/password-reset", body: map[string]string{"email": u.Email}}
	for i := 0; i < 8; i++ {
		if r := e.do(t, reset); r.Code != 202 {
			t.Fatalf("reset request %d = %d, want 202 always", i, r.Code)
		}
	}
	count := func(subject string) int {
		n := 0
		for _, m := range e.mails(t, u.Email) {
			if m.Subject == subject {
				n++
			}
		}
		return n
	}
	if got := count("Confirm your email address for aalscert"); got != 5 {
		t.Errorf("verification emails = %d, want 5", got)
	}
	if got := count("Reset your aalscert password"); got != 5 {
		t.Errorf("reset emails = %d, want 5", got)
	}
	// An hour later the budget is back.
	e.clock.Advance(61 * time.Minute)
	e.do(t, reset)
	if got := count("Reset your aalscert password"); got != 6 {
		t.Errorf("reset emails after an hour = %d, want 6", got)
	}
}
