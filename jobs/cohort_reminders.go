package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/models"
)

// CohortRemindersArgs asks for the cohort due-date reminders owed now.
type CohortRemindersArgs struct{}

// Kind is the job kind.
func (CohortRemindersArgs) Kind() string { return "cohort_reminders" }

// CohortRemindersWorker reminds cohort invitees who have not completed the course that the
// cohort is due: 7 days before the due date and on the day, on the issuer's calendar. Each
// reminder is recorded (cohort_reminders) in the transaction that queues its email, so a
// second run, a concurrent one or a retry sends nothing twice.
type CohortRemindersWorker struct {
	river.WorkerDefaults[CohortRemindersArgs]
	deps Deps
}

// Work records the reminders owed today and queues their emails.
func (w *CohortRemindersWorker) Work(ctx context.Context, job *river.Job[CohortRemindersArgs]) error {
	n, err := SendCohortReminders(ctx, w.deps, river.ClientFromContext[pgx.Tx](ctx), w.deps.Now())
	if err == nil && n > 0 && w.deps.Log != nil {
		w.deps.Log.InfoContext(ctx, "sent cohort reminders", "emails", n)
	}
	return err
}

// cohortRemindersJob runs hourly (and at start), once per hour across processes, so a
// reminder goes out within an hour of the start of its day whatever the issuer's time zone.
func cohortRemindersJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return CohortRemindersArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// SendCohortReminders records the due-date reminders owed at now and queues one email each,
// in one transaction, and returns how many it sent. The statements are the same few however
// many invitees are owed one.
func SendCohortReminders(ctx context.Context, d Deps, ins Inserter, now time.Time) (int, error) {
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	today := civilDay(now.In(loc))
	sent := 0
	err := d.DB.InTx(ctx, func(tx models.Tx) error {
		due, err := models.ClaimCohortReminders(ctx, tx.DB, today, now)
		if err != nil || len(due) == 0 {
			return err
		}
		outboxIDs := make([]uuid.UUID, len(due))
		for i, r := range due {
			outboxIDs[i] = uuid.New()
			o := Outgoing{ID: outboxIDs[i], To: r.Email, UserID: r.UserID, Template: "cohort_due",
				Data: cohortDueData(d, r, today)}
			if err := QueueMail(ctx, ins, d.Keyring, tx, o); err != nil {
				return fmt.Errorf("cohort reminder for invitation %s: %w", r.InvitationID, err)
			}
		}
		sent = len(due)
		return models.SetCohortReminderOutboxes(ctx, tx.DB, due, outboxIDs)
	})
	if err != nil {
		return 0, fmt.Errorf("cohort reminders: %w", err)
	}
	return sent, nil
}

// cohortDueData is the cohort_due template's data.
func cohortDueData(d Deps, r models.CohortReminderDue, today time.Time) map[string]any {
	due := civilDay(r.DueDate)
	days := int(due.Sub(today).Hours() / 24)
	when := fmt.Sprintf("in %d days", days)
	switch days {
	case 0:
		when = "today"
	case 1:
		when = "tomorrow"
	}
	return map[string]any{
		"Name": r.Name, "OrgName": r.OrgName, "CohortName": r.CohortName, "Course": r.CourseCode,
		"CourseTitle": r.CourseTitle, "DueDate": due.Format("January 2, 2006"), "When": when,
		"Accepted": r.Accepted, "AppURL": d.AppURL,
	}
}
