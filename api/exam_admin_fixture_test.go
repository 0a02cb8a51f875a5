package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/models"
)

// fixtureItem is a single-best-answer item of the course with options a–d, key a.
func fixtureItem(course, id, domain string) models.Item {
	return models.Item{ID: id, CourseCode: course, Domain: domain, Kind: models.ItemSingle,
		Stem: "Stem of " + id, Rationale: "Why a is right.", Correct: []string{"a"},
		Options: []models.ItemOption{{ID: "a", Text: "A"}, {ID: "b", Text: "B"}, {ID: "c", Text: "C"}, {ID: "d", Text: "D"}}}
}

// storeItems puts items into the bank directly (with the catalog, which they belong to).
func (e *env) storeItems(t testing.TB, items ...models.Item) {
	t.Helper()
	e.seedCourses(t)
	if err := models.UpsertItems(context.Background(), e.db.Gorm, items); err != nil {
		t.Fatalf("store items: %v", err)
	}
}

// paidEnrollmentIn stores an active (paid) initial enrollment of u in the course, as a
// payment leaves it.
func (e *env) paidEnrollmentIn(t testing.TB, u *models.User, course string) *models.Enrollment {
	t.Helper()
	e.seedCourses(t)
	now := e.clock.Now()
	expires := now.AddDate(1, 0, 0)
	en := &models.Enrollment{UserID: u.ID, CourseCode: course, Offering: models.OfferingInitial, Status: models.EnrollmentActive,
		ActivatedAt: &now, ExpiresAt: &expires}
	if err := models.CreateEnrollment(context.Background(), e.db.Gorm, en, nil); err != nil {
		t.Fatalf("create enrollment: %v", err)
	}
	return en
}

// gradedAttempt describes a graded attempt: its form holds the items of results, answered
// right or wrong, then the items of unanswered, with no answer saved.
type gradedAttempt struct {
	results    []itemResult
	unanswered []string
	flags      []string
	started    time.Time
}

type itemResult struct {
	item    string
	correct bool
}

// storeGradedAttempt stores a as the enrollment's attempt number, graded half an hour after
// it started, and returns its ID.
func (e *env) storeGradedAttempt(t testing.TB, en *models.Enrollment, number int, a gradedAttempt) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	type formItem struct {
		ItemID  string   `json:"item_id"`
		Options []string `json:"options"`
	}
	var form []formItem
	right := 0
	for _, r := range a.results {
		form = append(form, formItem{r.item, []string{"a", "b", "c", "d"}})
		if r.correct {
			right++
		}
	}
	for _, id := range a.unanswered {
		form = append(form, formItem{id, []string{"a", "b", "c", "d"}})
	}
	formJSON, _ := json.Marshal(form)
	if a.started.IsZero() {
		a.started = e.clock.Now().Add(-time.Hour)
	}
	graded := a.started.Add(30 * time.Minute)
	score := float64(right) * 100 / float64(len(form))
	id := uuid.New()
	_, err := e.db.Pool.Exec(ctx, `INSERT INTO attempts (id, enrollment_id, user_id, course_code, number, status, form,
			started_at, deadline, attested_at, client_ip, user_agent, submitted_at, graded_at, correct, total, score,
			pass_mark, passed, flagged, flag_reasons)
		VALUES ($1, $2, $3, $4, $5, 'graded', $6, $7, $8, $7, '192.0.2.10', 'test agent', $9, $9, $10, $11, $12,
			80, $13, $14, $15)`,
		id, en.ID, en.UserID, en.CourseCode, number, formJSON, a.started, a.started.Add(time.Hour), graded,
		right, len(form), score, score >= 80, len(a.flags) > 0, append([]string{}, a.flags...))
	if err != nil {
		t.Fatalf("store attempt: %v", err)
	}
	for _, r := range a.results {
		_, err := e.db.Pool.Exec(ctx, `INSERT INTO attempt_answers (attempt_id, item_id, choices, answered_at, correct)
			VALUES ($1, $2, '{a}', $3, $4)`, id, r.item, a.started.Add(time.Minute), r.correct)
		if err != nil {
			t.Fatalf("store answer: %v", err)
		}
	}
	return id
}

// trainingSite creates an approved org named name whose admin is a new user, with a member
// holding the instructor role, and returns the org's ID and both users' tokens.
func (e *env) trainingSite(t testing.TB, name string) (orgID string, instructor *models.User, instructorTok, adminTok string) {
	t.Helper()
	_, adminTok = e.user(t, "admin@"+name+".test")
	orgID = e.org(t, adminTok, name)
	e.approve(t, orgID)
	instructor, instructorTok = e.user(t, "instructor@"+name+".test")
	e.addMember(t, orgID, instructor, models.RoleInstructor)
	return orgID, instructor, instructorTok, adminTok
}
