package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/models"
)

// PruneArgs asks for data past its retention period to be deleted.
type PruneArgs struct{}

// Kind is the job kind.
func (PruneArgs) Kind() string { return "prune" }

// PruneWorker deletes data past its retention period (see models.PruneExpired).
type PruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	deps Deps
}

// Work runs one pass.
func (w *PruneWorker) Work(ctx context.Context, job *river.Job[PruneArgs]) error {
	res, err := models.PruneExpired(ctx, w.deps.DB.Gorm, w.deps.Now())
	if err != nil {
		return err
	}
	w.deps.Log.InfoContext(ctx, "pruned expired data", "deleted", map[string]int64(res))
	return nil
}

// periodicJobs are run by the elected leader only, so several servers and workers never do
// the same periodic work twice.
func periodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
			return PruneArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
		}, &river.PeriodicJobOpts{RunOnStart: true}),
		lapseEnrollmentsJob(),
		gradeExpiredAttemptsJob(),
		reminderScanJob(),
		orgDigestJob(),
		cohortRemindersJob(),
		orgTimeEventsJob(),
	}
}
