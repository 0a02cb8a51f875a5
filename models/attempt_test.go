package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

// attemptStoreFixture stores a course with two items, a learner and an active enrollment, and
// returns the learner and the enrollment.
func attemptStoreFixture(t *testing.T, db *gorm.DB) (user uuid.UUID, enrollment uuid.UUID) {
	t.Helper()
	user, _ = payFixture(t, db)
	e := &models.Enrollment{UserID: user, CourseCode: "AALS", Offering: "initial", Status: models.EnrollmentActive}
	if err := models.CreateEnrollment(context.Background(), db, e, nil); err != nil {
		t.Fatal(err)
	}
	var items []models.Item
	for _, id := range []string{"AALS-M-1", "AALS-M-2"} {
		items = append(items, models.Item{ID: id, CourseCode: "AALS", Domain: "d", Kind: models.ItemSingle, Stem: "s",
			Options: []models.ItemOption{{ID: "a", Text: "A"}, {ID: "b", Text: "B"}}, Correct: pq.StringArray{"a"}, Rationale: "r"})
	}
	if err := models.UpsertItems(context.Background(), db, items); err != nil {
		t.Fatal(err)
	}
	return user, e.ID
}

func newStoreAttempt(user, enrollment uuid.UUID, number int) *models.Attempt {
	return &models.Attempt{EnrollmentID: enrollment, UserID: user, CourseCode: "AALS", Number: number, TimeMultiplier: 1,
		Form:      []models.AttemptFormItem{{ItemID: "AALS-M-1", Options: []string{"b", "a"}}, {ItemID: "AALS-M-2", Options: []string{"a", "b"}}},
		StartedAt: t0, Deadline: t0.Add(time.Hour), AttestedAt: t0, ClientIP: "192.0.2.1", UserAgent: "ua"}
}

