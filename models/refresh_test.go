package models_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

// refreshUser inserts a user to hang refresh tokens on.
func refreshUser(t *testing.T, db *gorm.DB) *models.User {
	t.Helper()
	u := &models.User{Email: uuid.NewString() + "@example.org", PasswordHash: "x", Name: "Refresh Tester"}
	if err := models.CreateUser(t.Context(), db, u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	now := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	cl := models.RefreshClient{UserAgent: "test", ClientIP: "198.51.100.1"}

	t.Run("RotateThenReuseRevokesFamily", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		u := refreshUser(t, db)
		first, err := models.CreateRefreshToken(ctx, db, u.ID, true, cl, now)
		if err != nil {
			t.Fatal(err)
		}
		second, old, err := models.RotateRefreshToken(ctx, db, first, cl, now.Add(time.Minute))
		if err != nil || second == "" || old.UserID != u.ID || !old.MFA {
			t.Fatalf("rotate = %q, %+v, %v; want a new token of the user's MFA family", second, old, err)
		}
		if _, _, err := models.RotateRefreshToken(ctx, db, first, cl, now.Add(2*time.Minute)); !errors.Is(err, models.ErrRefreshReused) {
			t.Fatalf("reuse = %v, want ErrRefreshReused", err)
		}
		if _, _, err := models.RotateRefreshToken(ctx, db, second, cl, now.Add(3*time.Minute)); !errors.Is(err, models.ErrRefreshReused) {
			t.Fatalf("rotation's token after reuse = %v, want ErrRefreshReused (family revoked)", err)
		}
		var mfa []bool
		db.Raw(`SELECT mfa FROM refresh_tokens WHERE user_id = ?`, u.ID).Scan(&mfa)
		if len(mfa) != 2 || !mfa[0] || !mfa[1] {
			t.Errorf("family mfa flags = %v, want two true", mfa)
		}
	})

	t.Run("UnknownAndExpired", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		u := refreshUser(t, db)
		tok, err := models.CreateRefreshToken(ctx, db, u.ID, false, cl, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := models.RotateRefreshToken(ctx, db, "unknown", cl, now); !errors.Is(err, models.ErrUnauthorized) || errors.Is(err, models.ErrRefreshReused) {
			t.Errorf("unknown = %v, want plain ErrUnauthorized", err)
		}
		if _, _, err := models.RotateRefreshToken(ctx, db, tok, cl, now.Add(models.RefreshTTL)); !errors.Is(err, models.ErrUnauthorized) || errors.Is(err, models.ErrRefreshReused) {
			t.Errorf("expired = %v, want plain ErrUnauthorized", err)
		}
	})

	t.Run("RevokeByTokenAndByUser", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		u := refreshUser(t, db)
		a, _ := models.CreateRefreshToken(ctx, db, u.ID, false, cl, now)
		b, _ := models.CreateRefreshToken(ctx, db, u.ID, false, cl, now)
		c, _ := models.CreateRefreshToken(ctx, db, u.ID, false, cl, now)
		if err := models.RevokeRefreshToken(ctx, db, a, now); err != nil {
			t.Fatal(err)
		}
		if err := models.RevokeRefreshToken(ctx, db, "unknown", now); err != nil {
			t.Errorf("revoke unknown = %v, want nil", err)
		}
		if _, _, err := models.RotateRefreshToken(ctx, db, a, cl, now); !errors.Is(err, models.ErrRefreshReused) {
			t.Errorf("revoked token = %v, want ErrRefreshReused", err)
		}
		if _, _, err := models.RotateRefreshToken(ctx, db, b, cl, now); err != nil {
			t.Errorf("other sign-in after a sign-out = %v, want it to work", err)
		}
		if err := models.RevokeUserRefreshTokens(ctx, db, u.ID, now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := models.RotateRefreshToken(ctx, db, c, cl, now); !errors.Is(err, models.ErrRefreshReused) {
			t.Errorf("after revoking the user's tokens = %v, want ErrRefreshReused", err)
		}
	})

	t.Run("StoresOnlyAHash", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		u := refreshUser(t, db)
		tok, _ := models.CreateRefreshToken(ctx, db, u.ID, false, cl, now)
		var n int
		db.Raw(`SELECT count(*) FROM refresh_tokens WHERE token_hash = ? AND expires_at = ?`, models.HashSecret(tok), now.Add(models.RefreshTTL)).Scan(&n)
		if n != 1 {
			t.Errorf("rows with the token's hash and a 30-day expiry = %d, want 1", n)
		}
	})
}

// TestRotateRefreshTokenConcurrent presents one refresh token in many transactions at once:
// exactly one may rotate it, and the others find it used and revoke the family.
func TestRotateRefreshTokenConcurrent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	u := refreshUser(t, db.Gorm)
	tok, err := models.CreateRefreshToken(ctx, db.Gorm, u.ID, false, models.RefreshClient{}, now)
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	results := make(chan error, n)
	var ready, start sync.WaitGroup
	ready.Add(n)
	start.Add(1)
	for range n {
		go func() {
			var rotateErr error
			err := db.InTx(ctx, func(tx models.Tx) error {
				// Every transaction holds its connection before any of them reads the token.
				if err := tx.DB.Exec(`SELECT 1`).Error; err != nil {
					return err
				}
				ready.Done()
				start.Wait()
				_, _, rotateErr = models.RotateRefreshToken(ctx, tx.DB, tok, models.RefreshClient{}, now)
				if errors.Is(rotateErr, models.ErrRefreshReused) {
					return nil // commit the revocation, as the API does
				}
				return rotateErr
			})
			results <- errors.Join(err, rotateErr)
		}()
	}
	ready.Wait()
	start.Done()
	won := 0
	for range n {
		switch err := <-results; {
		case err == nil:
			won++
		case !errors.Is(err, models.ErrRefreshReused):
			t.Errorf("rotate = %v, want success or ErrRefreshReused", err)
		}
	}
	if won != 1 {
		t.Errorf("%d transactions rotated the token, want exactly 1", won)
	}
	var rows, live int
	db.Gorm.Raw(`SELECT count(*) FROM refresh_tokens WHERE user_id = ?`, u.ID).Scan(&rows)
	db.Gorm.Raw(`SELECT count(*) FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL`, u.ID).Scan(&live)
	if rows != 2 || live != 0 {
		t.Errorf("refresh tokens: %d rows, %d live; want 2 rows (the original and one rotation), none live", rows, live)
	}
}
