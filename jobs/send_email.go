package jobs

import (
	"context"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// SendEmailArgs asks for one outbox message to be delivered.
type SendEmailArgs struct {
	OutboxID uuid.UUID `json:"outbox_id"`
}

// Kind is the job kind.
func (SendEmailArgs) Kind() string { return "send_email" }

// SendEmailWorker delivers outbox messages by SMTP.
type SendEmailWorker struct {
	river.WorkerDefaults[SendEmailArgs]
	deps Deps
}

// Work delivers the message. (Completed in the mail work.)
func (w *SendEmailWorker) Work(ctx context.Context, job *river.Job[SendEmailArgs]) error {
	return nil
}
