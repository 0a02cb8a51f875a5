package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/mail/mailtest"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

const (
	liveToken = "tok_live_7K3MQ9TD"
	waitFor   = 15 * time.Second
)

var now = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

// harness is a database, a started River client and a way to enqueue emails as the API does.
type harness struct {
	db     *models.DB
	kr     *masterkey.Keyring
	client *river.Client[pgx.Tx]
	events <-chan *river.Event
}

func newHarness(t *testing.T, sender mail.Sender) *harness {
	t.Helper()
	db := pgtest.New(t)
	kr, err := masterkey.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	client, events := startWorkers(t,
		jobs.Deps{DB: db, Log: slog.New(slog.DiscardHandler), Keyring: kr, Sender: sender, Now: func() time.Time { return now }})
	return &harness{db: db, kr: kr, client: client, events: events}
}

// enqueue records msg in the outbox and enqueues its delivery in one transaction, exactly
// as the API's sendMail does, and returns the outbox and job IDs.
func (h *harness) enqueue(t *testing.T, msg mail.Message, opts *river.InsertOpts) (uuid.UUID, *rivertype.JobRow) {
	t.Helper()
	ctx := t.Context()
	full, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	red := mail.Redact(msg, liveToken)
	headers, _ := json.Marshal(red.Headers)
	row := &models.OutboxMessage{
		ID: uuid.New(), ToAddr: msg.To, Subject: red.Subject,
		TextBody: red.Text, HTMLBody: red.HTML, Headers: headers,
	}
	row.Sealed = h.kr.Seal(full, mail.SealAAD(row.ID))
	var job *rivertype.JobRow
	err = h.db.InTx(ctx, func(tx models.Tx) error {
		if err := models.CreateOutboxMessage(ctx, tx.DB, row); err != nil {
			return err
		}
		res, err := h.client.InsertTx(ctx, tx.Conn, jobs.SendEmailArgs{OutboxID: row.ID}, opts)
		if err != nil {
			return err
		}
		job = res.Job
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return row.ID, job
}

// wait returns the next event for job, failing the test after waitFor.
func (h *harness) wait(t *testing.T, jobID int64) *river.Event {
	t.Helper()
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	for {
		select {
		case ev := <-h.events:
			if ev.Job != nil && ev.Job.ID == jobID {
				return ev
			}
		case <-timeout.C:
			t.Fatalf("no event for job %d after %v", jobID, waitFor)
		}
	}
}

func (h *harness) waitKind(t *testing.T, jobID int64, want river.EventKind) *river.Event {
	t.Helper()
	ev := h.wait(t, jobID)
	if ev.Kind != want {
		t.Fatalf("job %d: event %s (state %s, errors %v), want %s", jobID, ev.Kind, ev.Job.State, ev.Job.Errors, want)
	}
	return ev
}

// row reads the outbox row, and whether its sealed copy is gone, straight from the table.
func (h *harness) row(t *testing.T, id uuid.UUID) (*models.OutboxMessage, bool) {
	t.Helper()
	m, err := models.FindOutboxMessage(t.Context(), h.db.Gorm, id)
	if err != nil {
		t.Fatal(err)
	}
	var sealedNull bool
	if err := h.db.Pool.QueryRow(t.Context(), `SELECT sealed IS NULL FROM outbox WHERE id = $1`, id).Scan(&sealedNull); err != nil {
		t.Fatal(err)
	}
	return m, sealedNull
}

func message(to string) mail.Message {
	return mail.Message{
		To:      to,
		Subject: "Confirm your email address for aalscert",
		Text:    "Open https://app.example/verify-email?token=" + liveToken + "\n",
		HTML:    `<p><a href="https://app.example/verify-email?token=` + liveToken + `">Confirm</a></p>`,
		Headers: map[string]string{"List-Unsubscribe": "<https://app.example/unsubscribe?token=" + liveToken + ">"},
	}
}

// fakeSender fails its first `failures` sends (all of them if negative) and records calls.
type fakeSender struct {
	mu       sync.Mutex
	failures int
	calls    []mail.Message
}

var errSMTPDown = errors.New("dial tcp 192.0.2.1:587: connection refused")

func (f *fakeSender) Send(_ context.Context, m mail.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, m)
	if f.failures < 0 || len(f.calls) <= f.failures {
		return errSMTPDown
	}
	return nil
}

func (f *fakeSender) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.calls) }

