package mail

import "regexp"

// linkToken matches the secret part of the links emails carry: the token query parameter
// (/verify-email?token=…, /reset-password?token=…, /renew?token=…, /unsubscribe?token=…) and
// the last segment of /invitations/{token}. "[redacted]" does not match, so redacting twice is
// harmless.
var linkToken = regexp.MustCompile(`(token=|/invitations/)[A-Za-z0-9_.~%+-]+`)

// RedactLinks replaces the token of every email link in s with "[redacted]". Redact removes
// the secrets a sender names; RedactLinks is the safety net for showing stored messages, so
// that a token a sender forgot to name still never reaches an admin's screen.
func RedactLinks(s string) string {
	return linkToken.ReplaceAllString(s, "${1}[redacted]")
}
