package models

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Attempt statuses.
const (
	AttemptInProgress = "in_progress"
	AttemptGraded     = "graded"
)

// Errors of exam attempts.
var (
	ErrAttemptInProgress   = NewError("attempt-in-progress", ErrConflict, "an attempt of this enrollment is in progress: resume it")
	ErrNoAttemptsLeft      = NewError("no-attempts-left", ErrConflict, "every exam attempt of this enrollment is used")
	ErrEnrollmentNotActive = NewError("enrollment-not-active", ErrConflict, "the enrollment is not active")
	ErrExamPassed          = NewError("exam-passed", ErrConflict, "the exam of this enrollment is already passed")
	ErrAttemptClosed       = NewError("attempt-closed", ErrConflict, "the attempt is past its deadline or already graded")
)

// AttemptFormItem is one item of an attempt's form with its option IDs in the order the
// learner sees them.
type AttemptFormItem struct {
	ItemID  string   `json:"item_id"`
	Options []string `json:"options"`
}

// DomainScore is an attempt's result in one domain of the blueprint.
type DomainScore struct {
	Domain  string `json:"domain"`
	Correct int    `json:"correct"`
	Total   int    `json:"total"`
}

// Attempt is one sitting of a course exam. The result fields are nil until it is graded.
type Attempt struct {
	ID             uuid.UUID
	EnrollmentID   uuid.UUID
	UserID         uuid.UUID
	CourseCode     string
	Number         int
	Status         string
	Form           []AttemptFormItem `gorm:"serializer:json;type:jsonb"`
	TimeMultiplier float64
	StartedAt      time.Time
	Deadline       time.Time
	AttestedAt     time.Time
	ClientIP       string `gorm:"column:client_ip"`
	UserAgent      string
	SubmittedAt    *time.Time
	GradedAt       *time.Time
	Correct        *int
	Total          *int
	Score          *float64
	PassMark       *int
	Passed         *bool
	Domains        []DomainScore `gorm:"serializer:json;type:jsonb"`
	Flagged        bool
	FlagReasons    pq.StringArray `gorm:"type:text[]"`
}

// Open reports whether answers may still be saved at now: in progress and before the deadline.
func (a *Attempt) Open(now time.Time) bool {
	return a.Status == AttemptInProgress && now.Before(a.Deadline)
}

// FormItem returns the form's entry for the item, or nil if the item is not on the form.
func (a *Attempt) FormItem(itemID string) *AttemptFormItem {
	for i := range a.Form {
		if a.Form[i].ItemID == itemID {
			return &a.Form[i]
		}
	}
	return nil
}

// ItemIDs returns the IDs of the form's items in form order.
func (a *Attempt) ItemIDs() []string {
	ids := make([]string, len(a.Form))
	for i, f := range a.Form {
		ids[i] = f.ItemID
	}
	return ids
}

// AttemptAnswer is the saved answer to one item of an attempt; each save overwrites it.
// Correct is set at grading.
type AttemptAnswer struct {
	AttemptID  uuid.UUID      `gorm:"primaryKey"`
	ItemID     string         `gorm:"primaryKey"`
	Choices    pq.StringArray `gorm:"type:text[]"`
	AnsweredAt time.Time
	ClientIP   string `gorm:"column:client_ip"`
	Correct    *bool
}

// CreateAttempt inserts a in progress, assigning its ID. It returns ErrAttemptInProgress if
// the enrollment already has an attempt in progress, or one with the same number, whoever
// wins a race: unique indexes decide.
func CreateAttempt(ctx context.Context, db *gorm.DB, a *Attempt) error {
	if a.ID == uuid.Nil {
		a.ID = uuid.New()
	}
	a.Status = AttemptInProgress
	a.FlagReasons = pq.StringArray{}
	if len(a.UserAgent) > maxUserAgent {
		a.UserAgent = strings.ToValidUTF8(a.UserAgent[:maxUserAgent], "")
	}
	err := db.WithContext(ctx).Omit("Domains").Create(a).Error
	if uniqueViolation(err, "attempts_one_open_idx") || uniqueViolation(err, "attempts_enrollment_id_number_key") {
		return ErrAttemptInProgress
	}
	return translate(err)
}

