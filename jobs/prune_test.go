package jobs_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/jobs"
)

// TestPruneDeletesOnlyWhatIsPastRetention seeds rows on both sides of each retention limit
// and checks that one prune job removes exactly the old ones.
func TestPruneDeletesOnlyWhatIsPastRetention(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := t.Context()
	user := uuid.New()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := h.db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO users (id, email, password_hash, name) VALUES ($1, 'p@example.org', 'x', 'P')`, user)
	exec(`INSERT INTO login_throttle (key, failures, window_start, last_failure) VALUES
		('old', 5, $1, $1), ('live', 5, $2, $2)`, now.Add(-20*time.Minute), now.Add(-5*time.Minute))
	exec(`INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES
		($1, $1, $3, 'a', $4), ($2, $2, $3, 'b', $5)`, uuid.New(), uuid.New(), user, now.Add(-time.Minute), now.Add(time.Hour))
	exec(`INSERT INTO user_tokens (id, user_id, purpose, token_hash, email, expires_at) VALUES
		($1, $3, 'verify_email', 'c', 'p@example.org', $4), ($2, $3, 'verify_email', 'd', 'p@example.org', $5)`,
		uuid.New(), uuid.New(), user, now.Add(-31*24*time.Hour), now.Add(-29*24*time.Hour))
	oldMail := uuid.New()
	exec(`INSERT INTO outbox (id, to_addr, subject, text_body, html_body, status, created_at) VALUES
		($1, 'p@example.org', 's', 't', 'h', 'sent', $3), ($2, 'p@example.org', 's', 't', 'h', 'sent', $4)`,
		oldMail, uuid.New(), now.Add(-3*365*24*time.Hour), now.Add(-24*time.Hour))
	// Digest records: one past retention, one of last week still pointing at a message old
	// enough to go (the record stays, without its message).
	org := uuid.New()
	exec(`INSERT INTO orgs (id, name, created_by) VALUES ($1, 'Mercy', $2)`, org, user)
	exec(`INSERT INTO org_digests (org_id, user_id, week_of, outbox_id, created_at) VALUES
		($1, $2, $3::date, NULL, $3), ($1, $2, $4::date, $5, $4)`, org, user, now.AddDate(0, 0, -9*7), now.AddDate(0, 0, -7), oldMail)

	res, err := h.client.Insert(ctx, jobs.PruneArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.waitKind(t, res.Job.ID, river.EventKindJobCompleted)

	for table, want := range map[string]int{"login_throttle": 1, "refresh_tokens": 1, "user_tokens": 1, "outbox": 1, "org_digests": 1} {
		var got int
		if err := h.db.Pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s rows after prune = %d, want %d", table, got, want)
		}
	}
	var live string
	if err := h.db.Pool.QueryRow(ctx, `SELECT key FROM login_throttle`).Scan(&live); err != nil || live != "live" {
		t.Errorf("surviving counter = %q, %v; want live", live, err)
	}
}
