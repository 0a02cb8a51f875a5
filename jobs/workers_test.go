package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/aalscert/aalscert/jobs"
)

// startWorkers starts a River client working every job with deps, polling fast so tests do
// not wait, and stops it when the test ends. It returns the client and the events of jobs
// that completed, failed or were cancelled.
func startWorkers(t *testing.T, deps jobs.Deps) (*river.Client[pgx.Tx], <-chan *river.Event) {
	t.Helper()
	client, err := jobs.NewClient(deps,
		jobs.Config{RunWorkers: true, MaxWorkers: 2, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	t.Cleanup(cancel)
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Stop(ctx); err != nil {
			t.Errorf("stop River client: %v", err)
		}
	})
	return client, events
}
