package models_test

import (
	"sync"
	"testing"
	"time"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

var rateStart = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

func TestHitRateLimit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	t.Run("LimitPerWindowThenANewWindow", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		for i := range 3 {
			at := rateStart.Add(time.Duration(i) * 10 * time.Second)
			if ok, wait, err := models.HitRateLimit(ctx, db, "ip:a", time.Minute, 3, at); err != nil || !ok || wait != 0 {
				t.Fatalf("hit %d = %v %v %v, want allowed", i+1, ok, wait, err)
			}
		}
		ok, wait, err := models.HitRateLimit(ctx, db, "ip:a", time.Minute, 3, rateStart.Add(45*time.Second))
		if err != nil || ok || wait != 15*time.Second {
			t.Fatalf("4th hit = %v %v %v, want refused for the 15s left in the window", ok, wait, err)
		}
		if ok, _, _ := models.HitRateLimit(ctx, db, "ip:b", time.Minute, 3, rateStart.Add(45*time.Second)); !ok {
			t.Error("another key was refused")
		}
		if ok, _, _ := models.HitRateLimit(ctx, db, "ip:a", time.Minute, 3, rateStart.Add(59*time.Second)); ok {
			t.Error("a hit just before the window ends was allowed")
		}
		for i := range 3 {
			if ok, _, err := models.HitRateLimit(ctx, db, "ip:a", time.Minute, 3, rateStart.Add(time.Minute+time.Duration(i))); err != nil || !ok {
				t.Fatalf("hit %d of the next window = %v %v, want allowed", i+1, ok, err)
			}
		}
		if ok, _, _ := models.HitRateLimit(ctx, db, "ip:a", time.Minute, 3, rateStart.Add(time.Minute+time.Second)); ok {
			t.Error("the next window allowed more than the limit")
		}
	})

	t.Run("RefusesWindowsLongerThanTheMaximum", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		if _, _, err := models.HitRateLimit(ctx, db, "ip:c", models.MaxRateLimitWindow+time.Second, 3, rateStart); err == nil {
			t.Error("a window longer than MaxRateLimitWindow was accepted; the prune would delete live counters")
		}
	})

	t.Run("ConcurrentHitsAllowExactlyTheLimit", func(t *testing.T) {
		t.Parallel()
		db := pgtest.New(t).Gorm
		const limit, hits = 10, 40
		var mu sync.Mutex
		allowed := 0
		var wg sync.WaitGroup
		for range hits {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := models.HitRateLimit(ctx, db, "ip:d", time.Minute, limit, rateStart)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if allowed != limit {
			t.Errorf("allowed %d of %d concurrent hits, want %d", allowed, hits, limit)
		}
	})
}

// TestPruneDeletesFinishedRateLimits checks that the hourly prune removes counters whose
// window ended more than an hour ago and keeps any that might still be running.
func TestPruneDeletesFinishedRateLimits(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.Tx(t)
	now := rateStart
	for key, started := range map[string]time.Time{
		"finished": now.Add(-models.MaxRateLimitWindow - models.RateLimitRetention - time.Second),
		"recent":   now.Add(-models.MaxRateLimitWindow - models.RateLimitRetention + time.Second),
		"live":     now.Add(-time.Second),
	} {
		if _, _, err := models.HitRateLimit(ctx, db, key, time.Minute, 60, started); err != nil {
			t.Fatal(err)
		}
	}
	res, err := models.PruneExpired(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	if res["rate_limits"] != 1 {
		t.Errorf("pruned %d counters, want 1", res["rate_limits"])
	}
	var keys []string
	if err := db.Raw(`SELECT key FROM rate_limits ORDER BY key`).Scan(&keys).Error; err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "live" || keys[1] != "recent" {
		t.Errorf("counters left = %v, want [live recent]", keys)
	}
}
