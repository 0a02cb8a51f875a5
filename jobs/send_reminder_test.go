package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/linktoken"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/mail/mailtest"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// dueToday gives n fresh holders a credential valid through 2028-11-30, whose 90-day reminder
// is due on 2028-09-01.
func (h *reminderHarness) dueToday(t *testing.T, n int, prefix string) []*models.Credential {
	t.Helper()
	out := make([]*models.Credential, n)
	for i := range n {
		out[i] = h.issue(t, h.holder(t, prefix+"-"+uuid.NewString()[:8]), at(2026, 11, 12, 12, 0))
	}
	return out
}

func (h *reminderHarness) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := h.db.Pool.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestConcurrentScansSendEachReminderOnce runs four scans at once, each in its own
// transaction, and then every send_reminder job twice at once: each reminder is recorded,
// enqueued and emailed exactly once.
func TestConcurrentScansSendEachReminderOnce(t *testing.T) {
	t.Parallel()
	h := newReminderHarness(t)
	const n = 20
	h.dueToday(t, n, "race")
	now := at(2028, 9, 1, 0, 10)
	h.clock.Set(now)

	const scanners = 4
	results := make([]jobs.ScanResult, scanners)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range scanners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var err error
			if results[i], err = jobs.ScanReminders(context.Background(), h.deps, h.client, now); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	queued := 0
	for _, r := range results {
		queued += r.Queued
	}
	if queued != n {
		t.Errorf("scans recorded %d reminders in all (%+v), want %d", queued, results, n)
	}
	if got := h.count(t, `SELECT count(*) FROM reminders`); got != n {
		t.Errorf("%d reminder rows, want %d", got, n)
	}
	if got := h.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_reminder'`); got != n {
		t.Errorf("%d send_reminder jobs, want %d", got, n)
	}
	if got := h.count(t, `SELECT count(*) FROM reminder_scans WHERE found > 0`); got != 1 {
		t.Errorf("%d scans found reminders, want 1: the others waited and found the day covered", got)
	}

	// Two workers per reminder at once, as after a worker was presumed dead and its job rescued.
	var ids []uuid.UUID
	rows, err := h.db.Pool.Query(t.Context(), `SELECT id FROM reminders`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := jobs.SendReminder(context.Background(), h.deps, h.client, id); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if got := h.count(t, `SELECT count(*) FROM outbox`); got != n {
		t.Errorf("%d emails queued, want %d", got, n)
	}
	if got := h.count(t, `SELECT count(DISTINCT outbox_id) FROM reminders WHERE status = 'queued'`); got != n {
		t.Errorf("%d reminders queued with an email, want %d", got, n)
	}
}

