package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/mail/mailtest"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// serveJobs is the River configuration `aalscert serve` runs its workers with
// (cmd/aalscert/serve.go); the throughput figures are for it.
var serveJobs = jobs.Config{RunWorkers: true, MaxWorkers: 50, FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 500 * time.Millisecond}

// drainBatch is how many queued messages one op of SendEmail/Serve and SendEmail/Tuned
// delivers.
const drainBatch = 2_000

func benchKeyring(b *testing.B) *masterkey.Keyring {
	b.Helper()
	kr, err := masterkey.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	return kr
}

// sampleMail is the message the SendEmail benchmarks deliver: a renewal reminder rendered
// from its template, with live renewal and unsubscribe links and the one-click unsubscribe
// headers, as jobs.SendReminder queues it.
func sampleMail(i int) jobs.Outgoing {
	renew, unsub := fmt.Sprintf("rnw_live_%08d", i), fmt.Sprintf("uns_live_%08d", i)
	unsubURL := "https://app.example/unsubscribe?token=" + unsub
	return jobs.Outgoing{
		To: fmt.Sprintf("provider%d@hospital.example", i), Template: "reminder",
		Data: map[string]any{
			"Name": "Provider", "Course": "Advanced Anesthesia Life Support", "CourseCode": "AALS", "Code": "AALS-2N27-P273",
			"ValidThrough": "February 28, 2027", "Expired": false, "Today": false, "DaysLeft": "90 days",
			"RenewURL": "https://app.example/renew?token=" + renew, "UnsubscribeURL": unsubURL,
		},
		Secrets: []string{renew, unsub},
		Headers: map[string]string{"List-Unsubscribe": "<" + unsubURL + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
	}
}

// queueMail records n messages in the outbox and enqueues their delivery with jobs.QueueMail,
// as the API and the workers do, in transactions of up to 500.
func queueMail(b *testing.B, db *models.DB, kr *masterkey.Keyring, ins jobs.Inserter, from, n int) {
	b.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 500 {
		err := db.InTx(ctx, func(tx models.Tx) error {
			for i := start; i < min(start+500, n); i++ {
				if err := jobs.QueueMail(ctx, ins, kr, tx, sampleMail(from+i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// workerClient returns a River client that runs every worker with configuration cfg and
// delivers to srv, and a channel of its finished jobs. It is not started.
func workerClient(b *testing.B, db *models.DB, kr *masterkey.Keyring, srv *mailtest.Server, cfg jobs.Config) (*river.Client[pgx.Tx], <-chan *river.Event, func()) {
	b.Helper()
	sender, err := mail.NewSMTPSender(srv.URL(), "aalscert <no-reply@aalscert.example>")
	if err != nil {
		b.Fatal(err)
	}
	client, err := jobs.NewClient(jobs.Deps{DB: db, Log: slog.New(slog.DiscardHandler), Keyring: kr, Sender: sender}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: 2 * drainBatch,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled},
	})
	return client, events, cancel
}

func stopClient(b *testing.B, client *river.Client[pgx.Tx]) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.Stop(ctx); err != nil {
		b.Fatalf("stop River client: %v", err)
	}
}

// awaitSent waits for n send_email jobs to complete, failing on any that does not.
func awaitSent(b *testing.B, events <-chan *river.Event, n int) {
	b.Helper()
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	for done := 0; done < n; {
		select {
		case ev := <-events:
			if ev.Job == nil || ev.Job.Kind != (jobs.SendEmailArgs{}).Kind() {
				continue
			}
			if ev.Kind != river.EventKindJobCompleted {
				b.Fatalf("send_email job %d: %s, errors %v", ev.Job.ID, ev.Kind, ev.Job.Errors)
			}
			done++
		case <-timeout.C:
			b.Fatalf("%d of %d send_email jobs completed after 2 minutes", done, n)
		}
	}
}

// outboxSent checks that all n messages of the outbox were marked sent.
func outboxSent(b *testing.B, db *models.DB, n int) {
	b.Helper()
	var sent, all int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FILTER (WHERE status = 'sent' AND sealed IS NULL), count(*) FROM outbox`).Scan(&sent, &all); err != nil {
		b.Fatal(err)
	}
	if sent != n || all != n {
		b.Fatalf("outbox: %d of %d rows sent, want %d of %d", sent, all, n, n)
	}
}

// drain delivers n freshly queued messages per op with a River client of configuration cfg
// started on them, timing from the start of the client to the last completed send_email job,
// and reports the throughput and the time per message.
func drain(b *testing.B, db *models.DB, kr *masterkey.Keyring, ins jobs.Inserter, cfg jobs.Config, n int) {
	ctx := context.Background()
	srv := mailtest.NewServer(b, mailtest.Options{})
	delivered := 0
	for b.Loop() {
		b.StopTimer()
		if _, err := db.Pool.Exec(ctx, `DELETE FROM river_job; DELETE FROM outbox`); err != nil {
			b.Fatal(err)
		}
		queueMail(b, db, kr, ins, 0, n)
		// A freshly filled river_job with stale statistics is fetched from slowly; in service
		// autovacuum analyzes it, so the benchmark does too.
		if _, err := db.Pool.Exec(ctx, `ANALYZE river_job, outbox`); err != nil {
			b.Fatal(err)
		}
		client, events, cancel := workerClient(b, db, kr, srv, cfg)
		b.StartTimer()
		if err := client.Start(ctx); err != nil {
			b.Fatal(err)
		}
		awaitSent(b, events, n)
		b.StopTimer()
		cancel()
		stopClient(b, client)
		outboxSent(b, db, n)
		delivered += n
		b.StartTimer()
	}
	if got := len(srv.Received()); got != delivered {
		b.Fatalf("server accepted %d messages, want %d", got, delivered)
	}
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(delivered), "µs/msg")
}

// BenchmarkSendEmail delivers renewal reminders through the in-process SMTP server of
// mail/mailtest on 127.0.0.1: the SMTP conversation alone, then queued messages delivered by
// River running jobs.SendEmailWorker (load the outbox row, decrypt the sealed message, SMTP,
// mark the row sent): one worker taking them one at a time, the configuration of `aalscert
// serve`, and a client tuned for throughput.
func BenchmarkSendEmail(b *testing.B) {
	db := pgtest.New(b)
	kr := benchKeyring(b)
	ins, err := jobs.NewClient(jobs.Deps{DB: db, Log: slog.New(slog.DiscardHandler), Keyring: kr}, jobs.Config{})
	if err != nil {
		b.Fatal(err)
	}

	b.Run("SMTP", func(b *testing.B) {
		srv := mailtest.NewServer(b, mailtest.Options{})
		sender, err := mail.NewSMTPSender(srv.URL(), "aalscert <no-reply@aalscert.example>")
		if err != nil {
			b.Fatal(err)
		}
		o := sampleMail(0)
		msg, err := mail.Render(o.Template, o.Data)
		if err != nil {
			b.Fatal(err)
		}
		msg.To, msg.Headers = o.To, o.Headers
		for b.Loop() {
			if err := sender.Send(context.Background(), msg); err != nil {
				b.Fatal(err)
			}
		}
		if got := len(srv.Received()); got != b.N {
			b.Fatalf("server accepted %d messages, want %d", got, b.N)
		}
	})
	// One worker fetching as often as River allows: the time per message is the worker's
	// own cost plus one fetch and one completion, with no other delivery running alongside.
	b.Run("OneWorker", func(b *testing.B) {
		drain(b, db, kr, ins, jobs.Config{RunWorkers: true, MaxWorkers: 1, FetchCooldown: time.Millisecond, FetchPollInterval: 20 * time.Millisecond}, 200)
	})
	b.Run("Serve", func(b *testing.B) { drain(b, db, kr, ins, serveJobs, drainBatch) })
	b.Run("Tuned", func(b *testing.B) {
		drain(b, db, kr, ins, jobs.Config{RunWorkers: true, MaxWorkers: 100, FetchCooldown: 2 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond}, drainBatch)
	})
}

// scanNow is when the reminder scan benchmark scans, at 15:00 UTC (the issuer's calendar
// is UTC here).
var scanNow = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

// reminderLayout is the data of the reminder scan benchmark: a million active AALS
// credentials, each of its own holder, their last valid days spread evenly over the 800 days
// around scanNow, so that each course offset (90, 60, 30, 7, 0 and -30 days) is due on the
// scanned day for 1,250 of them, 7,500 in all. Consecutive rows expire on consecutive days, so
// the rows due on one day lie 800 rows apart, each on its own heap page: the scattered case.
var reminderLayout = scaleLayout{
	holders: scaleCredentials,
	issued:  `date '2026-11-21' - 400 - 730 + (i % 800)`,
	through: `issued + 730`,
}

// reminderScanPlan returns the plan, with actual rows and times, of the statement with which
// models.RecordDueReminders records the reminders due on scanNow's day, run in a transaction
// that is rolled back, and fails unless it reads credentials_active_through_idx.
func reminderScanPlan(b *testing.B, db *models.DB) string {
	b.Helper()
	ctx := context.Background()
	rec := &sqlRecorder{Interface: logger.Discard}
	tx := db.Gorm.Session(&gorm.Session{Logger: rec}).Begin()
	_, err := models.RecordDueReminders(ctx, tx, scanNow, scanNow, scanNow)
	tx.Rollback()
	if err != nil {
		b.Fatal(err)
	}
	// The statement is the last one sent; those before it (session settings) are sent again
	// before EXPLAIN, as the scan sends them.
	if len(rec.sql) == 0 || !strings.Contains(rec.sql[len(rec.sql)-1], "INSERT INTO reminders") {
		b.Fatalf("RecordDueReminders sent %q, want its INSERT INTO reminders last", rec.sql)
	}
	stmt := rec.sql[len(rec.sql)-1]
	var plan []string
	err = db.InTx(ctx, func(tx models.Tx) error {
		for _, q := range rec.sql[:len(rec.sql)-1] {
			if _, err := tx.Conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		rows, err := tx.Conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+stmt)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		b.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "credentials_active_through_idx") {
		b.Fatalf("the reminder scan does not use credentials_active_through_idx:\n%s\n%s", stmt, all)
	}
	return all
}

// errRollback ends a transaction whose writes were only there to be measured.
var errRollback = errors.New("rolled back on purpose")

// BenchmarkReminderScan is one scan over a million credentials: jobs.ScanReminders finding
// the reminders due, recording them and enqueueing a send_reminder job for each, in its one
// transaction. Day is the scan of an ordinary day: the day before counts as scanned, as in
// service where the hourly scan ran yesterday. Week is the scan after seven days without one
// (the service was down), which covers the seven days at once: seven times the reminders,
// more than the busiest day brings when expiries cluster on month ends (about a 24th of the
// credentials). Between scans, outside the timer, what a scan wrote is deleted and vacuumed
// away, so every op does the same work.
func BenchmarkReminderScan(b *testing.B) {
	db := pgtest.New(b)
	ctx := context.Background()
	start := time.Now()
	seedScale(b, db, reminderLayout)
	b.Logf("seeded %d credentials and %d holders in %s", scaleCredentials, reminderLayout.holders, time.Since(start).Round(100*time.Millisecond))
	log := slog.New(slog.DiscardHandler)
	client, err := jobs.NewClient(jobs.Deps{DB: db, Log: log}, jobs.Config{})
	if err != nil {
		b.Fatal(err)
	}
	deps := jobs.Deps{DB: db, Log: log, Now: func() time.Time { return scanNow }}
	// reset removes what scans wrote and records a scan that covered the days up to days
	// before scanNow's, so the next scan covers the days after it.
	reset := func(b *testing.B, days int) {
		b.Helper()
		if _, err := db.Pool.Exec(ctx, `DELETE FROM river_job; DELETE FROM reminders; DELETE FROM reminder_scans`); err != nil {
			b.Fatal(err)
		}
		last := scanNow.AddDate(0, 0, -days)
		if err := models.CreateReminderScan(ctx, db.Gorm, &models.ReminderScan{FromDay: last, ThroughDay: last,
			StartedAt: last, FinishedAt: last}); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `VACUUM ANALYZE river_job, reminders, reminder_scans`); err != nil {
			b.Fatal(err)
		}
	}
	reset(b, 1)
	b.Logf("plan of the scan's statement:\n%s", reminderScanPlan(b, db))

	for _, tc := range []struct {
		name string
		days int
	}{{"Day", 1}, {"Week", 7}} {
		b.Run(tc.name, func(b *testing.B) {
			var res jobs.ScanResult
			for b.Loop() {
				b.StopTimer()
				reset(b, tc.days)
				b.StartTimer()
				if res, err = jobs.ScanReminders(ctx, deps, client, scanNow); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var queued, pending int
			if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM river_job WHERE kind = 'send_reminder'),
				(SELECT count(*) FROM reminders WHERE status = 'pending')`).Scan(&queued, &pending); err != nil {
				b.Fatal(err)
			}
			// 1,250 credentials per offset and day, exactly: the layout spreads them evenly, and
			// no credential has two offsets due within seven days (7 and 0 are a week apart).
			want := tc.days * 6 * scaleCredentials / 800
			if res.Queued != want || res.Skipped != 0 || queued != want || pending != want {
				b.Fatalf("scan queued %d and skipped %d (jobs %d, pending reminders %d), want %d queued",
					res.Queued, res.Skipped, queued, pending, want)
			}
			b.ReportMetric(float64(res.Queued+res.Skipped), "due/scan")
		})
	}
}
