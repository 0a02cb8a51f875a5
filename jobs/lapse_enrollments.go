package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/models"
)

// LapseEnrollmentsArgs asks for enrollments past their lifetime to be lapsed.
type LapseEnrollmentsArgs struct{}

// Kind is the job kind.
func (LapseEnrollmentsArgs) Kind() string { return "lapse_enrollments" }

// LapseEnrollmentsWorker lapses every active enrollment not completed within its lifetime
// (see models.LapseEnrollments). One statement does it all, so running it twice is harmless.
type LapseEnrollmentsWorker struct {
	river.WorkerDefaults[LapseEnrollmentsArgs]
	deps Deps
}

// Work runs one pass.
func (w *LapseEnrollmentsWorker) Work(ctx context.Context, job *river.Job[LapseEnrollmentsArgs]) error {
	n, err := models.LapseEnrollments(ctx, w.deps.DB.Gorm, w.deps.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		w.deps.Log.InfoContext(ctx, "lapsed enrollments", "count", n)
	}
	return nil
}

// lapseEnrollmentsJob runs the pass hourly (and at start), once per hour across processes.
func lapseEnrollmentsJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return LapseEnrollmentsArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