// TestSendReminderChecksAgainAndWritesTheEmail: between the scan and the email, one credential
// is revoked, one renewed and one holder opts out; those are skipped with the reason, the
// fourth is emailed once, with working links that the stored copy does not show.
func TestSendReminderChecksAgainAndWritesTheEmail(t *testing.T) {
	t.Parallel()
	h := newReminderHarness(t)
	ctx := t.Context()
	creds := h.dueToday(t, 4, "recheck")
	sent, revoked, renewed, optedOut := creds[0], creds[1], creds[2], creds[3]
	now := at(2028, 9, 1, 0, 10)
	h.clock.Set(now)
	if res, err := jobs.ScanReminders(ctx, h.deps, h.client, now); err != nil || res.Queued != 4 {
		t.Fatalf("scan: %+v, %v; want 4 reminders", res, err)
	}

	if err := h.db.InTx(ctx, func(tx models.Tx) error {
		_, _, err := models.ChangeCredentialStatus(ctx, tx.DB, revoked.ID, models.StatusChange{Action: models.ActionRevoked,
			Category: "license_action", Reason: "board order", ActorID: uuid.New(), At: now})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var holder models.User
	if err := h.db.Gorm.First(&holder, "id = ?", renewed.UserID).Error; err != nil {
		t.Fatal(err)
	}
	h.issue(t, &holder, now)
	if err := h.db.Gorm.Exec(`UPDATE users SET reminder_emails = false WHERE id = ?`, optedOut.UserID).Error; err != nil {
		t.Fatal(err)
	}

	h.work(t)
	for range 2 { // once more, as a retried job would
		rows, _ := models.ListCredentialReminders(ctx, h.db.Gorm, sent.ID)
		if err := jobs.SendReminder(ctx, h.deps, h.client, rows[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	for c, want := range map[*models.Credential]string{sent: "queued", revoked: "skipped:not_active",
		renewed: "skipped:renewed", optedOut: "skipped:opted_out"} {
		rows, err := models.ListCredentialReminders(ctx, h.db.Gorm, c.ID)
		if err != nil || len(rows) != 1 {
			t.Fatalf("credential %s: %d reminders (%v), want 1", c.Code, len(rows), err)
		}
		got := rows[0].Status
		if rows[0].SkipReason != nil {
			got += ":" + *rows[0].SkipReason
		}
		if got != want {
			t.Errorf("credential %s: reminder %s, want %s", c.Code, got, want)
		}
	}
	if got := h.count(t, `SELECT count(*) FROM outbox`); got != 1 {
		t.Fatalf("%d emails queued, want 1", got)
	}

	row, err := models.FindOutboxMessage(ctx, h.db.Gorm, *mustReminder(t, h, sent.ID).OutboxID)
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := masterkey.New(bytes.Repeat([]byte{4}, 32))
	var m mail.Message
	plain, err := kr.Open(row.Sealed, mail.SealAAD(row.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(plain, &m); err != nil {
		t.Fatal(err)
	}
	if want := "Your AALS credential " + sent.Code + " expires on November 30, 2028"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	for _, s := range []string{"recheck-", "Advanced Anesthesia Life Support", "in 90 days"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text lacks %q:\n%s", s, m.Text)
		}
	}
	links, _ := linktoken.New(kr.DeriveKeys("link-token"), h.clock.Now)
	renew := linkToken(t, m.Text, reminderAppURL+"/renew?token=")
	if sub, err := links.Verify(linktoken.PurposeRenew, renew); err != nil || sub != sent.ID.String() {
		t.Errorf("renewal token: subject %q, %v; want the credential %s", sub, err, sent.ID)
	}
	unsub := linkToken(t, m.Headers["List-Unsubscribe"], reminderAppURL+"/unsubscribe?token=")
	if sub, err := links.Verify(linktoken.PurposeUnsubscribe, unsub); err != nil || sub != sent.UserID.String() {
		t.Errorf("unsubscribe token: subject %q, %v; want the holder %s", sub, err, sent.UserID)
	}
	if m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" || !strings.Contains(m.Text, unsub) {
		t.Errorf("headers %v: want RFC 8058 one-click unsubscribe, same link as the text", m.Headers)
	}
	// The renewal link outlives the renewal window (30 days after 2028-11-30).
	h.clock.Set(at(2029, 1, 15, 12, 0))
	if _, err := links.Verify(linktoken.PurposeRenew, renew); err != nil {
		t.Errorf("renewal link on 2029-01-15: %v, want still valid", err)
	}
	stored := row.TextBody + row.HTMLBody + string(row.Headers)
	if strings.Contains(stored, renew) || strings.Contains(stored, unsub) || !strings.Contains(row.TextBody, "[redacted]") {
		t.Error("the stored, readable copy shows a live link token")
	}
}

func mustReminder(t *testing.T, h *reminderHarness, credentialID uuid.UUID) *models.ReminderDelivery {
	t.Helper()
	rows, err := models.ListCredentialReminders(t.Context(), h.db.Gorm, credentialID)
	if err != nil || len(rows) == 0 {
		t.Fatalf("no reminder of credential %s (%v)", credentialID, err)
	}
	return &rows[0]
}

// linkToken returns the token of the first link in s that starts with prefix.
func linkToken(t *testing.T, s, prefix string) string {
	t.Helper()
	i := strings.Index(s, prefix)
	if i < 0 {
		t.Fatalf("no link %s… in %q", prefix, s)
	}
	tok := s[i+len(prefix):]
	if j := strings.IndexAny(tok, " \n\r\t\"<>"); j >= 0 {
		tok = tok[:j]
	}
	return tok
}

// crashAfterSend hands the first message to the mail server and then fails as if the worker
// died before recording that it was sent; later ones go through normally.
type crashAfterSend struct {
	inner   mail.Sender
	mu      sync.Mutex
	crashed bool
}

func (s *crashAfterSend) Send(ctx context.Context, m mail.Message) error {
	if err := s.inner.Send(ctx, m); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.crashed {
		s.crashed = true
		return errors.New("worker lost after handing the message to the server")
	}
	return nil
}

// TestReminderDeliveredAgainAfterCrash runs everything on River, from a scan an admin asked
// for to SMTP delivery, with a worker that is lost between sending the reminder and recording
// it: the reminder is sent again (twice in all) and recorded sent; it is never lost.
func TestReminderDeliveredAgainAfterCrash(t *testing.T) {
	t.Parallel()
	h := newReminderHarness(t)
	ctx := context.Background()
	cred := h.dueToday(t, 1, "crash")[0]
	var holder models.User
	if err := h.db.Gorm.First(&holder, "id = ?", cred.UserID).Error; err != nil {
		t.Fatal(err)
	}
	// Only the reminder is under test: drop the credential's own follow-up.
	if _, err := h.db.Pool.Exec(ctx, `DELETE FROM river_job`); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(at(2028, 9, 1, 8, 0))

	srv := mailtest.NewServer(t, mailtest.Options{})
	smtp, err := mail.NewSMTPSender(srv.URL(), "aalscert <no-reply@aalscert.example>")
	if err != nil {
		t.Fatal(err)
	}
	deps := h.deps
	deps.Sender = &crashAfterSend{inner: smtp}
	client, events := startWorkers(t, deps)
	if _, err := jobs.RequestReminderScan(ctx, client); err != nil {
		t.Fatal(err)
	}

	failures := 0
	timeout := time.After(30 * time.Second)
wait:
	for {
		select {
		case ev := <-events:
			switch {
			case ev.Job.Kind == "send_email" && ev.Kind == river.EventKindJobFailed:
				failures++
				// River would retry after its backoff; retry now.
				if _, err := client.JobRetry(ctx, ev.Job.ID); err != nil {
					t.Fatal(err)
				}
			case ev.Job.Kind == "send_email" && ev.Kind == river.EventKindJobCompleted:
				break wait
			case ev.Kind != river.EventKindJobCompleted:
				t.Fatalf("job %s: %s, errors %v", ev.Job.Kind, ev.Kind, ev.Job.Errors)
			}
		case <-timeout:
			t.Fatal("the reminder was not delivered within 30 s")
		}
	}
	if failures != 1 {
		t.Errorf("%d failed deliveries, want 1", failures)
	}
	got := srv.Received()
	if len(got) != 2 {
		t.Fatalf("mail server received %d messages, want the reminder twice", len(got))
	}
	for _, r := range got {
		msg, err := netmail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		if r.To[0] != holder.Email || !strings.Contains(msg.Header.Get("Subject"), cred.Code) {
			t.Errorf("received %q to %v, want the reminder of %s to %s", msg.Header.Get("Subject"), r.To, cred.Code, holder.Email)
		}
		if msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" ||
			!strings.HasPrefix(msg.Header.Get("List-Unsubscribe"), "<"+reminderAppURL+"/unsubscribe?token=") {
			t.Errorf("headers List-Unsubscribe %q, List-Unsubscribe-Post %q: want one-click unsubscribe",
				msg.Header.Get("List-Unsubscribe"), msg.Header.Get("List-Unsubscribe-Post"))
		}
	}
	r := mustReminder(t, h, cred.ID)
	if r.Status != models.ReminderQueued || r.OutboxStatus == nil || *r.OutboxStatus != models.OutboxSent {
		t.Errorf("reminder %s with email %v, want queued and sent", r.Status, r.OutboxStatus)
	}
	if n := h.count(t, `SELECT count(*) FROM outbox`); n != 1 {
		t.Errorf("%d outbox messages, want 1", n)
	}
	if n := h.count(t, `SELECT attempts FROM outbox`); n != 2 {
		t.Errorf("%d delivery attempts recorded, want 2", n)
	}
}

// TestReminderScanCoversMissedDaysOnce: the first scan covers its own day only; a scan the
// same day covers nothing new; after days without a scan, the next one covers all of them.
func TestReminderScanCoversMissedDaysOnce(t *testing.T) {
	t.Parallel()
	h := newReminderHarness(t)
	day := func(tm time.Time) string { return tm.Format(time.DateOnly) }
	for _, tc := range []struct {
		at            time.Time
		from, through string
	}{
		{at(2028, 3, 10, 23, 30), "2028-03-10", "2028-03-10"}, // already 11 March in UTC
		{at(2028, 3, 10, 23, 50), "2028-03-11", "2028-03-10"},
		{at(2028, 3, 11, 0, 10), "2028-03-11", "2028-03-11"},
		{at(2028, 3, 20, 9, 0), "2028-03-12", "2028-03-20"},
		{at(2028, 3, 19, 9, 0), "2028-03-21", "2028-03-20"}, // the clock went back: nothing twice
	} {
		res := h.scan(t, tc.at)
		if day(res.FromDay) != tc.from || day(res.ThroughDay) != tc.through {
			t.Errorf("scan at %v covered %s to %s, want %s to %s", tc.at, day(res.FromDay), day(res.ThroughDay), tc.from, tc.through)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM reminder_scans`); n != 5 {
		t.Errorf("%d scans recorded, want 5", n)
	}
}
