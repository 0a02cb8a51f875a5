package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	netmail "net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Default ports when SMTP_URL names none: message submission (RFC 6409) for smtp://, and
// submission over implicit TLS (RFC 8314) for smtps://.
const (
	defaultSMTPPort  = 587
	defaultSMTPSPort = 465
	defaultTimeout   = 30 * time.Second
)

// SMTPConfig is where and how to submit mail. Password never appears in String, GoString or
// LogValue, so a config can be printed or logged.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no AUTH
	Password string
	// ImplicitTLS connects with TLS from the first byte (smtps://). Otherwise STARTTLS is used
	// when the server offers it; credentials are then only ever sent over TLS, or to a server
	// on the loopback interface (a local catcher).
	ImplicitTLS bool
	// TLSConfig overrides the TLS settings, e.g. to trust a private CA. Nil: system roots.
	TLSConfig *tls.Config
	// Timeout bounds each connection (dial and every SMTP command). Zero: 30 seconds.
	Timeout time.Duration
}

// ParseSMTPURL reads SMTP_URL: smtp://[user:pass@]host[:port] (STARTTLS when offered, port
// 587 by default) or smtps://[user:pass@]host[:port] (implicit TLS, port 465 by default).
// User name and password are percent-decoded. Errors describe the problem without repeating
// the URL, which may hold a password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	var c SMTPConfig
	if strings.TrimSpace(raw) == "" {
		return c, errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the input, password included: say only what kind of problem it is.
		return c, errors.New("is not a valid URL (percent-encode special characters in the user name and password)")
	}
	switch u.Scheme {
	case "smtp":
		c.Port = defaultSMTPPort
	case "smtps":
		c.Port, c.ImplicitTLS = defaultSMTPSPort, true
	case "":
		return c, errors.New("needs a scheme: smtp:// or smtps://")
	default:
		return c, fmt.Errorf("has scheme %q; want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return c, errors.New("has no host; want smtp://[user:pass@]host[:port]")
	}
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, errors.New("has an invalid port; want 1-65535")
		}
		c.Port = n
	}
	if u.Path != "" && u.Path != "/" {
		return c, errors.New("must not have a path")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return c, errors.New("must not have a query or fragment")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			return c, errors.New("has a password but no user name")
		}
		if c.Password == "" {
			return c, errors.New("has a user name but no password; write smtp://user:pass@host")
		}
	}
	return c, nil
}

// String returns the config as a URL without the password.
func (c SMTPConfig) String() string {
	u := url.URL{Scheme: "smtp", Host: hostPort(c.Host, c.Port)}
	if c.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	return u.String()
}

// GoString is String, so that %#v does not print the password either.
func (c SMTPConfig) GoString() string { return c.String() }

// LogValue logs the config without the password.
func (c SMTPConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// SMTPSender submits messages to one SMTP server, one connection per message. It is safe
// for concurrent use.
type SMTPSender struct {
	cfg  SMTPConfig
	from *netmail.Address
	now  func() time.Time
}

// NewSMTPSender returns a sender for SMTP_URL rawURL that sends as from (MAIL_FROM, e.g.
// "aalscert <no-reply@example.org>").
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	cfg, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL %w", err)
	}
	return NewSMTPSenderFromConfig(cfg, from)
}

// NewSMTPSenderFromConfig returns a sender for cfg that sends as from.
func NewSMTPSenderFromConfig(cfg SMTPConfig, from string) (*SMTPSender, error) {
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("sender address %q: %w", from, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	s := &SMTPSender{cfg: cfg, from: addr, now: time.Now}
	// Build one client now so that a bad setting fails at start, not at the first email.
	if _, err := s.client(); err != nil {
		return nil, err
	}
	return s, nil
}

// String describes the sender without credentials.
func (s *SMTPSender) String() string { return "SMTP " + s.cfg.String() }

// client returns a new go-mail client. A fresh client per message keeps concurrent sends
// apart: go-mail's client keeps per-connection state.
func (s *SMTPSender) client() (*gomail.Client, error) {
	tc := &tls.Config{}
	if s.cfg.TLSConfig != nil {
		tc = s.cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = s.cfg.Host
	}
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(tc),
	}
	if s.cfg.ImplicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.cfg.Username != "" {
		// PLAIN and LOGIN are what submission servers offer; go-mail refuses both over a
		// connection that is neither TLS nor loopback, so a stripped STARTTLS cannot leak the
		// password. Anything else offered is discovered (CRAM-MD5, SCRAM).
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP client for %s: %w", s.cfg, err)
	}
	return c, nil
}

