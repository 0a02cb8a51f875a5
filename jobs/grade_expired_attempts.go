package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/models"
)

// GradeExpiredAttemptsArgs asks for attempts left open past their deadline to be graded.
type GradeExpiredAttemptsArgs struct{}

// Kind is the job kind.
func (GradeExpiredAttemptsArgs) Kind() string { return "grade_expired_attempts" }

// gradeExpiredBatch bounds one pass; the next pass, a minute later, takes the rest.
const gradeExpiredBatch = 500

// GradeExpiredAttemptsWorker grades every attempt still in progress past its deadline with
// the answers saved, each in its own transaction through GradeAttempt (the learner's submit
// does the same), so a learner who submits at that moment is graded once either way.
type GradeExpiredAttemptsWorker struct {
	river.WorkerDefaults[GradeExpiredAttemptsArgs]
	deps Deps
}

// Work runs one pass. A failure to grade one attempt does not stop the others; the job
// fails (and is retried) if any failed.
func (w *GradeExpiredAttemptsWorker) Work(ctx context.Context, job *river.Job[GradeExpiredAttemptsArgs]) error {
	now := w.deps.Now()
	ids, err := models.ListOpenPastDeadline(ctx, w.deps.DB.Gorm, now, gradeExpiredBatch)
	if err != nil {
		return err
	}
	iss := Issuance{Jobs: river.ClientFromContext[pgx.Tx](ctx), PublicURL: w.deps.PublicURL, Location: w.deps.Location}
	var errs []error
	for _, id := range ids {
		if _, err := GradeAttempt(ctx, w.deps.DB, iss, id, now); err != nil {
			errs = append(errs, err)
		}
	}
	if n := len(ids) - len(errs); n > 0 {
		w.deps.Log.InfoContext(ctx, "graded expired attempts", "count", n)
	}
	return errors.Join(errs...)
}

// gradeExpiredAttemptsJob runs the pass every minute (and at start), once per minute across
// processes, so an abandoned attempt is graded within about a minute of its deadline.
func gradeExpiredAttemptsJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
		return GradeExpiredAttemptsArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
