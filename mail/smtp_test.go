package mail_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/mail/mailtest"
)

const from = "aalscert <no-reply@aalscert.example>"

// parsed is a received message taken apart the way a mail client would.
type parsed struct {
	header netmail.Header
	parts  map[string]string // media type → decoded body, CRLF as LF
	types  []string          // media types in order
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	p := parsed{header: msg.Header, parts: map[string]string{}}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %s, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type: %v", err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		p.types = append(p.types, pt)
		p.parts[pt] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	return p
}

func decodeHeader(t *testing.T, h netmail.Header, name string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(h.Get(name))
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return s
}

func newSender(t *testing.T, srv *mailtest.Server) *mail.SMTPSender {
	t.Helper()
	cfg, err := mail.ParseSMTPURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = srv.ClientTLS
	cfg.Timeout = 10 * time.Second
	s, err := mail.NewSMTPSenderFromConfig(cfg, from)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSMTPSenderDeliversTextAndHTML(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{})
	s, err := mail.NewSMTPSender(srv.URL(), from)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.Render("verify_email", map[string]any{
		"Name": "Zoë Ortiz", "Email": "zoe@hospital.example",
		"Link": "https://app.example/verify-email?token=live-token-123", "ExpiresIn": "24 hours",
	})
	if err != nil {
		t.Fatal(err)
	}
	m.To = "zoe@hospital.example"
	m.Subject = "Confirm your address — Zoë"
	m.Headers = map[string]string{
		"List-Unsubscribe":      "<https://app.example/unsubscribe?token=u1>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
	before := time.Now().Add(-time.Second)
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Wait(t, 1, 10*time.Second)[0]

	if got.From != "no-reply@aalscert.example" {
		t.Errorf("envelope from = %q, want no-reply@aalscert.example", got.From)
	}
	if len(got.To) != 1 || got.To[0] != m.To {
		t.Errorf("envelope to = %q, want [%s]", got.To, m.To)
	}
	p := parse(t, got.Data)
	if f, err := p.header.AddressList("From"); err != nil || len(f) != 1 || f[0].Address != "no-reply@aalscert.example" || f[0].Name != "aalscert" {
		t.Errorf("From = %q (%v), want aalscert <no-reply@aalscert.example>", p.header.Get("From"), err)
	}
	if to, err := p.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != m.To {
		t.Errorf("To = %q (%v), want %s", p.header.Get("To"), err, m.To)
	}
	if got := decodeHeader(t, p.header, "Subject"); got != m.Subject {
		t.Errorf("Subject = %q, want %q", got, m.Subject)
	}
	if d, err := p.header.Date(); err != nil || d.Before(before) || d.After(time.Now().Add(time.Second)) {
		t.Errorf("Date = %q (%v), want now", p.header.Get("Date"), err)
	}
	if id := p.header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@aalscert.example>") {
		t.Errorf("Message-ID = %q, want <…@aalscert.example>", id)
	}
	if got := p.header.Get("List-Unsubscribe"); got != m.Headers["List-Unsubscribe"] {
		t.Errorf("List-Unsubscribe = %q, want %q", got, m.Headers["List-Unsubscribe"])
	}
	if got := p.header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q, want List-Unsubscribe=One-Click", got)
	}
	// multipart/alternative lists the preferred (richest) part last.
	if fmt.Sprint(p.types) != "[text/plain text/html]" {
		t.Fatalf("parts = %v, want [text/plain text/html]", p.types)
	}
	if got, want := strings.TrimSpace(p.parts["text/plain"]), strings.TrimSpace(m.Text); got != want {
		t.Errorf("text part = %q, want %q", got, want)
	}
	if got, want := strings.TrimSpace(p.parts["text/html"]), strings.TrimSpace(m.HTML); got != want {
		t.Errorf("html part = %q, want %q", got, want)
	}
	if !strings.Contains(p.parts["text/plain"], "live-token-123") || !strings.Contains(p.parts["text/plain"], "Zoë") {
		t.Errorf("text part lacks the link or the name:\n%s", p.parts["text/plain"])
	}
	if got.TLS {
		t.Errorf("session used TLS, but the server offers none")
	}
}

