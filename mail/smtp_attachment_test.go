package mail_test

import (
	"bytes"
	"encoding/base64"
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

// mimePart is one part of a received multipart message, its body decoded.
type mimePart struct {
	mediaType   string
	disposition string
	filename    string
	body        []byte
}

// walkParts flattens a MIME entity into its leaf parts, decoding base64 and
// quoted-printable bodies the way a mail client does.
func walkParts(t *testing.T, header map[string][]string, body io.Reader) []mimePart {
	t.Helper()
	get := func(k string) string {
		if v := header[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mt, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []mimePart
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatalf("next part: %v", err)
			}
			out = append(out, walkParts(t, p.Header, p)...)
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.EqualFold(get("Content-Transfer-Encoding"), "base64") {
		if b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
			t.Fatalf("base64 part: %v", err)
		}
	}
	p := mimePart{mediaType: mt, body: b}
	if d, dp, err := mime.ParseMediaType(get("Content-Disposition")); err == nil {
		p.disposition, p.filename = d, dp["filename"]
	}
	return []mimePart{p}
}

func TestSMTPSenderDeliversAttachments(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{})
	pdf := append([]byte("%PDF-1.3\n"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 300)...)
	m := mail.Message{
		To: "buyer@hospital.example", Subject: "Invoice INV-2026-001001", Text: "Your invoice is attached.", HTML: "<p>Your invoice is attached.</p>",
		Attachments: []mail.Attachment{{Filename: "INV-2026-001001.pdf", ContentType: "application/pdf", Data: pdf}},
	}
	if err := newSender(t, srv).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Wait(t, 1, 10*time.Second)[0]
	msg, err := netmail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	if mt, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); mt != "multipart/mixed" {
		t.Fatalf("Content-Type = %s, want multipart/mixed", mt)
	}
	parts := walkParts(t, msg.Header, msg.Body)
	var types []string
	for _, p := range parts {
		types = append(types, p.mediaType)
	}
	if strings.Join(types, " ") != "text/plain text/html application/pdf" {
		t.Fatalf("parts = %v, want text/plain text/html application/pdf", types)
	}
	if got := strings.TrimSpace(string(parts[0].body)); got != m.Text {
		t.Errorf("text part = %q, want %q", got, m.Text)
	}
	file := parts[2]
	if file.disposition != "attachment" || file.filename != "INV-2026-001001.pdf" {
		t.Errorf("attachment disposition %q filename %q, want attachment INV-2026-001001.pdf", file.disposition, file.filename)
	}
	if !bytes.Equal(file.body, pdf) {
		t.Errorf("attachment arrived as %d bytes that differ from the %d sent", len(file.body), len(pdf))
	}
}

func TestSMTPSenderRefusesBadAttachments(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := newSender(t, srv)
	for name, a := range map[string]mail.Attachment{
		"NoName":         {ContentType: "application/pdf", Data: []byte("x")},
		"LineBreakName":  {Filename: "a.pdf\r\nBcc: victim@example.org", ContentType: "application/pdf"},
		"PathInName":     {Filename: "../a.pdf", ContentType: "application/pdf"},
		"BadContentType": {Filename: "a.pdf", ContentType: "not a type;;"},
	} {
		err := s.Send(t.Context(), mail.Message{To: "a@example.org", Subject: "s", Text: "t", Attachments: []mail.Attachment{a}})
		if err == nil {
			t.Errorf("%s: Send succeeded, want an error", name)
		}
	}
	if n := len(srv.Received()); n != 0 {
		t.Fatalf("server received %d messages, want 0", n)
	}
}
