package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// Scale of the benchmarks over many credentials: a million, placed in 8 revocation and 8
// suspension lists of the minimum size (8 × 131,072 ≥ 1,000,000).
const (
	scaleCredentials = 1_000_000
	scaleLists       = 8
)

// scaleLayout says who holds the seeded credentials and how they are dated.
type scaleLayout struct {
	// holders is the number of accounts; credential i belongs to holder i mod holders.
	holders int
	// issued is an SQL date expression of the row number i (0 … scaleCredentials-1) and of v,
	// a bijection of i that looks random; through is the credential's last valid day, an SQL
	// date expression that may also use issued.
	issued, through string
	// history adds each credential's first history entry, which verification as of a past
	// day reads.
	history bool
}

// seedScale fills db with scaleCredentials imported-style credentials (no enrollment, a legacy
// ID each, status active) of the AALS course, their holders and status lists, and if asked
// their first history entries, each table in one INSERT … SELECT, then analyzes the tables.
// Codes are the course prefix and eight symbols of credential.CodeAlphabet from an affine
// bijection of the row number modulo 2^40, so they are unique and look like issued ones;
// indexes are in row order within each list (lookups do not care).
func seedScale(b *testing.B, db *models.DB, l scaleLayout) {
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
			FROM generate_series(0, %d) u`, l.holders-1),
		fmt.Sprintf(`INSERT INTO status_lists (purpose, size, perm_key, allocated)
			SELECT p, %[1]d, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), %[1]d
			FROM unnest(ARRAY['revocation', 'suspension']) p, generate_series(1, %[2]d) n ORDER BY p, n`,
			credential.MinListSize, scaleLists),
		fmt.Sprintf(`WITH rev AS (SELECT array_agg(id ORDER BY id) a FROM status_lists WHERE purpose = 'revocation' AND allocated = size),
			sus AS (SELECT array_agg(id ORDER BY id) a FROM status_lists WHERE purpose = 'suspension' AND allocated = size),
			course AS (SELECT edition, guideline_edition FROM courses WHERE code = 'AALS'),
			r AS (SELECT i, (i * 549755813881 + 91343852333) & 1099511627775 AS v FROM generate_series(0, %[1]d) i),
			n AS (SELECT r.*, (%[6]s)::date AS issued FROM r),
			d AS (SELECT n.*, (%[7]s)::date AS through FROM n)
			INSERT INTO credentials (id, user_id, course_code, code, holder_name, edition, guideline_edition, assessment,
				email_salt, issued_on, awarded_on, valid_from, valid_through, valid_until, revocation_list, revocation_index,
				suspension_list, suspension_index, status, source, legacy_id)
			SELECT md5('credential-' || i)::uuid, md5('holder-' || (i %% %[2]d))::uuid, 'AALS', %[3]s, 'Holder ' || (i %% %[2]d),
				course.edition, course.guideline_edition, '{"exam": "%[4]s"}', md5('salt-' || i), issued, issued,
				issued::timestamp AT TIME ZONE 'UTC', through, (through + 1)::timestamp AT TIME ZONE 'UTC' - interval '1 second',
				rev.a[i / %[5]d + 1], i %% %[5]d, sus.a[i / %[5]d + 1], i %% %[5]d, 'active', 'imported', 'BENCH-' || i
			FROM d, rev, sus, course`, scaleCredentials-1, l.holders, code, models.LegacyExam, credential.MinListSize,
			l.issued, l.through),
	}
	if l.history {
		steps = append(steps, `INSERT INTO credential_status_events (credential_id, status, action, at)
			SELECT id, 'active', 'imported', valid_from FROM credentials`)
	}
	steps = append(steps, `ANALYZE users, status_lists, credentials, credential_status_events`)
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
