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
// returns ErrNotFound for an unknown attempt. now's time zone is the issuer's calendar for a
// credential issued by a pass (pass now in AALS_TIMEZONE).
func GradeAttempt(ctx context.Context, db *models.DB, id uuid.UUID, now time.Time) (*models.Attempt, error) {
	loc := now.Location()
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
		if err := gradeLocked(ctx, tx, a, course, now, loc); err != nil {
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
func gradeLocked(ctx context.Context, tx models.Tx, a *models.Attempt, course *models.Course, now time.Time, loc *time.Location) error {
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
	return applyOutcome(ctx, tx, a, course, res.Passed, now, loc)
}

// applyOutcome moves the enrollment on after a graded attempt.
func applyOutcome(ctx context.Context, tx models.Tx, a *models.Attempt, course *models.Course, passed bool, now time.Time, loc *time.Location) error {
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
		return IssueCredential(ctx, tx, a.EnrollmentID, now, loc)
	}
	if a.Number >= course.Exam.Attempts {
		return models.FailEnrollment(ctx, tx.DB, a.EnrollmentID, attemptsUsedUp, now)
	}
	return nil
}

// IssueCredential issues the credential of an enrollment whose last requirement was met at
// metAt, in tx. A holder whose email is not verified yet gets no credential now: the enrollment
// keeps its requirements met and stays open, and the grading or attestation still succeeds.
// TODO: issue the credential when the holder verifies their email (a later issue).
func IssueCredential(ctx context.Context, tx models.Tx, enrollmentID uuid.UUID, metAt time.Time, loc *time.Location) error {
	_, _, err := models.IssueCredential(ctx, tx.DB, models.IssueInput{EnrollmentID: enrollmentID, IssuedAt: metAt, Location: loc, Rules: CredentialRules()})
	if errors.Is(err, models.ErrEmailUnverified) {
		return nil
	}
	return err
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
