package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// Outgoing is an email to queue.
type Outgoing struct {
	// ID is the outbox row's ID, for callers that record it (a reminder); zero: a new one.
	ID       uuid.UUID
	To       string
	UserID   *uuid.UUID
	Template string         // mail template name, e.g. "verify_email"
	Data     map[string]any // template data
	Secrets  []string       // live tokens, redacted from the copy admins can read
	// Attachments go only into the sealed copy that is sent, e.g. an invoice PDF.
	Attachments []mail.Attachment
	// Headers are extra message headers, e.g. List-Unsubscribe; secrets are redacted from
	// the readable copy of them too.
	Headers map[string]string
}

// QueueMail renders o, records it in the outbox and enqueues its delivery in tx, so the
// message exists if and only if the write that caused it commits. The full message is sealed
// with keyring; the readable copy has o.Secrets redacted and no attachments.
func QueueMail(ctx context.Context, ins Inserter, keyring *masterkey.Keyring, tx models.Tx, o Outgoing) error {
	msg, err := mail.Render(o.Template, o.Data)
	if err != nil {
		return err
	}
	msg.To = o.To
	msg.Attachments = o.Attachments
	// A copy: redaction below rewrites the readable copy's headers in place.
	msg.Headers = maps.Clone(o.Headers)
	full, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if o.ID == uuid.Nil {
		o.ID = uuid.New()
	}
	red := mail.Redact(msg, o.Secrets...)
	headers, _ := json.Marshal(red.Headers)
	row := &models.OutboxMessage{
		ID: o.ID, ToAddr: o.To, UserID: o.UserID, Subject: red.Subject,
		TextBody: red.Text, HTMLBody: red.HTML, Headers: headers,
	}
	row.Sealed = keyring.Seal(full, mail.SealAAD(row.ID))
	if err := models.CreateOutboxMessage(ctx, tx.DB, row); err != nil {
		return fmt.Errorf("record email: %w", err)
	}
	if _, err := ins.InsertTx(ctx, tx.Conn, SendEmailArgs{OutboxID: row.ID}, nil); err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	return nil
}
