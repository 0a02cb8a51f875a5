package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

// TestServerRefusesAnotherPublicURL: once a credential was issued under a public URL, a
// server started with another refuses to serve, naming both; the same URL starts.
func TestServerRefusesAnotherPublicURL(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	const recorded = "https://certs.example.org"
	if err := models.RecordPublicURL(t.Context(), db.Gorm, recorded, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := prodConfig(t, dbURL(db))
	cfg.PublicURL = "https://other.example.org"
	_, err := newApp(t.Context(), cfg, quiet, io.Discard, false)
	if !errors.Is(err, models.ErrPublicURLChanged) {
		t.Fatalf("newApp with another public URL = %v, want ErrPublicURLChanged", err)
	}
	if msg := err.Error(); !strings.Contains(msg, recorded) || !strings.Contains(msg, cfg.PublicURL) {
		t.Errorf("error %q does not name both URLs", msg)
	}

	a, err := newApp(t.Context(), prodConfig(t, dbURL(db)), quiet, io.Discard, false)
	if err != nil {
		t.Fatalf("newApp with the recorded public URL = %v, want nil", err)
	}
	a.close()
}
