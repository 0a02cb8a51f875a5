package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/aalscert/aalscert/models"
)

// verifyLayout is the data of the verification benchmark: a million credentials held by 5,000
// accounts, issued over 550 days from 2024-11-01 and valid to the end of the month 25 months
// later, as the issuer dates them, each with its first history entry.
var verifyLayout = scaleLayout{
	holders: 5_000,
	issued:  `date '2024-11-01' + (i % 550)`,
	through: `date_trunc('month', issued) + interval '25 months' - interval '1 day'`,
	history: true,
}

// sampleCodes returns n codes of stored credentials, picked at random.
func sampleCodes(b *testing.B, db *models.DB, n int) []string {
	b.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT code FROM credentials TABLESAMPLE SYSTEM (2) LIMIT $1`, n)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var codes []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			b.Fatal(err)
		}
		codes = append(codes, c)
	}
	if rows.Err() != nil || len(codes) < n/2 {
		b.Fatalf("sampled %d codes (%v)", len(codes), rows.Err())
	}
	rand.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
	return codes
}

// sqlRecorder keeps the statements GORM sends, with their arguments written in.
type sqlRecorder struct {
	logger.Interface
	mu  sync.Mutex
	sql []string
}

func (r *sqlRecorder) LogMode(logger.LogLevel) logger.Interface { return r }

func (r *sqlRecorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, _ := fc()
	r.mu.Lock()
	r.sql = append(r.sql, s)
	r.mu.Unlock()
}

// codeLookupPlan returns the plan PostgreSQL chooses for the statement
// models.FindCredentialByCode sends, and fails unless it reads the unique index on code.
func codeLookupPlan(b *testing.B, db *models.DB, code string) string {
	b.Helper()
	ctx := context.Background()
	rec := &sqlRecorder{Interface: logger.Discard}
	if _, err := models.FindCredentialByCode(ctx, db.Gorm.Session(&gorm.Session{Logger: rec}), code); err != nil {
		b.Fatal(err)
	}
	if len(rec.sql) != 1 {
		b.Fatalf("FindCredentialByCode sent %d statements, want 1: %q", len(rec.sql), rec.sql)
	}
	rows, err := db.Pool.Query(ctx, "EXPLAIN "+rec.sql[0])
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			b.Fatal(err)
		}
		plan = append(plan, line)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "Index Scan using credentials_code_key on credentials") {
		b.Fatalf("the code lookup does not use credentials_code_key:\n%s\n%s", rec.sql[0], all)
	}
	return all
}

// BenchmarkVerifyAtScale looks credentials up by code among a million: the store functions the
// verification routes use, and GET /v1/verify/{code} end to end through the router (rate
// limit, lookup, course, JSON), now and ?as_of= a past day (which reads the history).
// Seeding happens once per run, outside the timed loops.
func BenchmarkVerifyAtScale(b *testing.B) {
	srv, db, _ := server(b)
	start := time.Now()
	seedScale(b, db, verifyLayout)
	b.Logf("seeded %d credentials, %d holders, %d status lists and %d history entries in %s",
		scaleCredentials, verifyLayout.holders, 2*scaleLists, scaleCredentials, time.Since(start).Round(100*time.Millisecond))
	codes := sampleCodes(b, db, 20_000)
	b.Logf("plan of the code lookup:\n%s", codeLookupPlan(b, db, codes[0]))
	ctx := context.Background()

	b.Run("FindCredentialByCode", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := models.FindCredentialByCode(ctx, db.Gorm, codes[i%len(codes)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("CredentialHistory", func(b *testing.B) {
		ids := make([]uuid.UUID, 0, 1000)
		for _, c := range codes[:1000] {
			cr, err := models.FindCredentialByCode(ctx, db.Gorm, c)
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, cr.ID)
		}
		i := 0
		for b.Loop() {
			if h, err := models.CredentialHistory(ctx, db.Gorm, ids[i%len(ids)]); err != nil || len(h) != 1 {
				b.Fatalf("history of %s = %d entries, %v", ids[i%len(ids)], len(h), err)
			}
			i++
		}
	})
	for _, route := range []struct{ name, query string }{{"GET", ""}, {"GETAsOf", "?as_of=2026-06-30"}} {
		b.Run(route.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				r := httptest.NewRequest("GET", "/v1/verify/"+codes[i%len(codes)]+route.query, nil)
				// Every request from its own client address, as from many verifiers: none is
				// refused by the per-address limit, and each pays for its counter.
				r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", i>>16&255, i>>8&255, i&255)
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("GET /v1/verify/%s = %d %s", codes[i%len(codes)], w.Code, w.Body)
				}
				i++
			}
		})
	}
}