func (f *fakeSender) call(i int) mail.Message { f.mu.Lock(); defer f.mu.Unlock(); return f.calls[i] }

func TestSendEmailDeliversBySMTP(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{})
	sender, err := mail.NewSMTPSender(srv.URL(), "aalscert <no-reply@aalscert.example>")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, sender)
	id, job := h.enqueue(t, message("nurse@hospital.example"), nil)
	if job.MaxAttempts != 8 {
		t.Errorf("job MaxAttempts = %d, want 8", job.MaxAttempts)
	}
	h.waitKind(t, job.ID, river.EventKindJobCompleted)

	got := srv.Wait(t, 1, waitFor)
	if len(got[0].To) != 1 || got[0].To[0] != "nurse@hospital.example" {
		t.Errorf("recipients = %q, want [nurse@hospital.example]", got[0].To)
	}
	// The recipient gets the live link; only the stored copy is redacted.
	if !strings.Contains(string(got[0].Data), liveToken) {
		t.Errorf("delivered message lacks the live token:\n%s", got[0].Data)
	}
	row, sealedNull := h.row(t, id)
	if row.Status != models.OutboxSent || row.Attempts != 1 || row.LastError != nil {
		t.Errorf("row = status %s, attempts %d, last_error %v; want sent, 1, nil", row.Status, row.Attempts, row.LastError)
	}
	if row.SentAt == nil || !row.SentAt.Equal(now) {
		t.Errorf("sent_at = %v, want %v", row.SentAt, now)
	}
	if !sealedNull {
		t.Error("sealed copy kept after sending, want NULL")
	}
	if strings.Contains(row.TextBody+row.HTMLBody+string(row.Headers), liveToken) {
		t.Error("stored copy contains the live token")
	}

	t.Run("SecondRunIsNoOp", func(t *testing.T) {
		if _, err := h.client.JobRetry(t.Context(), job.ID); err != nil {
			t.Fatal(err)
		}
		h.waitKind(t, job.ID, river.EventKindJobCompleted)
		if n := len(srv.Received()); n != 1 {
			t.Fatalf("server received %d messages, want 1", n)
		}
		if row, _ := h.row(t, id); row.Status != models.OutboxSent || row.Attempts != 1 {
			t.Fatalf("row = status %s, attempts %d; want sent, 1", row.Status, row.Attempts)
		}
	})
}

func TestSendEmailWithoutSenderIsLogged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	id, job := h.enqueue(t, message("provider@example.org"), nil)
	h.waitKind(t, job.ID, river.EventKindJobCompleted)
	row, sealedNull := h.row(t, id)
	if row.Status != models.OutboxLogged || row.SentAt == nil || !row.SentAt.Equal(now) {
		t.Errorf("row = status %s, sent_at %v; want logged, %v", row.Status, row.SentAt, now)
	}
	if !sealedNull {
		t.Error("sealed copy kept, want NULL")
	}
}

func TestSendEmailToTerminalIsLogged(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	h := newHarness(t, mail.NewTerminalSender(&out))
	id, job := h.enqueue(t, message("dev@example.org"), nil)
	h.waitKind(t, job.ID, river.EventKindJobCompleted)
	if !strings.Contains(out.String(), "verify-email?token="+liveToken) {
		t.Errorf("terminal output lacks the working link:\n%s", out.String())
	}
	if row, sealedNull := h.row(t, id); row.Status != models.OutboxLogged || !sealedNull {
		t.Errorf("row = status %s, sealed dropped %v; want logged, true", row.Status, sealedNull)
	}
}

