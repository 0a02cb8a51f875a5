package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/models"
)

// sendEmailMaxAttempts spreads retries over about 80 minutes with River's default backoff
// (attempt⁴ seconds), long enough to ride out a mail server restart or a short outage.
const sendEmailMaxAttempts = 8

// maxErrorLen bounds the error kept on an outbox row; SMTP replies can be long.
const maxErrorLen = 500

// SendEmailArgs asks for one outbox message to be delivered.
type SendEmailArgs struct {
	OutboxID uuid.UUID `json:"outbox_id"`
}

// Kind is the job kind.
func (SendEmailArgs) Kind() string { return "send_email" }

// InsertOpts gives every delivery sendEmailMaxAttempts attempts; options passed to Insert
// override it.
func (SendEmailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: sendEmailMaxAttempts}
}

// SendEmailWorker delivers outbox messages by SMTP.
type SendEmailWorker struct {
	river.WorkerDefaults[SendEmailArgs]
	deps Deps
}

// Timeout bounds one attempt; the SMTP sender has its own, shorter, per-command timeout.
func (w *SendEmailWorker) Timeout(*river.Job[SendEmailArgs]) time.Duration { return 2 * time.Minute }

// Work delivers the message and records the outcome on its outbox row. It is safe to run
// twice: a message already sent or logged is left alone. Without a sender the message is
// recorded as logged. A failed attempt returns an error so River retries with backoff; the
// last one (or a recipient the server refuses for good) marks the row failed.
func (w *SendEmailWorker) Work(ctx context.Context, job *river.Job[SendEmailArgs]) error {
	id := job.Args.OutboxID
	row, err := models.FindOutboxMessage(ctx, w.deps.DB.Gorm, id)
	if models.IsNotFound(err) {
		return river.JobCancel(fmt.Errorf("outbox message %s no longer exists", id))
	}
	if err != nil {
		return fmt.Errorf("load outbox message %s: %w", id, err)
	}
	if row.Status == models.OutboxSent || row.Status == models.OutboxLogged {
		return nil
	}
	if w.deps.Sender == nil {
		return w.mark(ctx, id, models.OutboxLogged, nil)
	}
	msg, err := w.open(row)
	if err != nil {
		// Retrying cannot bring back a message that cannot be opened.
		if mErr := w.mark(ctx, id, models.OutboxFailed, err); mErr != nil {
			return mErr
		}
		return river.JobCancel(err)
	}
	if sendErr := w.deps.Sender.Send(ctx, msg); sendErr != nil {
		return w.failed(ctx, job, sendErr)
	}
	status := models.OutboxSent
	if !mail.Delivers(w.deps.Sender) {
		status = models.OutboxLogged
	}
	return w.mark(ctx, id, status, nil)
}

// open decrypts the full message sealed for this row.
func (w *SendEmailWorker) open(row *models.OutboxMessage) (mail.Message, error) {
	var m mail.Message
	if len(row.Sealed) == 0 {
		return m, errors.New("the full message is no longer stored")
	}
	plain, err := w.deps.Keyring.Open(row.Sealed, mail.SealAAD(row.ID))
	if err != nil {
		return m, errors.New("the stored message cannot be decrypted with the configured master keys")
	}
	if err := json.Unmarshal(plain, &m); err != nil {
		return m, errors.New("the stored message is not readable")
	}
	return m, nil
}

// failed records a failed attempt. The row stays queued while River will retry, and becomes
// failed after the last attempt or when the recipient is refused for good.
func (w *SendEmailWorker) failed(ctx context.Context, job *river.Job[SendEmailArgs], sendErr error) error {
	permanent := errors.Is(sendErr, mail.ErrRecipientRejected)
	final := permanent || job.Attempt >= job.MaxAttempts
	status := models.OutboxQueued
	if final {
		status = models.OutboxFailed
	}
	w.logger().Warn("email delivery failed", "outbox_id", job.Args.OutboxID, "attempt", job.Attempt,
		"max_attempts", job.MaxAttempts, "final", final, "err", sendErr)
	if err := w.mark(ctx, job.Args.OutboxID, status, sendErr); err != nil {
		return errors.Join(sendErr, err)
	}
	if permanent {
		return river.JobCancel(sendErr)
	}
	return sendErr
}

// mark records the outcome. It outlives the job's context: once a message has gone out, a
// timeout must not leave the row queued, or the retry would send it again.
func (w *SendEmailWorker) mark(ctx context.Context, id uuid.UUID, status string, sendErr error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if sendErr != nil {
		sendErr = errors.New(truncate(sendErr.Error(), maxErrorLen))
	}
	if err := models.MarkOutboxResult(ctx, w.deps.DB.Gorm, id, status, sendErr, w.deps.Now()); err != nil {
		return fmt.Errorf("record outcome of outbox message %s: %w", id, err)
	}
	return nil
}

func (w *SendEmailWorker) logger() *slog.Logger {
	if w.deps.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.deps.Log
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
