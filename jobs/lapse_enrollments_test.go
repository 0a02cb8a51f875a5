package jobs_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/jobs"
)

// TestLapseEnrollmentsEndsOnlyExpiredActiveOnes seeds enrollments on both sides of their
// lifetime and in other states, and checks that one job lapses exactly the expired active one.
func TestLapseEnrollmentsEndsOnlyExpiredActiveOnes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := t.Context()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := h.db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO courses (code, title, edition, guideline_edition, description, accreditation, exam)
		VALUES ('AALS', 'AALS', '2026', '2025', 'd', 'a', '{}'), ('ACLS', 'ACLS', '2026', '2025', 'd', 'a', '{}')`)
	users := map[string]uuid.UUID{}
	for _, name := range []string{"expired", "live", "completed", "pending"} {
		users[name] = uuid.New()
		exec(`INSERT INTO users (id, email, password_hash, name) VALUES ($1, $2, 'x', 'U')`, users[name], name+"@example.org")
	}
	enroll := func(user uuid.UUID, status string, expires *time.Time) uuid.UUID {
		id := uuid.New()
		exec(`INSERT INTO enrollments (id, user_id, course_code, offering, status, expires_at) VALUES ($1, $2, 'AALS', 'initial', $3, $4)`,
			id, user, status, expires)
		return id
	}
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	want := map[uuid.UUID]string{
		enroll(users["expired"], "active", &past):        "lapsed",
		enroll(users["live"], "active", &future):         "active",
		enroll(users["completed"], "completed", &past):   "completed",
		enroll(users["pending"], "pending_payment", nil): "pending_payment",
	}

	res, err := h.client.Insert(ctx, jobs.LapseEnrollmentsArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.waitKind(t, res.Job.ID, river.EventKindJobCompleted)

	for id, status := range want {
		var got string
		var endedAt *time.Time
		if err := h.db.Pool.QueryRow(ctx, `SELECT status, ended_at FROM enrollments WHERE id = $1`, id).Scan(&got, &endedAt); err != nil {
			t.Fatal(err)
		}
		if got != status {
			t.Errorf("enrollment %s = %s, want %s", id, got, status)
		}
		if status == "lapsed" && (endedAt == nil || !endedAt.Equal(now)) {
			t.Errorf("lapsed enrollment ended_at = %v, want %v (the worker's clock)", endedAt, now)
		}
	}
}
