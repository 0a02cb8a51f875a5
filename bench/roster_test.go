package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/models"
)

// rosterMembers is the size of the benchmarked cohort.
const rosterMembers = 5_000

// seedRoster stores an org whose admin is admin, and a cohort of AALS with rosterMembers
// invitations, each table in one INSERT … SELECT. Invitee i is, by i mod 6: invited (no
// account), pending approval, enrolled, in an exam, certified (an issued credential), or
// failed; every third enrolled one also holds an older imported credential. It returns the
// org's and the cohort's IDs.
func seedRoster(b *testing.B, db *models.DB, admin *models.User) (orgID, cohortID string) {
	b.Helper()
	ctx := context.Background()
	if _, err := content.SeedCourses(ctx, db.Gorm); err != nil {
		b.Fatal(err)
	}
	orgID, cohortID = "00000000-0000-4000-8000-00000000a001", "00000000-0000-4000-8000-00000000c001"
	n := rosterMembers - 1
	steps := []string{
		fmt.Sprintf(`INSERT INTO orgs (id, name, created_by) VALUES ('%s', 'Bench Hospital', '%s')`, orgID, admin.ID),
		fmt.Sprintf(`INSERT INTO org_members (org_id, user_id, roles) VALUES ('%s', '%s', ARRAY['admin'])`, orgID, admin.ID),
		fmt.Sprintf(`INSERT INTO cohorts (id, org_id, name, course_code, offering, due_date, created_by, created_at, updated_at)
			VALUES ('%s', '%s', 'All staff', 'AALS', 'initial', current_date + 30, '%s', now(), now())`, cohortID, orgID, admin.ID),
		fmt.Sprintf(`INSERT INTO users (id, email, password_hash, name, email_verified_at, created_at, updated_at)
			SELECT md5('staff-' || i)::uuid, 'staff' || i || '@bench.example', '', 'Staff ' || i, now(), now(), now()
			FROM generate_series(0, %d) i WHERE i %% 6 <> 0`, n),
		fmt.Sprintf(`INSERT INTO enrollments (id, user_id, course_code, offering, status, org_id, activated_at, created_at, updated_at)
			SELECT md5('enrollment-' || i)::uuid, md5('staff-' || i)::uuid, 'AALS', 'initial',
				CASE i %% 6 WHEN 4 THEN 'completed' WHEN 5 THEN 'failed' ELSE 'active' END, '%s', now(), now(), now()
			FROM generate_series(0, %d) i WHERE i %% 6 IN (2, 3, 4, 5)`, orgID, n),
		fmt.Sprintf(`INSERT INTO attempts (id, enrollment_id, user_id, course_code, number, form, started_at, deadline, attested_at)
			SELECT md5('attempt-' || i)::uuid, md5('enrollment-' || i)::uuid, md5('staff-' || i)::uuid, 'AALS', 1, '[]',
				now(), now() + interval '1 hour', now()
			FROM generate_series(0, %d) i WHERE i %% 6 = 3`, n),
		fmt.Sprintf(`INSERT INTO credentials (id, enrollment_id, user_id, course_code, code, holder_name, edition, guideline_edition,
				assessment, email_salt, issued_on, awarded_on, valid_from, valid_through, valid_until, revocation_list,
				revocation_index, suspension_list, suspension_index, status, source, legacy_id)
			SELECT md5('credential-' || i)::uuid, CASE WHEN i %% 6 = 4 THEN md5('enrollment-' || i)::uuid END,
				md5('staff-' || i)::uuid, 'AALS', 'AALS-' || upper(substr(md5('code-' || i), 1, 8)), 'Staff ' || i,
				c.edition, c.guideline_edition, '{"exam": "online unproctored exam"}', md5('salt-' || i),
				current_date - d, current_date - d, now() - d * interval '1 day', current_date - d + 730,
				now() - d * interval '1 day' + interval '730 days', 1, i, 2, i, 'active',
				CASE WHEN i %% 6 = 4 THEN 'issued' ELSE 'imported' END, CASE WHEN i %% 6 = 2 THEN 'BENCH-' || i END
			FROM generate_series(0, %d) i, courses c, LATERAL (SELECT CASE WHEN i %% 6 = 4 THEN 0 ELSE 700 END AS d) dd
			WHERE c.code = 'AALS' AND (i %% 6 = 4 OR i %% 18 = 2)`, n),
		fmt.Sprintf(`INSERT INTO cohort_invitations (id, cohort_id, org_id, email, name, status, expires_at, user_id,
				enrollment_id, invited_by, last_sent_at, accepted_at, created_at)
			SELECT md5('invitation-' || i)::uuid, '%s', '%s', 'staff' || i || '@bench.example', 'Staff ' || i,
				CASE i %% 6 WHEN 0 THEN 'invited' WHEN 1 THEN 'pending_approval' ELSE 'accepted' END, now() + interval '14 days',
				CASE WHEN i %% 6 <> 0 THEN md5('staff-' || i)::uuid END,
				CASE WHEN i %% 6 >= 2 THEN md5('enrollment-' || i)::uuid END,
				'%s', now(), CASE WHEN i %% 6 >= 1 THEN now() END, now() - (%d - i) * interval '1 second'
			FROM generate_series(0, %d) i`, cohortID, orgID, admin.ID, n, n),
		`ANALYZE users, enrollments, attempts, credentials, cohort_invitations`,
	}
	for _, q := range steps {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			b.Fatalf("seed: %v\n%s", err, q)
		}
	}
	return orgID, cohortID
}

// BenchmarkRosterCSV is an org admin downloading the roster of a cohort of 5,000 members as
// CSV, end to end through the router: token, org access, the roster query, CSV encoding.
func BenchmarkRosterCSV(b *testing.B) {
	srv, db, iss := server(b)
	admin := &models.User{Email: "admin@bench.example", Name: "Bench Admin", PasswordHash: ""}
	if err := models.CreateUser(context.Background(), db.Gorm, admin); err != nil {
		b.Fatal(err)
	}
	orgID, cohortID := seedRoster(b, db, admin)
	tok, _, _ := iss.Issue(admin.ID.String(), false)
	path := "/v1/orgs/" + orgID + "/cohorts/" + cohortID + "/roster"
	get := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Accept", "text/csv")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET roster = %d %s", w.Code, w.Body)
		}
		return w
	}
	body := get().Body.String()
	if rows := strings.Count(body, "\n"); rows != rosterMembers+1 {
		b.Fatalf("roster CSV has %d lines, want %d", rows, rosterMembers+1)
	}
	for _, state := range []string{",invited,", ",pending_approval,", ",enrolled,", ",in_exam,", ",certified,active,", ",failed,", ",expiring,"} {
		if !strings.Contains(body, state) {
			b.Fatalf("roster CSV has no row with %q", state)
		}
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		get()
	}
}
