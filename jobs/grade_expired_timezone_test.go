package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/masterkey"
)

// TestDeadlineJobDatesCredentialsOnIssuersCalendar: an attempt passed with its deadline at
// 01:59 UTC on 1 December is graded by the job at 02:00 UTC, which is still 30 November in
// New York. The credential it issues is dated on the issuer's calendar, so its end-of-month
// expiry differs by a whole month between the two zones.
func TestDeadlineJobDatesCredentialsOnIssuersCalendar(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                   string
		loc                    *time.Location
		issuedOn, validThrough string
	}{
		{"NewYork", ny, "2026-11-30", "2028-11-30"},
		{"UTC", time.UTC, "2026-12-01", "2028-12-31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			ctx := context.Background()
			if _, err := content.SeedCourses(ctx, db.Gorm); err != nil {
				t.Fatal(err)
			}
			items := gradeFixtureItems(t, db)
			fx := openAttempt(t, db, "tz-"+tc.name, 1, clock.Add(-time.Minute), items,
				map[string][]string{items[0]: {"a"}, items[1]: {"a"}, items[2]: {"a"}})
			if err := db.Gorm.Exec(`UPDATE users SET email_verified_at = ? WHERE id = (SELECT user_id FROM attempts WHERE id = ?)`,
				clock.Add(-time.Hour), fx.attempt).Error; err != nil {
				t.Fatal(err)
			}
			kr, _ := masterkey.New(bytes.Repeat([]byte{3}, 32))
			client, err := jobs.NewClient(jobs.Deps{DB: db, Log: slog.New(slog.DiscardHandler), Keyring: kr,
				Now: func() time.Time { return clock }, Location: tc.loc},
				jobs.Config{RunWorkers: true, MaxWorkers: 2, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
			defer cancel()
			if err := client.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() {
				sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
				defer c()
				_ = client.Stop(sctx)
			}()
			res, err := client.Insert(ctx, jobs.GradeExpiredAttemptsArgs{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			waitForJob(t, events, res.Job.ID)

			var issuedOn, validThrough string
			if err := db.Pool.QueryRow(ctx, `SELECT c.issued_on::text, c.valid_through::text FROM credentials c
				JOIN attempts a ON a.enrollment_id = c.enrollment_id WHERE a.id = $1`, fx.attempt).Scan(&issuedOn, &validThrough); err != nil {
				t.Fatalf("no credential issued by the job: %v", err)
			}
			if issuedOn != tc.issuedOn || validThrough != tc.validThrough {
				t.Errorf("issued %s, valid through %s; want %s and %s", issuedOn, validThrough, tc.issuedOn, tc.validThrough)
			}
		})
	}
}

// waitForJob waits for the completion of job id, failing on failure or after 30 s.
func waitForJob(t *testing.T, events <-chan *river.Event, id int64) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Job == nil || ev.Job.ID != id {
				continue
			}
			if ev.Kind != river.EventKindJobCompleted {
				t.Fatalf("job %d: %s, errors %v", id, ev.Kind, ev.Job.Errors)
			}
			return
		case <-timeout:
			t.Fatalf("job %d did not finish within 30 s", id)
		}
	}
}
