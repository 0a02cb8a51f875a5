package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/linktoken"
	"github.com/aalscert/aalscert/models"
)

// Lifetimes of the links in a reminder.
const (
	// renewLinkMargin keeps a renewal link working a month past the course's renewal window
	// (which ends RenewalWindowAfterDays after expiry), so a late click reaches the renewal
	// page, which can still say what to do, rather than a dead link.
	renewLinkMargin = 30 * 24 * time.Hour
	// renewLinkMin is the least a renewal link lives, for reminders far past expiry.
	renewLinkMin = 30 * 24 * time.Hour
	// unsubscribeLinkTTL keeps the unsubscribe link of an old email working for a whole
	// credential cycle.
	unsubscribeLinkTTL = 2 * 365 * 24 * time.Hour
)

// SendReminderArgs asks for the email of one recorded reminder to be queued.
type SendReminderArgs struct {
	ReminderID uuid.UUID `json:"reminder_id"`
}

// Kind is the job kind.
func (SendReminderArgs) Kind() string { return "send_reminder" }

// SendReminderWorker queues the emails of reminders a scan recorded.
type SendReminderWorker struct {
	river.WorkerDefaults[SendReminderArgs]
	deps Deps
}

// Work runs SendReminder with the worker's River client.
func (w *SendReminderWorker) Work(ctx context.Context, job *river.Job[SendReminderArgs]) error {
	err := SendReminder(ctx, w.deps, river.ClientFromContext[pgx.Tx](ctx), job.Args.ReminderID)
	if models.IsNotFound(err) {
		return river.JobCancel(err)
	}
	return err
}

// SendReminder queues the email of a pending reminder and marks it queued, in one transaction
// holding the reminder's row lock, so the email is queued once however often this runs; the
// send_email job then delivers it with retries. A reminder that is no longer pending is left
// alone. One whose credential stopped being active, was renewed, or whose holder opted out
// since the scan is marked skipped with the reason. It returns ErrNotFound for an unknown
// reminder.
func SendReminder(ctx context.Context, d Deps, ins Inserter, id uuid.UUID) error {
	return d.DB.InTx(ctx, func(tx models.Tx) error {
		r, err := models.LockReminder(ctx, tx.DB, id)
		if err != nil {
			return fmt.Errorf("reminder %s: %w", id, err)
		}
		if r.Status != models.ReminderPending {
			return nil
		}
		reason, err := models.ReminderSkipReason(ctx, tx.DB, r.CredentialID)
		if err != nil {
			return fmt.Errorf("reminder %s: %w", id, err)
		}
		if reason != "" {
			return models.MarkReminderSkipped(ctx, tx.DB, id, reason)
		}
		o, err := reminderEmail(ctx, d, tx, r)
		if err != nil {
			return fmt.Errorf("reminder %s: %w", id, err)
		}
		if err := QueueMail(ctx, ins, d.Keyring, tx, o); err != nil {
			return fmt.Errorf("reminder %s: %w", id, err)
		}
		return models.MarkReminderQueued(ctx, tx.DB, id, o.ID, d.now())
	})
}

// reminderEmail is the reminder to the holder: what expires and when, counted from the day it
// is queued (a reminder sent late says so truthfully), a renewal link and an unsubscribe link,
// both also in the RFC 8058 one-click headers' reach.
func reminderEmail(ctx context.Context, d Deps, tx models.Tx, r *models.Reminder) (Outgoing, error) {
	links, err := d.links()
	if err != nil {
		return Outgoing{}, err
	}
	c, err := models.FindCredential(ctx, tx.DB, r.CredentialID)
	if err != nil {
		return Outgoing{}, err
	}
	u, err := models.FindUser(ctx, tx.DB, r.UserID)
	if err != nil {
		return Outgoing{}, err
	}
	course, err := models.FindCourse(ctx, tx.DB, c.CourseCode)
	if err != nil {
		return Outgoing{}, err
	}
	now := d.now()
	renewTTL := max(c.ValidUntil.AddDate(0, 0, course.RenewalWindowAfterDays).Add(renewLinkMargin).Sub(now), renewLinkMin)
	renew := links.Sign(linktoken.PurposeRenew, c.ID.String(), renewTTL)
	unsub := links.Sign(linktoken.PurposeUnsubscribe, u.ID.String(), unsubscribeLinkTTL)
	unsubURL := d.AppURL + "/unsubscribe?token=" + url.QueryEscape(unsub)
	left := daysLeft(c.ValidThrough, now, d.Location)
	return Outgoing{
		ID: uuid.New(), To: u.Email, UserID: &u.ID, Template: "reminder",
		Data: map[string]any{
			"Name": c.HolderName, "Course": course.Title, "CourseCode": c.CourseCode, "Code": c.Code,
			"ValidThrough": c.ValidThrough.UTC().Format("January 2, 2006"),
			"Expired":      left < 0, "Today": left == 0, "DaysLeft": plural(left, "day"),
			"RenewURL":       d.AppURL + "/renew?token=" + url.QueryEscape(renew),
			"UnsubscribeURL": unsubURL,
		},
		Secrets: []string{renew, unsub},
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsubURL + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}, nil
}

// now is d.Now, or the wall clock for Deps built by hand (tests, benchmarks).
func (d Deps) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// links is d.Links, or the codec NewClient would derive from d.Keyring.
func (d Deps) links() (*linktoken.Codec, error) {
	if d.Links != nil {
		return d.Links, nil
	}
	if d.Keyring == nil {
		return nil, errors.New("no link signer: Deps.Links and Deps.Keyring are unset")
	}
	return linktoken.New(d.Keyring.DeriveKeys("link-token"), d.Now)
}

// daysLeft counts the calendar days from now's day on the issuer's calendar to through (a
// date as midnight UTC): 0 on the day itself, negative after it.
func daysLeft(through, now time.Time, loc *time.Location) int {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return int(through.UTC().Sub(today).Hours() / 24)
}

func plural(n int, unit string) string {
	if n == 1 || n == -1 {
		return strconv.Itoa(n) + " " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
