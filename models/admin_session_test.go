package models_test

import (
	"testing"
	"time"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

func TestAdminSessionLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.Tx(t)
	now := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	u := refreshUser(t, db)

	secret, s, err := models.CreateAdminSession(ctx, db, u.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if secret == "" || s.CSRFToken == "" || s.CSRFToken == secret || !s.ExpiresAt.Equal(now.Add(8*time.Hour)) {
		t.Fatalf("session = %q, %+v; want a secret, a distinct CSRF token and an expiry 8 hours on", secret, s)
	}
	var stored []byte
	if err := db.Raw(`SELECT token_hash FROM admin_sessions`).Row().Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if string(stored) == secret || len(stored) != 32 {
		t.Fatalf("stored token = %x, want the 32-byte SHA-256 of the secret, never the secret", stored)
	}
	if got, err := models.FindAdminSession(ctx, db, secret, now.Add(8*time.Hour-time.Second)); err != nil || got.UserID != u.ID {
		t.Fatalf("find before expiry = %+v, %v; want the user's session", got, err)
	}
	for name, tc := range map[string]struct {
		secret string
		at     time.Time
	}{
		"Expired": {secret, now.Add(8 * time.Hour)},
		"Unknown": {models.NewSecret(), now},
		"Empty":   {"", now},
	} {
		if _, err := models.FindAdminSession(ctx, db, tc.secret, tc.at); !models.IsNotFound(err) {
			t.Errorf("%s: find = %v, want ErrNotFound", name, err)
		}
	}

	// The hourly prune removes expired sessions and keeps live ones.
	live, _, err := models.CreateAdminSession(ctx, db, u.ID, now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	res, err := models.PruneExpired(ctx, db, now.Add(9*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res["admin_sessions"] != 1 {
		t.Errorf("pruned admin_sessions = %d, want 1", res["admin_sessions"])
	}
	if _, err := models.FindAdminSession(ctx, db, live, now.Add(9*time.Hour)); err != nil {
		t.Errorf("live session after prune: %v", err)
	}

	if err := models.DeleteAdminSession(ctx, db, live); err != nil {
		t.Fatal(err)
	}
	if _, err := models.FindAdminSession(ctx, db, live, now.Add(9*time.Hour)); !models.IsNotFound(err) {
		t.Errorf("find after sign-out = %v, want ErrNotFound", err)
	}
	if err := models.DeleteAdminSession(ctx, db, live); err != nil {
		t.Errorf("second sign-out = %v, want nil", err)
	}
}
