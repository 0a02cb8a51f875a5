package jobs

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/models"
)

// EmitCredentialEvent records an event of a credential in the feed of every org watching its
// holder or having them in a cohort, and enqueues its webhook deliveries, all in tx: the
// transaction of the change, so the change, its events and their deliveries commit together.
func EmitCredentialEvent(ctx context.Context, ins Inserter, tx models.Tx, typ string, credentialID uuid.UUID, now time.Time) error {
	targets, err := models.EmitCredentialEvent(ctx, tx.DB, typ, credentialID, now)
	if err != nil {
		return err
	}
	return EnqueueWebhookDeliveries(ctx, ins, tx, targets)
}

// OrgTimeEventsArgs asks for the events that come from time passing: credentials entering
// their last 60 days, and credentials that ended.
type OrgTimeEventsArgs struct{}

// Kind names the job.
func (OrgTimeEventsArgs) Kind() string { return "org_time_events" }

// OrgTimeEventsWorker emits credential.expiring and credential.expired, each once per
// credential, with one set-based statement.
type OrgTimeEventsWorker struct {
	river.WorkerDefaults[OrgTimeEventsArgs]
	deps Deps
}

// Work emits the events due at now and enqueues their deliveries in the same transaction.
func (w *OrgTimeEventsWorker) Work(ctx context.Context, job *river.Job[OrgTimeEventsArgs]) error {
	ins := river.ClientFromContext[pgx.Tx](ctx)
	return w.deps.DB.InTx(ctx, func(tx models.Tx) error {
		targets, err := models.EmitTimeEvents(ctx, tx.DB, w.deps.Now())
		if err != nil {
			return err
		}
		return EnqueueWebhookDeliveries(ctx, ins, tx, targets)
	})
}

// orgTimeEventsJob runs the time events hourly.
func orgTimeEventsJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return OrgTimeEventsArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