// FindAttempt returns the attempt, or ErrNotFound.
func FindAttempt(ctx context.Context, db *gorm.DB, id uuid.UUID) (*Attempt, error) {
	var a Attempt
	if err := db.WithContext(ctx).First(&a, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &a, nil
}

// LockAttempt returns the attempt with its row locked FOR UPDATE until the end of the
// transaction db runs in, or ErrNotFound.
func LockAttempt(ctx context.Context, db *gorm.DB, id uuid.UUID) (*Attempt, error) {
	var a Attempt
	err := db.WithContext(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).First(&a, "id = ?", id).Error
	if err != nil {
		return nil, translate(err)
	}
	return &a, nil
}

// AttemptTally sums up an enrollment's attempts.
type AttemptTally struct {
	Count      int  // attempts started (the highest number)
	InProgress bool // one is in progress
	Passed     bool // one was passed
}

// TallyAttempts counts the enrollment's attempts.
func TallyAttempts(ctx context.Context, db *gorm.DB, enrollmentID uuid.UUID) (AttemptTally, error) {
	var t AttemptTally
	err := db.WithContext(ctx).Raw(`SELECT coalesce(max(number), 0) AS count,
			coalesce(bool_or(status = 'in_progress'), false) AS in_progress,
			coalesce(bool_or(passed), false) AS passed
		FROM attempts WHERE enrollment_id = ?`, enrollmentID).Scan(&t).Error
	return t, translate(err)
}

// SaveAnswer records ans (its choices, time and client address) in one statement, replacing
// an earlier answer to the item. Nothing is saved, and it returns ErrAttemptClosed, unless
// the attempt is in progress with its deadline after now. The attempt row is share-locked
// for the statement, so a save racing a grading waits for it and then finds it closed.
func SaveAnswer(ctx context.Context, db *gorm.DB, ans *AttemptAnswer, now time.Time) error {
	if ans.Choices == nil {
		ans.Choices = pq.StringArray{}
	}
	res := db.WithContext(ctx).Exec(`INSERT INTO attempt_answers (attempt_id, item_id, choices, answered_at, client_ip)
		SELECT a.id, ?, ?, ?, ? FROM attempts a
		WHERE a.id = ? AND a.status = 'in_progress' AND a.deadline > ?
		FOR KEY SHARE
		ON CONFLICT (attempt_id, item_id) DO UPDATE
		SET choices = excluded.choices, answered_at = excluded.answered_at, client_ip = excluded.client_ip`,
		ans.ItemID, ans.Choices, ans.AnsweredAt, ans.ClientIP, ans.AttemptID, now)
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrAttemptClosed
	}
	return nil
}

// ListAnswers returns the attempt's saved answers, oldest save first.
func ListAnswers(ctx context.Context, db *gorm.DB, attemptID uuid.UUID) ([]AttemptAnswer, error) {
	var out []AttemptAnswer
	err := db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("answered_at, item_id").Find(&out).Error
	return out, translate(err)
}

// AttemptResult is the outcome of grading an attempt.
type AttemptResult struct {
	SubmittedAt *time.Time // nil when the attempt ran to its deadline
	GradedAt    time.Time
	Correct     int
	Total       int
	Score       float64
	PassMark    int
	Passed      bool
	Domains     []DomainScore
	FlagReasons []string
	ItemCorrect map[string]bool // per item on the form
}

