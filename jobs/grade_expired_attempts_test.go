package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// TestGradeExpiredAttempts leaves attempts open on both sides of their deadline and checks
// that one job grades exactly the expired ones with what was saved, and fails the enrollment
// whose last attempt that was.
func TestGradeExpiredAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := t.Context()
	if _, err := content.SeedCourses(ctx, h.db.Gorm); err != nil {
		t.Fatal(err)
	}
	items := gradeFixtureItems(t, h.db)
	expired := openAttempt(t, h.db, "expired", 1, now.Add(-time.Minute), items, map[string][]string{items[0]: {"a"}, items[1]: {"b"}})
	last := openAttempt(t, h.db, "last", 3, now, items, nil)
	live := openAttempt(t, h.db, "live", 1, now.Add(time.Minute), items, map[string][]string{items[0]: {"a"}})

	res, err := h.client.Insert(ctx, jobs.GradeExpiredAttemptsArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.waitKind(t, res.Job.ID, river.EventKindJobCompleted)

	a, err := models.FindAttempt(ctx, h.db.Gorm, expired.attempt)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != models.AttemptGraded || a.SubmittedAt != nil || a.GradedAt == nil || !a.GradedAt.Equal(now) ||
		*a.Correct != 1 || *a.Total != 3 || *a.Score != 33.33 || *a.Passed {
		t.Errorf("expired attempt = %s, submitted %v, graded %v, %d of %d (%v), passed %v; want graded at the worker's clock, unsubmitted, 1 of 3 (33.33), failed",
			a.Status, a.SubmittedAt, a.GradedAt, *a.Correct, *a.Total, *a.Score, *a.Passed)
	}
	var right, wrong int
	if err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE correct), count(*) FILTER (WHERE NOT correct)
		FROM attempt_answers WHERE attempt_id = $1`, expired.attempt).Scan(&right, &wrong); err != nil || right != 1 || wrong != 1 {
		t.Errorf("answers marked right %d, wrong %d (%v); want 1 and 1", right, wrong, err)
	}
	for _, c := range []struct {
		fx                  attemptFixture
		attempt, enrollment string
	}{
		{expired, "graded", "active"},
		{last, "graded", "failed"},
		{live, "in_progress", "active"},
	} {
		var attempt, enrollment string
		if err := h.db.Pool.QueryRow(ctx, `SELECT a.status, e.status FROM attempts a JOIN enrollments e ON e.id = a.enrollment_id
			WHERE a.id = $1`, c.fx.attempt).Scan(&attempt, &enrollment); err != nil {
			t.Fatal(err)
		}
		if attempt != c.attempt || enrollment != c.enrollment {
			t.Errorf("%s: attempt %s, enrollment %s; want %s, %s", c.fx.name, attempt, enrollment, c.attempt, c.enrollment)
		}
	}
}

// gradeFixtureItems stores three single-answer AALS items keyed "a" and returns their IDs.
func gradeFixtureItems(t *testing.T, db *models.DB) []string {
	t.Helper()
	var items []models.Item
	var ids []string
	for n := range 3 {
		id := fmt.Sprintf("AALS-JOB-%02d", n+1)
		ids = append(ids, id)
		items = append(items, models.Item{ID: id, CourseCode: "AALS", Domain: "post_arrest_care", Kind: models.ItemSingle,
			Stem: "Stem " + id, Options: []models.ItemOption{{ID: "a", Text: "A"}, {ID: "b", Text: "B"}},
			Correct: pq.StringArray{"a"}, Rationale: "Because."})
	}
	if err := models.UpsertItems(t.Context(), db.Gorm, items); err != nil {
		t.Fatal(err)
	}
	return ids
}

type attemptFixture struct {
	name    string
	attempt uuid.UUID
}

// openAttempt stores a learner with an active AALS enrollment and an attempt (the given
// number) in progress until deadline, with answers saved, in one transaction, so a job
// running meanwhile sees all of it or nothing.
func openAttempt(t *testing.T, db *models.DB, name string, number int, deadline time.Time, items []string, answers map[string][]string) attemptFixture {
	t.Helper()
	user, enrollment := uuid.New(), uuid.New()
	a := &models.Attempt{EnrollmentID: enrollment, UserID: user, CourseCode: "AALS", Number: number,
		TimeMultiplier: 1, StartedAt: deadline.Add(-time.Hour), Deadline: deadline, AttestedAt: deadline.Add(-time.Hour), ClientIP: "192.0.2.1"}
	for _, id := range items {
		a.Form = append(a.Form, models.AttemptFormItem{ItemID: id, Options: []string{"b", "a"}})
	}
	ctx := context.Background()
	err := db.InTx(ctx, func(tx models.Tx) error {
		if err := tx.DB.Exec(`INSERT INTO users (id, email, password_hash, name) VALUES (?, ?, 'x', 'L')`, user, name+"@example.org").Error; err != nil {
			return err
		}
		if err := tx.DB.Exec(`INSERT INTO enrollments (id, user_id, course_code, offering, status) VALUES (?, ?, 'AALS', 'initial', 'active')`,
			enrollment, user).Error; err != nil {
			return err
		}
		if err := tx.DB.Exec(`INSERT INTO attempts (id, enrollment_id, user_id, course_code, number, status, form, started_at, deadline, attested_at)
			SELECT gen_random_uuid(), ?, ?, 'AALS', n, 'graded', '[]', ?, ?, ? FROM generate_series(1, ?) n`,
			enrollment, user, a.StartedAt, a.StartedAt, a.StartedAt, number-1).Error; err != nil {
			return err
		}
		if err := models.CreateAttempt(ctx, tx.DB, a); err != nil {
			return err
		}
		for item, choices := range answers {
			ans := &models.AttemptAnswer{AttemptID: a.ID, ItemID: item, Choices: choices, AnsweredAt: a.StartedAt.Add(30 * time.Minute)}
			if err := models.SaveAnswer(ctx, tx.DB, ans, ans.AnsweredAt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("open attempt %s: %v", name, err)
	}
	return attemptFixture{name: name, attempt: a.ID}
}
