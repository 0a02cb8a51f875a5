package mail_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aalscert/aalscert/mail"
)

// FuzzParseSMTPURL checks that no SMTP_URL, however malformed, panics the parser, and that a
// password never shows up in an error or in the printed configuration.
func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []string{
		"smtp://user:pass@mail.example.org:587", "smtps://u:p@h", "smtp://127.0.0.1:2525",
		"smtp://u:p%40ss@h:25", "http://h", "smtp://:@h", "smtp://h:99999", "", "smtp://u:p@h/path?x=1",
	} {
		f.Add(s, "correct horse")
	}
	const frame = "smtp://user:@mail.example.org:587"
	f.Fuzz(func(t *testing.T, raw, pw string) {
		_, _ = mail.ParseSMTPURL(raw) // must not panic
		if len(pw) < 8 || strings.Contains(frame, pw) {
			return
		}
		for _, in := range []string{
			"smtp://user:" + url.PathEscape(pw) + "@mail.example.org:587",
			"smtps://user:" + url.PathEscape(pw) + "@mail.example.org:bad",
			"smtp://user:" + url.PathEscape(pw) + "@mail.example.org:587/x?y",
		} {
			cfg, err := mail.ParseSMTPURL(in)
			if err != nil {
				if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), url.PathEscape(pw)) {
					t.Fatalf("error leaks the password: %v", err)
				}
				continue
			}
			if s := cfg.String(); strings.Contains(s, pw) || strings.Contains(s, url.PathEscape(pw)) {
				t.Fatalf("String() leaks the password: %s", s)
			}
		}
	})
}
