package api_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/mail"
)

// issuance is how fixtures issue credentials: follow-up jobs queue on the env's River client.
func (e *env) issuance() jobs.Issuance {
	return jobs.Issuance{Jobs: e.jobs, PublicURL: publicURL, Location: e.cfg.Location}
}

// deliveries keeps the messages the send_email job hands to the mail server.
type deliveries struct{ got chan mail.Message }

func (d *deliveries) Send(_ context.Context, m mail.Message) error {
	d.got <- m
	return nil
}

// workJobs runs the queued jobs (and the jobs they queue) to the end with a River client of
// its own, as the server's workers would, and returns the emails delivered meanwhile.
// Delivery clears the sealed copy e.mails reads, so tests of delivered mail read these. With
// kinds, only jobs of those kinds are waited for and must succeed: the periodic jobs of other
// features, which start with the client, are not under test.
func (e *env) workJobs(t testing.TB, kinds ...string) []mail.Message {
	t.Helper()
	ctx := context.Background()
	d := &deliveries{got: make(chan mail.Message, 64)}
	client, err := jobs.NewClient(jobs.Deps{DB: e.db, Log: slog.New(slog.DiscardHandler), Keyring: e.keyring, Sender: d,
		Now: e.clock.Now, Location: e.cfg.Location, PublicURL: publicURL, AppURL: publicURL, AllowLoopbackWebhooks: true},
		jobs.Config{RunWorkers: true, MaxWorkers: 2, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, c := context.WithTimeout(ctx, 10*time.Second)
		defer c()
		if err := client.Stop(sctx); err != nil {
			t.Errorf("stop River client: %v", err)
		}
	}()
	watched := func(kind string) bool { return len(kinds) == 0 || slices.Contains(kinds, kind) }
	pending := func() int {
		if len(kinds) == 0 {
			return e.count(t, `SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending')`)
		}
		return e.count(t, `SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'pending') AND kind = ANY ($1)`, kinds)
	}
	timeout := time.After(30 * time.Second)
	for pending() > 0 {
		select {
		case ev := <-events:
			if ev.Kind != river.EventKindJobCompleted && watched(ev.Job.Kind) {
				t.Fatalf("job %s %d: %s, errors %v", ev.Job.Kind, ev.Job.ID, ev.Kind, ev.Job.Errors)
			}
		case <-timeout:
			t.Fatal("queued jobs did not finish within 30 s")
		}
	}
	var out []mail.Message
	for {
		select {
		case m := <-d.got:
			out = append(out, m)
		default:
			return out
		}
	}
}