// SetAttemptResult marks the in-progress attempt graded with r and records on each saved
// answer whether it was correct (an item never answered has no row and counts as wrong). It
// returns ErrAttemptClosed if the attempt is not in progress. Run it in the transaction that
// locked the attempt (LockAttempt).
func SetAttemptResult(ctx context.Context, db *gorm.DB, id uuid.UUID, r AttemptResult) error {
	domains, err := json.Marshal(r.Domains)
	if err != nil {
		return err
	}
	reasons := pq.StringArray(r.FlagReasons)
	if reasons == nil {
		reasons = pq.StringArray{}
	}
	res := db.WithContext(ctx).Exec(`UPDATE attempts SET status = 'graded', submitted_at = ?, graded_at = ?,
			correct = ?, total = ?, score = ?, pass_mark = ?, passed = ?, domains = ?::jsonb,
			flagged = ?, flag_reasons = ?
		WHERE id = ? AND status = 'in_progress'`,
		r.SubmittedAt, r.GradedAt, r.Correct, r.Total, r.Score, r.PassMark, r.Passed, string(domains),
		len(reasons) > 0, reasons, id)
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrAttemptClosed
	}
	return setAnswersCorrect(ctx, db, id, r.ItemCorrect)
}

// setAnswersCorrect records each saved answer's outcome in one statement.
func setAnswersCorrect(ctx context.Context, db *gorm.DB, id uuid.UUID, itemCorrect map[string]bool) error {
	if len(itemCorrect) == 0 {
		return nil
	}
	items, correct := make(pq.StringArray, 0, len(itemCorrect)), make(pq.BoolArray, 0, len(itemCorrect))
	for _, item := range keysSorted(itemCorrect) {
		items, correct = append(items, item), append(correct, itemCorrect[item])
	}
	return translate(db.WithContext(ctx).Exec(`UPDATE attempt_answers aa SET correct = u.correct
		FROM unnest(?::text[], ?::boolean[]) AS u(item_id, correct)
		WHERE aa.attempt_id = ? AND aa.item_id = u.item_id`, items, correct, id).Error)
}

// MarkExamPassed records that the enrollment's exam was passed at now; a pass recorded
// earlier stays as it was.
func MarkExamPassed(ctx context.Context, db *gorm.DB, enrollmentID uuid.UUID, now time.Time) error {
	return translate(db.WithContext(ctx).Exec(`UPDATE enrollments SET exam_passed_at = ?, updated_at = ?
		WHERE id = ? AND exam_passed_at IS NULL`, now, now, enrollmentID).Error)
}

// FailEnrollment ends the enrollment as failed with reason if it is still active; it is a
// no-op otherwise.
func FailEnrollment(ctx context.Context, db *gorm.DB, enrollmentID uuid.UUID, reason string, now time.Time) error {
	return translate(db.WithContext(ctx).Exec(`UPDATE enrollments
		SET status = 'failed', ended_at = ?, end_reason = ?, updated_at = ?
		WHERE id = ? AND status = 'active'`, now, reason, now, enrollmentID).Error)
}

// ListSeenItemIDs returns the IDs of the items on the user's attempts in the course, of every
// enrollment. Credentials come from attempts, so this covers the items behind an earlier
// credential too.
func ListSeenItemIDs(ctx context.Context, db *gorm.DB, userID uuid.UUID, course string) ([]string, error) {
	var ids []string
	err := db.WithContext(ctx).Raw(`SELECT DISTINCT f->>'item_id' FROM attempts a, jsonb_array_elements(a.form) f
		WHERE a.user_id = ? AND a.course_code = ?`, userID, course).Scan(&ids).Error
	return ids, translate(err)
}

// ListOpenPastDeadline returns up to limit attempts still in progress whose deadline is not
// after now, earliest deadline first.
func ListOpenPastDeadline(ctx context.Context, db *gorm.DB, now time.Time, limit int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.WithContext(ctx).Model(&Attempt{}).Where("status = 'in_progress' AND deadline <= ?", now).
		Order("deadline").Limit(limit).Pluck("id", &ids).Error
	return ids, translate(err)
}

// ListAttempts returns the enrollment's attempts by number.
func ListAttempts(ctx context.Context, db *gorm.DB, enrollmentID uuid.UUID) ([]Attempt, error) {
	var out []Attempt
	err := db.WithContext(ctx).Where("enrollment_id = ?", enrollmentID).Order("number").Find(&out).Error
	return out, translate(err)
}
