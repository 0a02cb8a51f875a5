package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/models"
)

// Inserter enqueues jobs in a transaction: the River client does, and so does the client a
// worker finds in its context (river.ClientFromContext).
type Inserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// IssueRules are CredentialRules with the public URL to record at the first issuance.
func IssueRules(publicURL string) models.IssueRules {
	r := CredentialRules()
	r.PublicURL = publicURL
	return r
}

// CredentialCreatedArgs is the follow-up of a new credential (issued, reissued or imported):
// its PDF certificate is rendered and stored, and its holder is emailed.
type CredentialCreatedArgs struct {
	CredentialID uuid.UUID `json:"credential_id"`
}

// Kind names the job.
func (CredentialCreatedArgs) Kind() string { return "credential_created" }

// InsertOpts makes the follow-up unique per credential.
func (CredentialCreatedArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// CredentialCreated enqueues the follow-up of a new credential in tx, the transaction that
// created it, so the credential and its follow-up commit or roll back together.
func CredentialCreated(ctx context.Context, ins Inserter, tx models.Tx, credentialID uuid.UUID) error {
	if _, err := ins.InsertTx(ctx, tx.Conn, CredentialCreatedArgs{CredentialID: credentialID}, nil); err != nil {
		return fmt.Errorf("enqueue follow-up of credential %s: %w", credentialID, err)
	}
	return nil
}

// CredentialCreatedWorker renders the certificate and emails the holder.
type CredentialCreatedWorker struct {
	river.WorkerDefaults[CredentialCreatedArgs]
	deps Deps
}

// Work renders and stores the certificate once, then emails the holder once, with the
// certificate attached. It is safe to run again: a stored certificate is kept, and the email
// is queued in the same transaction that sets the credential's notified_at, only by the run
// that set it. A job for a credential that no longer exists is cancelled.
func (w *CredentialCreatedWorker) Work(ctx context.Context, job *river.Job[CredentialCreatedArgs]) error {
	id := job.Args.CredentialID
	c, err := models.FindCredential(ctx, w.deps.DB.Gorm, id)
	if models.IsNotFound(err) {
		return river.JobCancel(fmt.Errorf("credential %s no longer exists", id))
	}
	if err != nil {
		return fmt.Errorf("load credential %s: %w", id, err)
	}
	pdf, err := CertificatePDF(ctx, w.deps.DB.Gorm, c, w.deps.PublicURL, w.deps.Now())
	if err != nil {
		return fmt.Errorf("certificate of credential %s: %w", id, err)
	}
	ins := river.ClientFromContext[pgx.Tx](ctx)
	return w.deps.DB.InTx(ctx, func(tx models.Tx) error {
		first, err := models.MarkCredentialNotified(ctx, tx.DB, id, w.deps.Now())
		if err != nil || !first {
			return err
		}
		// The orgs watching the holder learn of it once, with the holder's email.
		if err := emitCreated(ctx, ins, tx, c, w.deps.Now()); err != nil {
			return err
		}
		o, err := w.email(ctx, tx, c, pdf)
		if err != nil {
			return err
		}
		return QueueMail(ctx, ins, w.deps.Keyring, tx, o)
	})
}

// email is the message telling the holder of c about it.
func (w *CredentialCreatedWorker) email(ctx context.Context, tx models.Tx, c *models.Credential, pdf []byte) (Outgoing, error) {
	u, err := models.FindUser(ctx, tx.DB, c.UserID)
	if err != nil {
		return Outgoing{}, err
	}
	course, err := models.FindCourse(ctx, tx.DB, c.CourseCode)
	if err != nil {
		return Outgoing{}, err
	}
	return Outgoing{
		To: u.Email, UserID: &u.ID, Template: "credential_issued",
		Data: map[string]any{
			"Name": c.HolderName, "Course": course.Title, "Code": c.Code,
			"ValidThrough": c.ValidThrough.Format("January 2, 2006"),
			"VerifyURL":    VerifyURL(w.deps.PublicURL, c.Code), "AppURL": w.deps.AppURL,
			"Reissued": c.Source == models.CredentialReissued, "Imported": c.Source == models.CredentialImported,
		},
		Attachments: []mail.Attachment{{Filename: c.Code + ".pdf", ContentType: "application/pdf", Data: pdf}},
	}, nil
}

// emitCreated records the org events of a new credential: issued or renewed, or for a
// reissue, that the credential it replaces is superseded. Imported credentials predate the
// service, so they announce nothing.
func emitCreated(ctx context.Context, ins Inserter, tx models.Tx, c *models.Credential, now time.Time) error {
	switch {
	case c.Source == models.CredentialReissued && c.ReissueOf != nil:
		return EmitCredentialEvent(ctx, ins, tx, models.EventCredentialSuperseded, *c.ReissueOf, now)
	case c.Source == models.CredentialIssued && c.Renews != nil:
		return EmitCredentialEvent(ctx, ins, tx, models.EventCredentialRenewed, c.ID, now)
	case c.Source == models.CredentialIssued:
		return EmitCredentialEvent(ctx, ins, tx, models.EventCredentialIssued, c.ID, now)
	}
	return nil
}
