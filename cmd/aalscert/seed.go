package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/password"
)

// seed creates what a new deployment needs: the course catalog (courses missing from the
// database only, so admin edits survive restarts), the question banks (see seedBanks) and
// the platform admin. A generated password is written to out (the terminal) once, never to
// the logs.
func seed(ctx context.Context, db *models.DB, cfg *Config, out io.Writer, now time.Time) error {
	if _, err := content.SeedCourses(ctx, db.Gorm); err != nil {
		return fmt.Errorf("seed courses: %w", err)
	}
	if err := seedBanks(ctx, db.Gorm); err != nil {
		return fmt.Errorf("seed question banks: %w", err)
	}
	_, err := models.FindUserByEmail(ctx, db.Gorm, cfg.AdminEmail)
	if err == nil {
		return nil
	}
	if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	pw, generated := cfg.AdminPassword, false
	if pw == "" {
		pw, generated = generatePassword(20), true
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	role := models.PlatformAdmin
	verified := now.UTC()
	u := &models.User{Email: cfg.AdminEmail, Name: "Platform admin", PasswordHash: hash, PlatformRole: &role, EmailVerifiedAt: &verified}
	if err := models.CreateUser(ctx, db.Gorm, u); err != nil {
		if errors.Is(err, models.ErrEmailTaken) {
			return nil // another server seeded it first
		}
		return fmt.Errorf("create platform admin: %w", err)
	}
	if generated {
		fmt.Fprintf(out, "\n  Platform admin created: %s\n  Password (shown once, store it now): %s\n\n", cfg.AdminEmail, pw)
	} else {
		fmt.Fprintf(out, "\n  Platform admin created: %s (password from AALS_ADMIN_PASSWORD)\n\n", cfg.AdminEmail)
	}
	return nil
}

// generatePassword returns n characters from an alphabet without look-alikes.
func generatePassword(n int) string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}
