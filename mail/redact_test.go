package mail_test

import (
	"testing"

	"github.com/aalscert/aalscert/mail"
)

func TestRedactLinks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"open https://app.example/verify-email?token=AbC_12-x.~ now", "open https://app.example/verify-email?token=[redacted] now"},
		{`<a href="https://app.example/reset-password?token=q%2Bz">`, `<a href="https://app.example/reset-password?token=[redacted]">`},
		{"https://app.example/renew?cred=1&amp;token=zz9", "https://app.example/renew?cred=1&amp;token=[redacted]"},
		{"https://app.example/invitations/inv_77Q\nthanks", "https://app.example/invitations/[redacted]\nthanks"},
		{"already https://app.example/unsubscribe?token=[redacted]", "already https://app.example/unsubscribe?token=[redacted]"},
		{"no links here; token rotation is fine", "no links here; token rotation is fine"},
	} {
		if got := mail.RedactLinks(tc.in); got != tc.want {
			t.Errorf("RedactLinks(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
