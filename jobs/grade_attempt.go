package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/exam"
	"github.com/aalscert/aalscert/models"
)

// Grading lives here, not in the API, because two callers share it: the learner's submit
// (api) and the expiry job (GradeExpiredAttemptsWorker). The API imports jobs, so both reach it.

// attemptsUsedUp is why an enrollment failed.
const attemptsUsedUp = "every exam attempt was used without passing"

// GradeAttempt grades the attempt with the answers saved so far, in a transaction of its
// own, and returns it as stored. It locks the attempt row FOR UPDATE first, so concurrent
// calls (a double submit, or a submit racing the expiry job) grade it once: the others wait
// and return the stored result. An attempt graded before now is submitted by the learner; one
// graded at or after its deadline ran out of time and has no submission time. Passing records
// the exam step of the enrollment; failing the last attempt allowed fails the enrollment. It
// returns ErrNotFound for an unknown attempt. A pass that completes the enrollment issues its
// credential through iss.
func GradeAttempt(ctx context.Context, db *models.DB, iss Issuance, id uuid.UUID, now time.Time) (*models.Attempt, error) {
	now = now.UTC().Truncate(time.Microsecond)
	var graded *models.Attempt
	err := db.InTx(ctx, func(tx models.Tx) error {
		a, err := models.LockAttempt(ctx, tx.DB, id)
		if err != nil || a.Status == models.AttemptGraded {
			graded = a
			return err
		}
		course, err := models.FindCourse(ctx, tx.DB, a.CourseCode)
		if err != nil {
			return err
		}
		if err := gradeLocked(ctx, tx, iss, a, course, now); err != nil {
			return err
		}
		graded, err = models.FindAttempt(ctx, tx.DB, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("grade attempt %s: %w", id, err)
	}
	return graded, nil
}

// gradeLocked grades the locked, in-progress attempt a and applies the outcome to its
// enrollment, all in tx.
func gradeLocked(ctx context.Context, tx models.Tx, iss Issuance, a *models.Attempt, course *models.Course, now time.Time) error {
	answers, err := models.ListAnswers(ctx, tx.DB, a.ID)
	if err != nil {
		return err
	}
	bank, err := models.FindItems(ctx, tx.DB, a.ItemIDs())
	if err != nil {
		return err
	}
	res := exam.Grade(examItems(bank), examForm(a.Form), answerMap(answers), course.Exam.PassPercent)
	r := models.AttemptResult{
		GradedAt: now, Correct: res.Correct, Total: res.Total, Score: res.Score, PassMark: res.PassMark,
		Passed: res.Passed, Domains: domainScores(res.Domains), ItemCorrect: res.ItemCorrect,
	}
	finished := finishedAt(a, answers, now)
	if now.Before(a.Deadline) {
		r.SubmittedAt = &now
	}
	r.FlagReasons = exam.Flags(a.StartedAt, finished, len(a.Form), a.ClientIP, answerEvents(answers))
	if err := models.SetAttemptResult(ctx, tx.DB, a.ID, r); err != nil {
		return err
	}
	return applyOutcome(ctx, tx, iss, a, course, res.Passed, now)
}

// applyOutcome moves the enrollment on after a graded attempt.
func applyOutcome(ctx context.Context, tx models.Tx, iss Issuance, a *models.Attempt, course *models.Course, passed bool, now time.Time) error {
	if passed {
		if err := models.MarkExamPassed(ctx, tx.DB, a.EnrollmentID, now); err != nil {
			return err
		}
		if course.SkillsCheckRequired {
			st, err := models.FindSkillsStatus(ctx, tx.DB, a.EnrollmentID, false)
			if err != nil {
				return err
			}
			if st.PassedAt == nil {
				return nil // the skills check attestation issues the credential
			}
		}
		// Both requirements are met, the exam last: issuing the credential completes the
		// enrollment.
		return IssueCredential(ctx, tx, iss, a.EnrollmentID, now)
	}
	if a.Number >= course.Exam.Attempts {
		return models.FailEnrollment(ctx, tx.DB, a.EnrollmentID, attemptsUsedUp, now)
	}
	return nil
}

// Issuance is what issuing a credential needs besides the transaction.
type Issuance struct {
	// Jobs enqueues the new credential's follow-up (PDF and email) in the issuing transaction.
	Jobs Inserter
	// PublicURL is AALS_PUBLIC_URL, recorded at the first issuance.
	PublicURL string
	// Location is the issuer's time zone (AALS_TIMEZONE), the calendar of issue and expiry
	// days; nil means UTC.
	Location *time.Location
}

// IssueCredential issues the credential of an enrollment whose last requirement was met at
// metAt, in tx, and enqueues its follow-up there when it is new. A holder whose email is not
// verified yet gets no credential now: the enrollment keeps its requirements met and stays
// open, and the grading or attestation still succeeds; IssueHeldCredentials issues it once the
// address is verified.
func IssueCredential(ctx context.Context, tx models.Tx, iss Issuance, enrollmentID uuid.UUID, metAt time.Time) error {
	c, created, err := models.IssueCredential(ctx, tx.DB, models.IssueInput{
		EnrollmentID: enrollmentID, IssuedAt: metAt, Location: iss.Location, Rules: IssueRules(iss.PublicURL)})
	if errors.Is(err, models.ErrEmailUnverified) {
		return nil
	}
	if err != nil || !created {
		return err
	}
	return CredentialCreated(ctx, iss.Jobs, tx, c.ID)
}

// IssueHeldCredentials issues, in tx, the credential of every enrollment of the user whose
// requirements were met while their email was unverified, each dated when its last requirement
// was met. The caller has just verified the address in tx. Enrollments that already have a
// credential are left alone, so calling it again issues nothing twice.
func IssueHeldCredentials(ctx context.Context, tx models.Tx, iss Issuance, userID uuid.UUID) error {
	held, err := models.ListHeldEnrollments(ctx, tx.DB, userID)
	if err != nil {
		return err
	}
	for _, h := range held {
		if err := IssueCredential(ctx, tx, iss, h.EnrollmentID, h.MetAt); err != nil {
			return fmt.Errorf("issue held credential of enrollment %s: %w", h.EnrollmentID, err)
		}
	}
	return nil
}

// finishedAt is when the learner finished: now for a submission before the deadline;
// otherwise their last save, or the deadline if they saved nothing. An attempt rushed
// through and then left to run out is judged by when the answering stopped.
func finishedAt(a *models.Attempt, answers []models.AttemptAnswer, now time.Time) time.Time {
	if now.Before(a.Deadline) {
		return now
	}
	last := a.Deadline
	if len(answers) > 0 {
		last = a.StartedAt
		for _, ans := range answers {
			if ans.AnsweredAt.After(last) {
				last = ans.AnsweredAt
			}
		}
	}
	return last
}

// ExamItem converts a bank item to what the exam engine needs (with its key).
func ExamItem(it models.Item) exam.Item {
	opts := make([]exam.Option, len(it.Options))
	for i, o := range it.Options {
		opts[i] = exam.Option{ID: o.ID, Text: o.Text}
	}
	return exam.Item{ID: it.ID, Domain: it.Domain, Kind: it.Kind, Options: opts, Correct: it.Correct}
}

func examItems(bank map[string]models.Item) map[string]exam.Item {
	out := make(map[string]exam.Item, len(bank))
	for id, it := range bank {
		out[id] = ExamItem(it)
	}
	return out
}

func examForm(form []models.AttemptFormItem) []exam.FormItem {
	out := make([]exam.FormItem, len(form))
	for i, f := range form {
		out[i] = exam.FormItem(f)
	}
	return out
}

func answerMap(answers []models.AttemptAnswer) map[string][]string {
	out := make(map[string][]string, len(answers))
	for _, a := range answers {
		out[a.ItemID] = a.Choices
	}
	return out
}

func answerEvents(answers []models.AttemptAnswer) []exam.AnswerEvent {
	out := make([]exam.AnswerEvent, len(answers))
	for i, a := range answers {
		out[i] = exam.AnswerEvent{ItemID: a.ItemID, At: a.AnsweredAt, Addr: a.ClientIP}
	}
	return out
}

func domainScores(ds []exam.DomainResult) []models.DomainScore {
	out := make([]models.DomainScore, len(ds))
	for i, d := range ds {
		out[i] = models.DomainScore(d)
	}
	return out
}
