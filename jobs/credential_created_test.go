package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

const (
	certPublicURL = "https://certs.example"
	certAppURL    = "https://app.example"
)

// certHarness is a database with the courses, and a started River client working every job
// with the public and app URLs set.
type certHarness struct {
	db     *models.DB
	client *river.Client[pgx.Tx]
	events <-chan *river.Event
	sender *captureSender
}

func newCertHarness(t *testing.T) *certHarness {
	t.Helper()
	db := pgtest.New(t)
	if _, err := content.SeedCourses(t.Context(), db.Gorm); err != nil {
		t.Fatal(err)
	}
	kr, err := masterkey.New(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sender := &captureSender{got: make(chan mail.Message, 16)}
	client, events := startWorkers(t, jobs.Deps{DB: db, Log: slog.New(slog.DiscardHandler), Keyring: kr, Sender: sender,
		Now: func() time.Time { return now }, PublicURL: certPublicURL, AppURL: certAppURL})
	return &certHarness{db: db, client: client, events: events, sender: sender}
}

// waitJob returns the event that ends job id.
func (h *certHarness) waitJob(t *testing.T, id int64) *river.Event {
	t.Helper()
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	for {
		select {
		case ev := <-h.events:
			if ev.Job != nil && ev.Job.ID == id {
				return ev
			}
		case <-timeout.C:
			t.Fatalf("job %d did not finish within %v", id, waitFor)
		}
	}
}

// issue gives a new verified holder an AALS credential through jobs.IssueCredential, as a
// pass does, and returns the credential with the follow-up job queued with it.
func (h *certHarness) issue(t *testing.T, email, name string) (*models.Credential, *rivertype.JobRow) {
	t.Helper()
	ctx := t.Context()
	verified := now.Add(-time.Hour)
	u := &models.User{Email: email, Name: name, EmailVerifiedAt: &verified, PasswordHash: "x"}
	if err := models.CreateUser(ctx, h.db.Gorm, u); err != nil {
		t.Fatal(err)
	}
	enr := &models.Enrollment{UserID: u.ID, CourseCode: "AALS", Offering: "initial", Status: models.EnrollmentActive}
	if err := models.CreateEnrollment(ctx, h.db.Gorm, enr, nil); err != nil {
		t.Fatal(err)
	}
	iss := jobs.Issuance{Jobs: h.client, PublicURL: certPublicURL, Location: time.UTC}
	err := h.db.InTx(ctx, func(tx models.Tx) error {
		if err := models.MarkExamPassed(ctx, tx.DB, enr.ID, now); err != nil {
			return err
		}
		return jobs.IssueCredential(ctx, tx, iss, enr.ID, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	var c models.Credential
	if err := h.db.Gorm.First(&c, "enrollment_id = ?", enr.ID).Error; err != nil {
		t.Fatalf("no credential issued: %v", err)
	}
	return &c, h.followUp(t, c.ID)
}

// followUp returns the credential_created job of a credential, failing unless there is
// exactly one.
func (h *certHarness) followUp(t *testing.T, id uuid.UUID) *rivertype.JobRow {
	t.Helper()
	res, err := h.client.JobList(t.Context(), river.NewJobListParams().Kinds("credential_created").First(100))
	if err != nil {
		t.Fatal(err)
	}
	var found []*rivertype.JobRow
	for _, j := range res.Jobs {
		var args jobs.CredentialCreatedArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			t.Fatal(err)
		}
		if args.CredentialID == id {
			found = append(found, j)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d follow-up jobs for credential %s, want 1", len(found), id)
	}
	return found[0]
}

// queued counts the emails recorded in the outbox for an address.
func (h *certHarness) queued(t *testing.T, to string) int {
	t.Helper()
	var n int
	if err := h.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE to_addr = $1`, to).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// delivered returns the next message the send_email job delivered, as the mail server got it.
func (h *certHarness) delivered(t *testing.T) mail.Message {
	t.Helper()
	select {
	case m := <-h.sender.got:
		return m
	case <-time.After(waitFor):
		t.Fatalf("no email delivered within %v", waitFor)
	}
	return mail.Message{}
}

// captureSender keeps every message handed to it for delivery.
type captureSender struct{ got chan mail.Message }

func (s *captureSender) Send(_ context.Context, m mail.Message) error {
	s.got <- m
	return nil
}

func (h *certHarness) storedPDF(t *testing.T, id uuid.UUID) (pdf []byte, createdAt time.Time, rows int) {
	t.Helper()
	if err := h.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM credential_pdfs WHERE credential_id = $1`, id).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows == 0 {
		return nil, time.Time{}, 0
	}
	if err := h.db.Pool.QueryRow(t.Context(), `SELECT pdf, created_at FROM credential_pdfs WHERE credential_id = $1`, id).Scan(&pdf, &createdAt); err != nil {
		t.Fatal(err)
	}
	return pdf, createdAt, rows
}

// runAgain makes River run a finished job once more, as it does when a worker crashed after
// doing the work but before the job was marked completed.
func (h *certHarness) runAgain(t *testing.T, id int64) *river.Event {
	t.Helper()
	if _, err := h.db.Pool.Exec(t.Context(), `UPDATE river_job SET state = 'available', finalized_at = NULL,
		scheduled_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return h.waitJob(t, id)
}

func TestCredentialCreatedStoresPDFAndEmailsHolderOnce(t *testing.T) {
	t.Parallel()
	h := newCertHarness(t)
	const to = "jose@example.org"
	c, job := h.issue(t, to, "José Núñez")
	if ev := h.waitJob(t, job.ID); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("follow-up: %s, errors %v", ev.Kind, ev.Job.Errors)
	}

	pdf, createdAt, rows := h.storedPDF(t, c.ID)
	if rows != 1 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("%d stored certificates (starting %q), want one PDF", rows, pdf[:min(5, len(pdf))])
	}
	if n := h.queued(t, to); n != 1 {
		t.Fatalf("%d emails to the holder, want 1", n)
	}
	m := h.delivered(t)
	if m.To != to {
		t.Fatalf("email went to %s, want %s", m.To, to)
	}
	if want := "Your Advanced"; !strings.HasPrefix(m.Subject, want) || !strings.HasSuffix(m.Subject, "credential") {
		t.Errorf("subject %q, want \"Your <course title> credential\"", m.Subject)
	}
	for _, want := range []string{"José Núñez", c.Code, certPublicURL + "/verify/" + c.Code, certAppURL,
		c.ValidThrough.Format("January 2, 2006"), "attached"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("email does not say %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "replaces") || strings.Contains(m.Text, "Forgot password") {
		t.Errorf("email of a first issue speaks of a reissue or an import:\n%s", m.Text)
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("%d attachments, want the certificate", len(m.Attachments))
	}
	a := m.Attachments[0]
	if a.Filename != c.Code+".pdf" || a.ContentType != "application/pdf" || !bytes.Equal(a.Data, pdf) {
		t.Errorf("attachment %s (%s, %d bytes), want %s.pdf, application/pdf, the stored certificate",
			a.Filename, a.ContentType, len(a.Data), c.Code)
	}
	var notified *time.Time
	if err := h.db.Pool.QueryRow(t.Context(), `SELECT notified_at FROM credentials WHERE id = $1`, c.ID).Scan(&notified); err != nil {
		t.Fatal(err)
	}
	if notified == nil {
		t.Error("notified_at is not set after the email was queued")
	}

	if ev := h.runAgain(t, job.ID); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("second run: %s, errors %v", ev.Kind, ev.Job.Errors)
	}
	again, againAt, rows := h.storedPDF(t, c.ID)
	if rows != 1 || !bytes.Equal(again, pdf) || !againAt.Equal(createdAt) {
		t.Error("the second run replaced the stored certificate")
	}
	if n := h.queued(t, to); n != 1 {
		t.Errorf("%d emails after a second run, want 1", n)
	}
}

func TestCredentialCreatedRecordsPublicURLAtFirstIssue(t *testing.T) {
	t.Parallel()
	h := newCertHarness(t)
	h.issue(t, "first@example.org", "First Holder")
	if err := models.CheckPublicURL(t.Context(), h.db.Gorm, "https://elsewhere.example"); !errors.Is(err, models.ErrPublicURLChanged) {
		t.Fatalf("CheckPublicURL(another URL) = %v, want ErrPublicURLChanged", err)
	}
	if err := models.CheckPublicURL(t.Context(), h.db.Gorm, certPublicURL); err != nil {
		t.Fatalf("CheckPublicURL(the issuing URL) = %v", err)
	}
}

func TestCredentialCreatedForUnknownCredentialIsCancelled(t *testing.T) {
	t.Parallel()
	h := newCertHarness(t)
	res, err := h.client.Insert(t.Context(), jobs.CredentialCreatedArgs{CredentialID: uuid.New()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev := h.waitJob(t, res.Job.ID); ev.Kind != river.EventKindJobCancelled {
		t.Fatalf("job for an unknown credential: %s, want cancelled", ev.Kind)
	}
}

// TestCredentialCreatedEmailsSayWhereTheCredentialCameFrom: a reissue says it replaces the
// earlier credential after the name change; an import says it was moved in and how to sign in.
func TestCredentialCreatedEmailsSayWhereTheCredentialCameFrom(t *testing.T) {
	t.Parallel()
	h := newCertHarness(t)
	orig, job := h.issue(t, "ana@example.org", "Ana Pérez")
	h.waitJob(t, job.ID)
	h.delivered(t) // the first issue's email
	legacy := "LEG-0042"
	for _, tc := range []struct {
		source string
		edit   func(c *models.Credential)
		want   []string
	}{
		{models.CredentialReissued, func(c *models.Credential) { c.ReissueOf, c.HolderName = &orig.ID, "Ana Pérez García" },
			[]string{"reissued in your new name", "replaces the earlier one", "Ana Pérez García"}},
		{models.CredentialImported, func(c *models.Credential) { c.EnrollmentID, c.LegacyID = uuid.Nil, &legacy },
			[]string{"moved into aalscert", "Forgot password", certAppURL}},
	} {
		t.Run(tc.source, func(t *testing.T) {
			c := *orig
			c.ID, c.Code, c.Source, c.NotifiedAt = uuid.Nil, "", tc.source, nil
			tc.edit(&c)
			err := h.db.InTx(t.Context(), func(tx models.Tx) error {
				if _, err := models.InsertCredential(t.Context(), tx.DB, &c, jobs.IssueRules(certPublicURL), nil, tc.source, now); err != nil {
					return err
				}
				return jobs.CredentialCreated(t.Context(), h.client, tx, c.ID)
			})
			if err != nil {
				t.Fatal(err)
			}
			if ev := h.waitJob(t, h.followUp(t, c.ID).ID); ev.Kind != river.EventKindJobCompleted {
				t.Fatalf("follow-up: %s, errors %v", ev.Kind, ev.Job.Errors)
			}
			m := h.delivered(t)
			if !strings.Contains(m.Text, c.Code) {
				t.Fatalf("the email does not name the new credential %s:\n%s", c.Code, m.Text)
			}
			for _, want := range tc.want {
				if !strings.Contains(m.Text, want) {
					t.Errorf("email does not say %q:\n%s", want, m.Text)
				}
			}
			if len(m.Attachments) != 1 || m.Attachments[0].Filename != c.Code+".pdf" {
				t.Errorf("attachments %v, want %s.pdf", m.Attachments, c.Code)
			}
		})
	}
}
