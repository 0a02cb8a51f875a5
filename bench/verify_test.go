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

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// Scale of the verification benchmark: a million credentials held by 5,000 accounts, placed
// in 8 revocation and 8 suspension lists of the minimum size (8 × 131,072 ≥ 1,000,000).
const (
	scaleCredentials = 1_000_000
	scaleHolders     = 5_000
	scaleLists       = 8
)

// seedScale fills db with scaleCredentials imported-style credentials (no enrollment, a legacy
// ID each), their first history entries, holders and status lists, each table in one
// INSERT … SELECT, then analyzes the tables. Codes are the course prefix and eight symbols of
// credential.CodeAlphabet from an affine bijection of the row number modulo 2^40, so they are
// unique and look like issued ones; indexes are in row order within each list (lookups do not
// care).
func seedScale(b *testing.B, db *models.DB) {
	b.Helper()
	ctx := context.Background()
	if _, err := content.SeedCourses(ctx, db.Gorm); err != nil {
		b.Fatal(err)
	}
	code := "'AALS-'"
	for k := 7; k >= 0; k-- {
		if k == 3 {
			code += " || '-'"
		}
		code += fmt.Sprintf(" || substr('%s', ((v >> %d) & 31)::int + 1, 1)", credential.CodeAlphabet, 5*k)
	}
	steps := []string{
		fmt.Sprintf(`INSERT INTO users (id, email, password_hash, name, email_verified_at, created_at, updated_at)
			SELECT md5('holder-' || u)::uuid, 'holder' || u || '@bench.example', '', 'Holder ' || u, now(), now(), now()
			FROM generate_series(0, %d) u`, scaleHolders-1),
		fmt.Sprintf(`INSERT INTO status_lists (purpose, size, perm_key, allocated)
			SELECT p, %[1]d, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), %[1]d
			FROM unnest(ARRAY['revocation', 'suspension']) p, generate_series(1, %[2]d) n ORDER BY p, n`,
			credential.MinListSize, scaleLists),
		fmt.Sprintf(`WITH rev AS (SELECT array_agg(id ORDER BY id) a FROM status_lists WHERE purpose = 'revocation' AND allocated = size),
			sus AS (SELECT array_agg(id ORDER BY id) a FROM status_lists WHERE purpose = 'suspension' AND allocated = size),
			course AS (SELECT edition, guideline_edition FROM courses WHERE code = 'AALS'),
			n AS (SELECT i, (i * 549755813881 + 91343852333) & 1099511627775 AS v,
				date '2024-11-01' + (i %% 550) AS issued FROM generate_series(0, %[1]d) i),
			d AS (SELECT n.*, (date_trunc('month', issued) + interval '25 months' - interval '1 day')::date AS through FROM n)
			INSERT INTO credentials (id, user_id, course_code, code, holder_name, edition, guideline_edition, assessment,
				email_salt, issued_on, awarded_on, valid_from, valid_through, valid_until, revocation_list, revocation_index,
				suspension_list, suspension_index, status, source, legacy_id)
			SELECT md5('credential-' || i)::uuid, md5('holder-' || (i %% %[2]d))::uuid, 'AALS', %[3]s, 'Holder ' || (i %% %[2]d),
				course.edition, course.guideline_edition, '{"exam": "%[4]s"}', md5('salt-' || i), issued, issued,
				issued::timestamp AT TIME ZONE 'UTC', through, (through + 1)::timestamp AT TIME ZONE 'UTC' - interval '1 second',
				rev.a[i / %[5]d + 1], i %% %[5]d, sus.a[i / %[5]d + 1], i %% %[5]d, 'active', 'imported', 'BENCH-' || i
			FROM d, rev, sus, course`, scaleCredentials-1, scaleHolders, code, models.LegacyExam, credential.MinListSize),
		`INSERT INTO credential_status_events (credential_id, status, action, at)
			SELECT id, 'active', 'imported', valid_from FROM credentials`,
		`ANALYZE users, status_lists, credentials, credential_status_events`,
	}
	for _, q := range steps {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			b.Fatalf("seed: %v\n%s", err, q)
		}
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM credentials`).Scan(&n); err != nil || n != scaleCredentials {
		b.Fatalf("seeded %d credentials (%v), want %d", n, err, scaleCredentials)
	}
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
	seedScale(b, db)
	b.Logf("seeded %d credentials, %d holders, %d status lists and %d history entries in %s",
		scaleCredentials, scaleHolders, 2*scaleLists, scaleCredentials, time.Since(start).Round(100*time.Millisecond))
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