func TestSMTPSenderUsesSTARTTLSWhenOffered(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{STARTTLS: true})
	if err := newSender(t, srv).Send(t.Context(), mail.Message{To: "a@example.org", Subject: "s", Text: "t", HTML: "<p>t</p>"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.Wait(t, 1, 10*time.Second)[0]; !got.TLS {
		t.Fatalf("session was not encrypted, want STARTTLS")
	}
}

func TestSMTPSenderRefusesUntrustedSTARTTLSCertificate(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{STARTTLS: true})
	// System roots only: the test server's certificate is self-signed.
	s, err := mail.NewSMTPSender(srv.URL(), from)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), mail.Message{To: "a@example.org", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("Send succeeded with an untrusted certificate, want an error")
	}
	if n := len(srv.Received()); n != 0 {
		t.Fatalf("server received %d messages, want 0 (no fallback to plain text)", n)
	}
}

func TestSMTPSenderImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{ImplicitTLS: true})
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL = %s, want smtps://", srv.URL())
	}
	if err := newSender(t, srv).Send(t.Context(), mail.Message{To: "a@example.org", Subject: "s", Text: "t"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.Wait(t, 1, 10*time.Second)[0]; !got.TLS {
		t.Fatalf("session was not encrypted, want implicit TLS")
	}
}

func TestSMTPSenderAuthPlain(t *testing.T) {
	t.Parallel()
	const user, pass = "mailer@aalscert.example", "s3cret:p@ss/word"
	srv := mailtest.NewServer(t, mailtest.Options{Username: user, Password: pass})
	msg := mail.Message{To: "a@example.org", Subject: "s", Text: "t"}

	t.Run("CredentialsFromURL", func(t *testing.T) {
		// The URL percent-encodes the user's "@" and the password's ":", "@" and "/".
		if !strings.Contains(srv.URL(), "mailer%40aalscert.example:s3cret%3Ap%40ss%2Fword@") {
			t.Fatalf("URL = %s, want percent-encoded credentials", srv.URL())
		}
		s, err := mail.NewSMTPSender(srv.URL(), from)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(t.Context(), msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := srv.Wait(t, 1, 10*time.Second)[0]; got.AuthUser != user {
			t.Fatalf("authenticated as %q, want %q", got.AuthUser, user)
		}
	})
	t.Run("WrongPasswordFailsWithoutEchoingIt", func(t *testing.T) {
		url := strings.Replace(srv.URL(), "s3cret%3Ap%40ss%2Fword", "wrong-Pa55", 1)
		s, err := mail.NewSMTPSender(url, from)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(t.Context(), msg)
		if err == nil {
			t.Fatal("Send succeeded with a wrong password")
		}
		if strings.Contains(err.Error(), "wrong-Pa55") {
			t.Fatalf("error repeats the password: %v", err)
		}
	})
	t.Run("NoCredentialsIsRefused", func(t *testing.T) {
		s, err := mail.NewSMTPSender(fmt.Sprintf("smtp://%s:%d", srv.Host, srv.Port), from)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(t.Context(), msg); err == nil {
			t.Fatal("Send succeeded without AUTH on a server that requires it")
		}
	})
	if n := len(srv.Received()); n != 1 {
		t.Fatalf("server received %d messages, want 1", n)
	}
}

func TestSMTPSenderRecipientRejected(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{RejectRecipients: []string{"gone@example.org"}})
	s := newSender(t, srv)
	err := s.Send(t.Context(), mail.Message{To: "gone@example.org", Subject: "s", Text: "t"})
	if !errors.Is(err, mail.ErrRecipientRejected) {
		t.Fatalf("err = %v, want ErrRecipientRejected", err)
	}
}

func TestSMTPSenderRefusesBadHeaders(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := newSender(t, srv)
	for name, h := range map[string]map[string]string{
		"LineBreakInValue": {"List-Unsubscribe": "<https://x.example>\r\nBcc: victim@example.org"},
		"ColonInName":      {"X-Bad:Name": "v"},
		"OverridesFrom":    {"From": "someone@else.example"},
		"OverridesBcc":     {"bcc": "victim@example.org"},
	} {
		err := s.Send(t.Context(), mail.Message{To: "a@example.org", Subject: "s", Text: "t", Headers: h})
		if err == nil {
			t.Errorf("%s: Send succeeded, want an error", name)
		}
	}
	if err := s.Send(t.Context(), mail.Message{To: "not an address", Subject: "s", Text: "t"}); err == nil {
		t.Errorf("Send to an invalid address succeeded, want an error")
	}
	if n := len(srv.Received()); n != 0 {
		t.Fatalf("server received %d messages, want 0", n)
	}
}

func TestNewSMTPSenderChecksFrom(t *testing.T) {
	t.Parallel()
	if _, err := mail.NewSMTPSender("smtp://127.0.0.1:2525", "not an address"); err == nil {
		t.Fatal("NewSMTPSender accepted an invalid sender address")
	}
	if _, err := mail.NewSMTPSender("smtp://user:hunter2@[", from); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want an error that does not repeat the password", err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	ok := []struct {
		raw  string
		want mail.SMTPConfig
	}{
		{"smtp://127.0.0.1:2525", mail.SMTPConfig{Host: "127.0.0.1", Port: 2525}},
		{"smtp://mail.example.org", mail.SMTPConfig{Host: "mail.example.org", Port: 587}},
		{"smtp://user:pass@mail.example.org:587", mail.SMTPConfig{Host: "mail.example.org", Port: 587, Username: "user", Password: "pass"}},
		{"smtp://apikey:p%40ss%3Aw%2Fd@smtp.example.net:2587/", mail.SMTPConfig{Host: "smtp.example.net", Port: 2587, Username: "apikey", Password: "p@ss:w/d"}},
		{"smtps://user:pass@mail.example.org", mail.SMTPConfig{Host: "mail.example.org", Port: 465, Username: "user", Password: "pass", ImplicitTLS: true}},
		{"smtps://[::1]:1465", mail.SMTPConfig{Host: "::1", Port: 1465, ImplicitTLS: true}},
	}
	for _, tc := range ok {
		got, err := mail.ParseSMTPURL(tc.raw)
		if err != nil {
			t.Errorf("ParseSMTPURL(%q): %v", tc.raw, err)
			continue
		}
		if got.Host != tc.want.Host || got.Port != tc.want.Port || got.Username != tc.want.Username ||
			got.Password != tc.want.Password || got.ImplicitTLS != tc.want.ImplicitTLS {
			t.Errorf("ParseSMTPURL(%q) = %+v, want %+v", tc.raw, got, tc.want)
		}
	}

	bad := []string{
		"",
		"   ",
		"mail.example.org:587",               // no scheme
		"http://mail.example.org",            // wrong scheme
		"smtp://",                            // no host
		"smtp:mail.example.org",              // opaque
		"smtp://mail.example.org:0",          // port out of range
		"smtp://mail.example.org:70000",      // port out of range
		"smtp://mail.example.org:x",          // not a port
		"smtp://mail.example.org/relay",      // path
		"smtp://mail.example.org?tls=on",     // query
		"smtp://user@mail.example.org",       // user without password
		"smtp://:sekret-pw@mail.example.org", // password without user
		"smtp://user:sekret-pw@mail.example.org:bad",
		"smtp://user:sekret%zz-pw@mail.example.org", // bad escape
	}
	for _, raw := range bad {
		_, err := mail.ParseSMTPURL(raw)
		if err == nil {
			t.Errorf("ParseSMTPURL(%q) succeeded, want an error", raw)
			continue
		}
		if strings.Contains(err.Error(), "sekret") {
			t.Errorf("ParseSMTPURL(%q) error repeats the password: %v", raw, err)
		}
	}
}

