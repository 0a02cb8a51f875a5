package api_test

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aalscert/aalscert/jobs"
)

// scrape returns the samples of /metrics by series (name with labels, as exposed).
func (e *env) scrape(t testing.TB) map[string]float64 {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/metrics"})
	if r.Code != 200 {
		t.Fatalf("/metrics = %d", r.Code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsForOperators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	now := e.clock.Now()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := e.db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}

	const lastScan = "aals_reminder_scan_last_success_timestamp_seconds"
	if got, ok := e.scrape(t)[lastScan]; !ok || got != 0 {
		t.Fatalf("%s before any scan = %v (present %v), want 0", lastScan, got, ok)
	}

	finished := now.Add(-45 * time.Minute)
	exec(`INSERT INTO reminder_scans (from_day, through_day, found, started_at, finished_at)
		VALUES ('2026-11-19', '2026-11-20', 3, $1, $2), ('2026-11-21', '2026-11-21', 1, $3, $4)`,
		finished.Add(-26*time.Hour), finished.Add(-25*time.Hour), finished.Add(-time.Second), finished)
	exec(`UPDATE status_lists SET changed_at = $1 WHERE id = 1`, now.Add(-90*time.Minute))
	exec(`UPDATE status_lists SET changed_at = $1 WHERE id = 2`, now.Add(-10*time.Second))
	if _, err := e.jobs.Insert(ctx, jobs.PruneArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	failed, err := e.jobs.Insert(ctx, jobs.LapseEnrollmentsArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = $1`, failed.Job.ID)
	got := e.scrape(t)

	if want := float64(finished.Unix()); got[lastScan] != want {
		t.Errorf("%s = %v, want %v (the newest finished scan)", lastScan, got[lastScan], want)
	}
	for series, want := range map[string]float64{
		`aals_status_list_age_seconds{list="1",purpose="revocation"}`: 5400,
		`aals_status_list_age_seconds{list="2",purpose="suspension"}`: 10,
		`aals_jobs{state="available"}`:                                1,
		`aals_jobs{state="discarded"}`:                                1,
		`aals_jobs_discarded`:                                         1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
}
