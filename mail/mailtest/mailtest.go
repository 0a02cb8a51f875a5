// Package mailtest runs an in-process SMTP server for tests: it accepts mail on loopback,
// keeps every message it receives, and can require AUTH, offer STARTTLS, speak implicit TLS
// or refuse recipients. Only tests import it.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the server accepted.
type Received struct {
	From     string   // envelope sender (MAIL FROM)
	To       []string // envelope recipients (RCPT TO)
	Data     []byte   // the message as transmitted (headers and body)
	TLS      bool     // the session was encrypted (implicit TLS or STARTTLS)
	AuthUser string   // the user that authenticated, or ""
}

// Options configure a Server.
type Options struct {
	// Username and Password, when set, make the server offer AUTH PLAIN (also without TLS)
	// and refuse mail from sessions that did not authenticate with them.
	Username, Password string
	// STARTTLS makes the server offer STARTTLS with a self-signed certificate for 127.0.0.1.
	STARTTLS bool
	// ImplicitTLS makes the server speak TLS from the first byte (smtps).
	ImplicitTLS bool
	// RejectRecipients are addresses refused with 550 at RCPT TO.
	RejectRecipients []string
}

// Server is a running test SMTP server.
type Server struct {
	Host string
	Port int
	// ClientTLS trusts the server's certificate; pass it as mail.SMTPConfig.TLSConfig.
	ClientTLS *tls.Config

	opts     Options
	mu       sync.Mutex
	received []Received
	arrived  chan struct{} // one value per accepted message
}

// NewServer starts a server on 127.0.0.1 and stops it when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, arrived: make(chan struct{}, 1024)}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "mailtest.localhost"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	if opts.STARTTLS || opts.ImplicitTLS {
		serverTLS, clientTLS := selfSigned(t)
		srv.TLSConfig, s.ClientTLS = serverTLS, clientTLS
		if opts.ImplicitTLS {
			l = tls.NewListener(l, serverTLS)
		}
	}
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = "127.0.0.1", addr.Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// Serve may not have registered l yet when Close runs; closing it here ends Serve.
		_ = l.Close()
		<-done
	})
	return s
}

// URL returns an SMTP_URL for the server, with credentials if it requires them.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port))}
	if s.opts.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// Received returns every message accepted so far, oldest first.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Wait waits until the server has accepted n messages in all and returns them, failing the
// test after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if got := s.Received(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline.C:
			t.Fatalf("mailtest: got %d messages after %v, want %d", len(s.Received()), timeout, n)
		}
	}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{srv: s, conn: c, tls: isTLS}, nil
}

// session is one SMTP conversation.
type session struct {
	srv  *Server
	conn *smtp.Conn
	tls  bool
	user string
	cur  Received
}

var _ smtp.AuthSession = (*session)(nil)

func (x *session) AuthMechanisms() []string {
	if x.srv.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || x.srv.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != x.srv.opts.Username || password != x.srv.opts.Password {
			return smtp.ErrAuthFailed
		}
		x.user = username
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.srv.opts.Username != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.cur = Received{From: from}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	for _, r := range x.srv.opts.RejectRecipients {
		if r == to {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		}
	}
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := x.conn.TLSConnectionState()
	x.cur.Data, x.cur.TLS, x.cur.AuthUser = b, x.tls || isTLS, x.user
	x.srv.mu.Lock()
	x.srv.received = append(x.srv.received, x.cur)
	x.srv.mu.Unlock()
	select {
	case x.srv.arrived <- struct{}{}:
	default:
	}
	x.cur = Received{}
	return nil
}

func (x *session) Reset()        { x.cur = Received{} }
func (x *session) Logout() error { return nil }

// selfSigned returns a server TLS config with a fresh certificate for 127.0.0.1 and a client
// config that trusts it.
func selfSigned(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mailtest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}