func TestSMTPConfigNeverPrintsPassword(t *testing.T) {
	t.Parallel()
	cfg, err := mail.ParseSMTPURL("smtps://user:hunter2@mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("printed config contains the password: %s", s)
		}
	}
	if got, want := cfg.String(), "smtps://user@mail.example.org:465"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestTerminalSender(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s := mail.NewTerminalSender(&out)
	m := mail.Message{
		To: "dev@example.org", Subject: "Reset your aalscert password",
		Text: "Open https://app.example/reset-password?token=abc\n", HTML: "<p>html only</p>",
		Headers: map[string]string{"List-Unsubscribe": "<https://app.example/unsubscribe?token=u>"},
	}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"To:      dev@example.org", "Subject: Reset your aalscert password",
		"List-Unsubscribe: <https://app.example/unsubscribe?token=u>", "reset-password?token=abc", "end of email"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "html only") {
		t.Errorf("output shows the HTML version, want text only:\n%s", got)
	}
	if mail.Delivers(s) {
		t.Error("Delivers(terminal) = true, want false")
	}
	if mail.Delivers(nil) {
		t.Error("Delivers(nil) = true, want false")
	}
	smtp, err := mail.NewSMTPSender("smtp://127.0.0.1:2525", from)
	if err != nil {
		t.Fatal(err)
	}
	if !mail.Delivers(smtp) {
		t.Error("Delivers(SMTP) = false, want true")
	}
}