func TestSendEmailRetriesThenFails(t *testing.T) {
	t.Parallel()
	fake := &fakeSender{failures: -1}
	h := newHarness(t, fake)
	id, job := h.enqueue(t, message("nurse@hospital.example"), &river.InsertOpts{MaxAttempts: 2})

	ev := h.waitKind(t, job.ID, river.EventKindJobFailed)
	// River marks a retry due soon "available" with a later scheduled_at, else "retryable".
	if ev.Job.State != rivertype.JobStateRetryable && ev.Job.State != rivertype.JobStateAvailable {
		t.Fatalf("after attempt 1: job state %s, want retryable or available", ev.Job.State)
	}
	row, sealedNull := h.row(t, id)
	if row.Status != models.OutboxQueued || row.Attempts != 1 || row.LastError == nil || sealedNull {
		t.Fatalf("after attempt 1: status %s, attempts %d, last_error %v, sealed dropped %v; want queued, 1, set, false",
			row.Status, row.Attempts, row.LastError, sealedNull)
	}

	// Make the retry due now rather than after River's backoff.
	if _, err := h.client.JobRetry(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	ev = h.waitKind(t, job.ID, river.EventKindJobFailed)
	if ev.Job.State != rivertype.JobStateDiscarded {
		t.Fatalf("after attempt 2: job state %s, want discarded", ev.Job.State)
	}
	row, _ = h.row(t, id)
	if row.Status != models.OutboxFailed || row.Attempts != 2 || row.SentAt != nil {
		t.Fatalf("after attempt 2: status %s, attempts %d, sent_at %v; want failed, 2, nil", row.Status, row.Attempts, row.SentAt)
	}
	if row.LastError == nil || !strings.Contains(*row.LastError, "connection refused") {
		t.Fatalf("last_error = %v, want the send error", row.LastError)
	}
	if strings.Contains(*row.LastError, liveToken) {
		t.Fatalf("last_error contains the message: %s", *row.LastError)
	}
	if n := fake.count(); n != 2 {
		t.Fatalf("sender called %d times, want 2", n)
	}
}

func TestSendEmailSucceedsOnRetry(t *testing.T) {
	t.Parallel()
	fake := &fakeSender{failures: 1}
	h := newHarness(t, fake)
	id, job := h.enqueue(t, message("nurse@hospital.example"), nil)
	h.waitKind(t, job.ID, river.EventKindJobFailed)
	if _, err := h.client.JobRetry(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	h.waitKind(t, job.ID, river.EventKindJobCompleted)
	row, sealedNull := h.row(t, id)
	if row.Status != models.OutboxSent || row.Attempts != 2 || row.LastError != nil || !sealedNull {
		t.Fatalf("row = status %s, attempts %d, last_error %v, sealed dropped %v; want sent, 2, nil, true",
			row.Status, row.Attempts, row.LastError, sealedNull)
	}
	if got := fake.call(1); !strings.Contains(got.Text, liveToken) || got.To != "nurse@hospital.example" {
		t.Fatalf("sender got %+v, want the full message", got)
	}
}

func TestSendEmailRejectedRecipientFailsAtOnce(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Options{RejectRecipients: []string{"gone@hospital.example"}})
	sender, err := mail.NewSMTPSender(srv.URL(), "aalscert <no-reply@aalscert.example>")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, sender)
	id, job := h.enqueue(t, message("gone@hospital.example"), nil)
	h.waitKind(t, job.ID, river.EventKindJobCancelled)
	row, _ := h.row(t, id)
	if row.Status != models.OutboxFailed || row.Attempts != 1 || row.LastError == nil {
		t.Fatalf("row = status %s, attempts %d, last_error %v; want failed, 1, set", row.Status, row.Attempts, row.LastError)
	}
}

func TestSendEmailUnreadableMessageFails(t *testing.T) {
	t.Parallel()
	fake := &fakeSender{}
	h := newHarness(t, fake)
	// A row sealed for another row's ID cannot be opened: the AAD binds it to its own row.
	msg := message("nurse@hospital.example")
	full, _ := json.Marshal(msg)
	row := &models.OutboxMessage{ID: uuid.New(), ToAddr: msg.To, Subject: msg.Subject, TextBody: "x", HTMLBody: "x"}
	row.Sealed = h.kr.Seal(full, mail.SealAAD(uuid.New()))
	var job *rivertype.JobRow
	err := h.db.InTx(t.Context(), func(tx models.Tx) error {
		if err := models.CreateOutboxMessage(t.Context(), tx.DB, row); err != nil {
			return err
		}
		res, err := h.client.InsertTx(t.Context(), tx.Conn, jobs.SendEmailArgs{OutboxID: row.ID}, nil)
		if res != nil {
			job = res.Job
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h.waitKind(t, job.ID, river.EventKindJobCancelled)
	got, _ := h.row(t, row.ID)
	if got.Status != models.OutboxFailed || got.LastError == nil {
		t.Fatalf("row = status %s, last_error %v; want failed, set", got.Status, got.LastError)
	}
	if n := fake.count(); n != 0 {
		t.Fatalf("sender called %d times, want 0", n)
	}
}

// syncBuffer is a bytes.Buffer safe for a worker writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
