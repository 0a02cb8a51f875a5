package bench

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

// BenchmarkAutosave is one learner's autosave of an answer: a single upsert into
// attempt_answers, guarded by the attempt's status and deadline.
func BenchmarkAutosave(b *testing.B) {
	db := pgtest.New(b)
	ctx := context.Background()
	user, enrollment, attempt := uuid.New(), uuid.New(), uuid.New()
	now := time.Now().UTC()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO courses (code, title, edition, guideline_edition, description, accreditation, exam)
		  VALUES ('AALS', 'AALS', '2026', '2025', 'd', 'a', '{}')`, nil},
		{`INSERT INTO items (id, course_code, domain, kind, stem, options, correct, rationale)
		  VALUES ('AALS-001', 'AALS', 'monitoring_deterioration', 'single', 's', '[{"id":"a","text":"x"},{"id":"b","text":"y"}]', '{a}', 'r')`, nil},
		{`INSERT INTO users (id, email, password_hash, name) VALUES (?, 'bench@example.org', 'x', 'B')`, []any{user}},
		{`INSERT INTO enrollments (id, user_id, course_code, offering, status) VALUES (?, ?, 'AALS', 'initial', 'active')`, []any{enrollment, user}},
		{`INSERT INTO attempts (id, enrollment_id, user_id, course_code, number, form, started_at, deadline, attested_at)
		  VALUES (?, ?, ?, 'AALS', 1, '[{"item_id":"AALS-001","options":["a","b"]}]', ?, ?, ?)`, []any{attempt, enrollment, user, now, now.Add(24 * time.Hour), now}},
	} {
		if err := db.Gorm.Exec(q.sql, q.args...).Error; err != nil {
			b.Fatal(err)
		}
	}
	choices := []pq.StringArray{{"a"}, {"b"}}
	i := 0
	for b.Loop() {
		ans := &models.AttemptAnswer{AttemptID: attempt, ItemID: "AALS-001", Choices: choices[i%2], AnsweredAt: now, ClientIP: "192.0.2.10"}
		if err := models.SaveAnswer(ctx, db.Gorm, ans, now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
