package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aalscert/aalscert/models"
)

// ReminderScanArgs asks for a reminder scan.
type ReminderScanArgs struct {
	// Requested marks a scan a platform admin asked for, unique apart from the hourly one so
	// that it is not mistaken for the hour's scan that already ran.
	Requested bool `json:"requested,omitempty"`
}

// Kind is the job kind.
func (ReminderScanArgs) Kind() string { return "reminder_scan" }

// ReminderScanWorker runs ScanReminders.
type ReminderScanWorker struct {
	river.WorkerDefaults[ReminderScanArgs]
	deps Deps
}

// Timeout leaves room for a scan after a long outage, which covers many days at once.
func (w *ReminderScanWorker) Timeout(*river.Job[ReminderScanArgs]) time.Duration {
	return 10 * time.Minute
}

// Work runs one scan.
func (w *ReminderScanWorker) Work(ctx context.Context, job *river.Job[ReminderScanArgs]) error {
	res, err := ScanReminders(ctx, w.deps, river.ClientFromContext[pgx.Tx](ctx), w.deps.Now())
	if err != nil {
		return err
	}
	if w.deps.Log != nil && (res.Queued > 0 || res.Skipped > 0) {
		w.deps.Log.InfoContext(ctx, "reminder scan", "from", res.FromDay.Format(time.DateOnly),
			"through", res.ThroughDay.Format(time.DateOnly), "queued", res.Queued, "skipped", res.Skipped)
	}
	return nil
}

// reminderScanJob scans hourly (and at start), once per hour across processes. Hourly keeps
// a reminder within an hour of the start of its day, whatever the issuer's time zone.
func reminderScanJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return ReminderScanArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// JobInserter inserts single jobs outside a transaction: the River client.
type JobInserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// RequestReminderScan enqueues a scan to run now. While a requested scan waits or runs, another
// request returns that job (UniqueSkippedAsDuplicate) instead of adding one.
func RequestReminderScan(ctx context.Context, ins JobInserter) (*rivertype.JobInsertResult, error) {
	res, err := ins.Insert(ctx, ReminderScanArgs{Requested: true}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
	}})
	if err != nil {
		return nil, fmt.Errorf("enqueue reminder scan: %w", err)
	}
	return res, nil
}

// BatchInserter inserts many jobs in a transaction: the River client, and the client a worker
// finds in its context.
type BatchInserter interface {
	InsertManyFastTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) (int, error)
}

// ScanResult is what one scan did.
type ScanResult struct {
	// FromDay and ThroughDay are the calendar days the scan covered; FromDay is after
	// ThroughDay when an earlier scan had covered them all.
	FromDay, ThroughDay time.Time
	Queued              int // reminders recorded, each with a send_reminder job
	Skipped             int // reminders recorded as skipped: the holder opted out
}

// ScanReminders records the reminders due since the last scan, up to now's day on the
// issuer's calendar (d.Location), and enqueues a send_reminder job for each, in one
// transaction with the reminder_scans row that marks those days done. It covers the days after
// the last scan's, so days the service was down are caught up; the first scan ever covers only
// its own day. Scans hold an advisory lock for their transaction, so concurrent ones run one
// after the other and the later finds nothing left; the unique (credential, offset) of
// reminders would stop a duplicate even without it.
func ScanReminders(ctx context.Context, d Deps, ins BatchInserter, now time.Time) (ScanResult, error) {
	started := time.Now()
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	y, m, day := now.In(loc).Date()
	today := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	res := ScanResult{FromDay: today, ThroughDay: today}
	err := d.DB.InTx(ctx, func(tx models.Tx) error {
		if err := models.LockReminderScans(ctx, tx.DB); err != nil {
			return err
		}
		last, err := models.LastReminderScan(ctx, tx.DB)
		switch {
		case err == nil:
			res.FromDay = last.ThroughDay.UTC().AddDate(0, 0, 1)
			if last.ThroughDay.After(today) {
				// The clock went back: never scan a day twice.
				res.ThroughDay = last.ThroughDay.UTC()
			}
		case !models.IsNotFound(err):
			return err
		}
		if !res.FromDay.After(res.ThroughDay) {
			if err := recordAndEnqueue(ctx, tx, ins, &res, now); err != nil {
				return err
			}
		}
		return models.CreateReminderScan(ctx, tx.DB, &models.ReminderScan{FromDay: res.FromDay,
			ThroughDay: res.ThroughDay, Found: res.Queued + res.Skipped, StartedAt: now, FinishedAt: now.Add(time.Since(started))})
	})
	if err != nil {
		return ScanResult{}, fmt.Errorf("reminder scan: %w", err)
	}
	return res, nil
}

// recordAndEnqueue records the reminders due in res's days and enqueues one send_reminder job
// per pending one, in tx.
func recordAndEnqueue(ctx context.Context, tx models.Tx, ins BatchInserter, res *ScanResult, now time.Time) error {
	due, err := models.RecordDueReminders(ctx, tx.DB, res.FromDay, res.ThroughDay, now)
	if err != nil {
		return err
	}
	res.Queued, res.Skipped = len(due.Pending), due.Skipped
	if len(due.Pending) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(due.Pending))
	for i, id := range due.Pending {
		params[i] = river.InsertManyParams{Args: SendReminderArgs{ReminderID: id}}
	}
	if _, err := ins.InsertManyFastTx(ctx, tx.Conn, params); err != nil {
		return fmt.Errorf("enqueue %d reminders: %w", len(params), err)
	}
	return nil
}
