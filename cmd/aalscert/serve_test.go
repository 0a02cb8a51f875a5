package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

func prodConfig(t *testing.T, dbURL string) *Config {
	t.Helper()
	cfg, err := loadConfig(map[string]string{
		"AALS_ENV": "production", "AALS_PUBLIC_URL": "https://certs.example.org",
		"AALS_MASTER_KEY": masterkey.Generate(), "SMTP_URL": "smtp://127.0.0.1:1",
		"DATABASE_URL": dbURL, "AALS_ADMIN_PASSWORD": "a long admin passphrase",
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func dbURL(db *models.DB) string { return db.Pool.Config().ConnString() }

func TestServerRefusesSchemaBehind(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	if _, err := db.Pool.Exec(t.Context(), `DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
		t.Fatal(err)
	}
	_, err := newApp(t.Context(), prodConfig(t, dbURL(db)), quiet, io.Discard, false)
	if !models.IsSchemaBehind(err) {
		t.Fatalf("newApp on a schema behind = %v, want ErrSchemaBehind", err)
	}
}

func TestServerToleratesSchemaAhead(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	if _, err := db.Pool.Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), prodConfig(t, dbURL(db)), quiet, io.Discard, false)
	if err != nil {
		t.Fatalf("newApp on a schema ahead = %v, want nil", err)
	}
	a.close()
}

// signalWriter records output and closes ready when it first sees marker.
type signalWriter struct {
	mu     sync.Mutex
	buf    strings.Builder
	marker string
	ready  chan struct{}
	once   sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (w *signalWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.buf.String() }

// startServe runs serve on a loopback listener until the returned stop is called; stop
// returns serve's error.
func startServe(t *testing.T, cfg *Config) (baseURL string, out *signalWriter, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out = &signalWriter{marker: "is serving on", ready: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, quiet, out, ln) }()
	select {
	case <-out.ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited early: %v\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start within 60 s")
	}
	return "http://" + ln.Addr().String(), out, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return context.DeadlineExceeded
		}
	}
}

func TestServeFromEmptyDatabaseThenAgain(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	cfg, err := loadConfig(map[string]string{"DATABASE_URL": url, "AALS_DATA_DIR": t.TempDir(), "AALS_ADMIN_EMAIL": "ops@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	base, out, stop := startServe(t, cfg)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v after cancel, want nil (clean shutdown)", err)
	}
	if !strings.Contains(out.String(), "Password (shown once") || !strings.Contains(out.String(), "ops@example.org") {
		t.Errorf("first start did not print the generated admin password:\n%s", out.String())
	}

	// A second start reuses the data: same admin, no new password.
	_, out2, stop2 := startServe(t, cfg)
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out2.String(), "Password") {
		t.Errorf("second start printed a password again:\n%s", out2.String())
	}
}

func TestServeDoesNotLogAdminPassword(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cfg, err := loadConfig(map[string]string{"DATABASE_URL": dbURL(db), "AALS_DATA_DIR": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	var terminal strings.Builder
	a, err := newApp(t.Context(), cfg, log, &terminal, false)
	if err != nil {
		t.Fatal(err)
	}
	a.close()
	i := strings.Index(terminal.String(), "Password (shown once, store it now): ")
	if i < 0 {
		t.Fatalf("no password on the terminal:\n%s", terminal.String())
	}
	pw := strings.Fields(terminal.String()[i+len("Password (shown once, store it now): "):])[0]
	if strings.Contains(logs.String(), pw) {
		t.Errorf("structured logs contain the admin password")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestAccessKeyCreatedOnceByConcurrentServers(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	kr, _ := masterkey.Parse(masterkey.Generate())
	const servers = 5
	var wg sync.WaitGroup
	tokens := make([]string, servers)
	errs := make([]error, servers)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			iss, err := accessIssuer(context.Background(), db, kr, "http://localhost:8080", time.Now)
			if err != nil {
				errs[i] = err
				return
			}
			tokens[i], _, errs[i] = iss.Issue("00000000-0000-4000-8000-000000000001", false)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM signing_keys WHERE purpose = 'access'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("access keys = %d, want 1", n)
	}
	iss, err := accessIssuer(context.Background(), db, kr, "http://localhost:8080", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i, tok := range tokens {
		if _, err := iss.Verify(tok); err != nil {
			t.Errorf("token from server %d does not verify on another: %v", i, err)
		}
	}
	// The private key is stored encrypted: another master key cannot load it.
	other, _ := masterkey.Parse(masterkey.Generate())
	if _, err := accessIssuer(context.Background(), db, other, "http://localhost:8080", time.Now); err == nil {
		t.Error("loaded the access key with the wrong master key")
	}
}