func TestAttemptStore(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	user, enr := attemptStoreFixture(t, db)

	a := newStoreAttempt(user, enr, 1)
	if err := models.CreateAttempt(ctx, db, a); err != nil {
		t.Fatal(err)
	}
	if err := models.CreateAttempt(ctx, db, newStoreAttempt(user, enr, 2)); !errors.Is(err, models.ErrAttemptInProgress) {
		t.Errorf("second open attempt = %v, want ErrAttemptInProgress", err)
	}
	tally, err := models.TallyAttempts(ctx, db, enr)
	if err != nil || tally != (models.AttemptTally{Count: 1, InProgress: true}) {
		t.Errorf("tally = %+v, %v; want one in progress", tally, err)
	}

	save := func(item string, choices []string, at time.Time) error {
		return models.SaveAnswer(ctx, db, &models.AttemptAnswer{AttemptID: a.ID, ItemID: item, Choices: choices, AnsweredAt: at, ClientIP: "192.0.2.1"}, at)
	}
	for i, choices := range [][]string{{"b"}, {"a"}} {
		if err := save("AALS-M-1", choices, t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	answers, err := models.ListAnswers(ctx, db, a.ID)
	if err != nil || len(answers) != 1 || !slices.Equal(answers[0].Choices, []string{"a"}) || !answers[0].AnsweredAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("answers = %+v, %v; want the second save only", answers, err)
	}
	if err := save("AALS-M-2", []string{"a"}, t0.Add(time.Hour)); !errors.Is(err, models.ErrAttemptClosed) {
		t.Errorf("save at the deadline = %v, want ErrAttemptClosed", err)
	}
	ids, err := models.ListOpenPastDeadline(ctx, db, t0.Add(time.Hour), 10)
	if err != nil || !slices.Equal(ids, []uuid.UUID{a.ID}) {
		t.Errorf("open past deadline = %v, %v; want the attempt", ids, err)
	}
	if ids, _ := models.ListOpenPastDeadline(ctx, db, t0.Add(time.Hour-time.Second), 10); len(ids) != 0 {
		t.Errorf("open past deadline a second early = %v, want none", ids)
	}

	graded := t0.Add(30 * time.Minute)
	r := models.AttemptResult{SubmittedAt: &graded, GradedAt: graded, Correct: 1, Total: 2, Score: 50, PassMark: 84,
		Domains: []models.DomainScore{{Domain: "d", Correct: 1, Total: 2}}, FlagReasons: []string{"too_fast"},
		ItemCorrect: map[string]bool{"AALS-M-1": true, "AALS-M-2": false}}
	if err := models.SetAttemptResult(ctx, db, a.ID, r); err != nil {
		t.Fatal(err)
	}
	if err := models.SetAttemptResult(ctx, db, a.ID, r); !errors.Is(err, models.ErrAttemptClosed) {
		t.Errorf("grading twice = %v, want ErrAttemptClosed", err)
	}
	got, err := models.FindAttempt(ctx, db, a.ID)
	if err != nil || got.Status != models.AttemptGraded || *got.Score != 50 || *got.Passed || !got.Flagged ||
		!slices.Equal(got.FlagReasons, []string{"too_fast"}) || len(got.Domains) != 1 || !slices.Equal(got.ItemIDs(), []string{"AALS-M-1", "AALS-M-2"}) {
		t.Errorf("graded attempt = %+v, %v", got, err)
	}
	answers, _ = models.ListAnswers(ctx, db, a.ID)
	if len(answers) != 1 || answers[0].Correct == nil || !*answers[0].Correct {
		t.Errorf("answers after grading = %+v, want the one saved, marked correct", answers)
	}

	// A retake: the first attempt's items count as seen.
	if err := models.CreateAttempt(ctx, db, newStoreAttempt(user, enr, 2)); err != nil {
		t.Fatalf("retake after grading: %v", err)
	}
	seen, err := models.ListSeenItemIDs(ctx, db, user, "AALS")
	slices.Sort(seen)
	if err != nil || !slices.Equal(seen, []string{"AALS-M-1", "AALS-M-2"}) {
		t.Errorf("seen = %v, %v", seen, err)
	}
	if seen, _ := models.ListSeenItemIDs(ctx, db, uuid.New(), "AALS"); len(seen) != 0 {
		t.Errorf("another learner has seen %v", seen)
	}
}

// TestSaveAnswerWaitsForGrading saves an answer while the attempt is locked for grading: the
// save waits, then finds the attempt closed, and grading never misses an answer.
func TestSaveAnswerWaitsForGrading(t *testing.T) {
	t.Parallel()
	mdb := pgtest.New(t)
	ctx := context.Background()
	user, enr := attemptStoreFixture(t, mdb.Gorm)
	a := newStoreAttempt(user, enr, 1)
	if err := models.CreateAttempt(ctx, mdb.Gorm, a); err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	graded := make(chan error, 1)
	go func() {
		graded <- mdb.InTx(ctx, func(tx models.Tx) error {
			if _, err := models.LockAttempt(ctx, tx.DB, a.ID); err != nil {
				return err
			}
			close(locked)
			<-release
			return models.SetAttemptResult(ctx, tx.DB, a.ID, models.AttemptResult{GradedAt: t0.Add(time.Minute), Total: 2, PassMark: 84})
		})
	}()
	<-locked
	saved := make(chan error, 1)
	go func() {
		at := t0.Add(2 * time.Minute)
		saved <- models.SaveAnswer(ctx, mdb.Gorm, &models.AttemptAnswer{AttemptID: a.ID, ItemID: "AALS-M-1", Choices: []string{"a"}, AnsweredAt: at}, at)
	}()
	select {
	case err := <-saved:
		t.Fatalf("save did not wait for the grading: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-graded; err != nil {
		t.Fatal(err)
	}
	if err := <-saved; !errors.Is(err, models.ErrAttemptClosed) {
		t.Errorf("save during grading = %v, want ErrAttemptClosed", err)
	}
}