// Send delivers m to its recipient. A recipient the server refuses for good is reported as
// ErrRecipientRejected, which retrying will not fix.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if msg.IsDelivered() {
		// The server took the message; a later error (RSET, QUIT) must not cause a resend.
		return nil
	}
	if err != nil {
		return s.sendError(err)
	}
	return nil
}

// ErrRecipientRejected reports that the server refused the recipient permanently (5xx).
var ErrRecipientRejected = errors.New("recipient rejected by the mail server")

// sendError classifies err and makes sure the password never appears in it, whatever a
// server echoes back.
func (s *SMTPSender) sendError(err error) error {
	var se *gomail.SendError
	permanent := errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp() && se.ErrorCode() >= 500
	text := err.Error()
	if s.cfg.Password != "" {
		text = strings.ReplaceAll(text, s.cfg.Password, "[redacted]")
	}
	text = fmt.Sprintf("send via %s: %s", s.cfg, text)
	if permanent {
		return fmt.Errorf("%s: %w", text, ErrRecipientRejected)
	}
	return errors.New(text)
}

// reservedHeaders are set by the sender itself; Message.Headers may not override them.
var reservedHeaders = []string{
	"bcc", "cc", "content-transfer-encoding", "content-type", "date", "from", "message-id",
	"mime-version", "sender", "subject", "to",
}

// build turns m into a multipart/alternative message (text, then HTML) with Date,
// Message-ID and m's extra headers.
func (s *SMTPSender) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(s.now())
	msg.SetMessageIDWithValue(messageID(s.from.Address))
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m.Headers[k]
		if err := checkHeader(k, v); err != nil {
			return nil, err
		}
		if strings.EqualFold(k, "Reply-To") {
			if err := msg.ReplyTo(v); err != nil {
				return nil, fmt.Errorf("header Reply-To: %w", err)
			}
			continue
		}
		msg.SetGenHeader(gomail.Header(k), v)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		if err := attach(msg, a); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// attach adds a to msg, which then becomes multipart/mixed: the text and HTML alternatives
// first, then the files.
func attach(msg *gomail.Msg, a Attachment) error {
	if a.Filename == "" || strings.ContainsAny(a.Filename, "\r\n\"/\\") {
		return fmt.Errorf("attachment name %q is empty or has a line break, quote or slash", a.Filename)
	}
	ct, _, err := mime.ParseMediaType(a.ContentType)
	if err != nil {
		return fmt.Errorf("attachment %s: content type %q: %w", a.Filename, a.ContentType, err)
	}
	msg.AttachReadSeeker(a.Filename, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct)))
	return nil
}

// checkHeader rejects header names that are not RFC 5322 field names or that the sender sets
// itself, and values that could start a new header line.
func checkHeader(name, value string) error {
	if name == "" {
		return errors.New("header with an empty name")
	}
	for _, r := range name {
		if r < 33 || r > 126 || r == ':' {
			return fmt.Errorf("header name %q is not a valid field name", name)
		}
	}
	if slices.Contains(reservedHeaders, strings.ToLower(name)) {
		return fmt.Errorf("header %s is set by the sender", name)
	}
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("header %s has a line break", name)
	}
	return nil
}

// messageID returns a unique Message-ID in the sender's domain, which (unlike a container's
// host name) is one the sender controls.
func messageID(from string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b) + "@" + domain
}
