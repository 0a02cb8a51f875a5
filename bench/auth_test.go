package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/authtoken"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/password"
)

// BenchmarkPasswordHash is the argon2id cost of one registration or password change.
func BenchmarkPasswordHash(b *testing.B) {
	for b.Loop() {
		if _, err := password.Hash("resuscitation drill 42"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPasswordVerify is the argon2id cost of one sign-in.
func BenchmarkPasswordVerify(b *testing.B) {
	h, _ := password.Hash("resuscitation drill 42")
	for b.Loop() {
		if ok, _ := password.Verify("resuscitation drill 42", h); !ok {
			b.Fatal("mismatch")
		}
	}
}

// BenchmarkAccessTokenVerify is the per-request cost of checking an access token.
func BenchmarkAccessTokenVerify(b *testing.B) {
	iss, _ := authtoken.NewIssuer("http://localhost:8080", 15*time.Minute, time.Now, authtoken.NewKey())
	tok, _, _ := iss.Issue("00000000-0000-4000-8000-000000000001", false)
	for b.Loop() {
		if _, err := iss.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func server(b *testing.B) (*api.Server, *models.DB, *authtoken.Issuer) {
	b.Helper()
	db := pgtest.New(b)
	kr, _ := masterkey.New(bytes.Repeat([]byte{1}, 32))
	iss, _ := authtoken.NewIssuer("http://localhost:8080", 15*time.Minute, time.Now, authtoken.NewKey())
	log := slog.New(slog.DiscardHandler)
	client, err := jobs.NewClient(jobs.Deps{DB: db, Log: log, Keyring: kr}, jobs.Config{})
	if err != nil {
		b.Fatal(err)
	}
	srv := api.New(api.Config{Env: "development", PublicURL: "http://localhost:8080", AppURL: "http://localhost:8080"},
		api.Deps{DB: db, Log: log, Tokens: iss, Keyring: kr, Jobs: client})
	return srv, db, iss
}

// BenchmarkGetMe is one authenticated API request end to end through the router: token
// check, user lookup in PostgreSQL, JSON response.
func BenchmarkGetMe(b *testing.B) {
	srv, db, iss := server(b)
	h, _ := password.Hash("resuscitation drill 42")
	u := &models.User{Email: "bench@example.org", Name: "Bench", PasswordHash: h}
	if err := models.CreateUser(context.Background(), db.Gorm, u); err != nil {
		b.Fatal(err)
	}
	tok, _, _ := iss.Issue(u.ID.String(), false)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "/v1/me", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("GET /v1/me = %d", w.Code)
			}
		}
	})
}

// BenchmarkLogin is one successful sign-in end to end: throttle check, argon2id, refresh
// token written, access token signed.
func BenchmarkLogin(b *testing.B) {
	srv, db, _ := server(b)
	h, _ := password.Hash("resuscitation drill 42")
	u := &models.User{Email: "login@example.org", Name: "Bench", PasswordHash: h}
	if err := models.CreateUser(context.Background(), db.Gorm, u); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"email": u.Email, "password": "resuscitation drill 42"})
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/auth/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("login = %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkLoginBurst is many sign-ins at once (a shift change); concurrent argon2id work is
// bounded, so memory stays bounded while throughput holds.
func BenchmarkLoginBurst(b *testing.B) {
	srv, db, _ := server(b)
	h, _ := password.Hash("resuscitation drill 42")
	u := &models.User{Email: "burst@example.org", Name: "Bench", PasswordHash: h}
	if err := models.CreateUser(context.Background(), db.Gorm, u); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"email": u.Email, "password": "resuscitation drill 42"})
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("POST", "/v1/auth/login", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("login = %d %s", w.Code, w.Body)
			}
		}
	})
}
