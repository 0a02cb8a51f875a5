package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// MaxRateLimitWindow is the longest window HitRateLimit accepts. The prune relies on it to
// know, without storing each counter's window, that a counter is finished.
const MaxRateLimitWindow = time.Hour

// RateLimitRetention keeps a finished counter this long before the prune deletes it.
const RateLimitRetention = time.Hour

// HitRateLimit counts one request against key in a fixed window that starts at the key's
// first request and lasts window, and reports whether it is within limit. When it is not,
// retryAfter is the time left in the window. Counters live in PostgreSQL (rate_limits), so
// every server shares them, and each hit is one atomic upsert: concurrent requests are all
// counted and exactly limit of them are allowed per window.
func HitRateLimit(ctx context.Context, db *gorm.DB, key string, window time.Duration, limit int, now time.Time) (allowed bool, retryAfter time.Duration, err error) {
	if window <= 0 || window > MaxRateLimitWindow || limit < 1 {
		return false, 0, fmt.Errorf("rate limit %q: window %v and limit %d out of range", key, window, limit)
	}
	var row struct {
		Hits        int
		WindowStart time.Time
	}
	// Every SET expression reads the row as it was, so both see the old window.
	err = db.WithContext(ctx).Raw(`INSERT INTO rate_limits AS r (key, window_start, hits) VALUES (?, ?, 1)
		ON CONFLICT (key) DO UPDATE SET
			hits         = CASE WHEN r.window_start <= ? THEN 1 ELSE r.hits + 1 END,
			window_start = CASE WHEN r.window_start <= ? THEN EXCLUDED.window_start ELSE r.window_start END
		RETURNING hits, window_start`,
		key, now, now.Add(-window), now.Add(-window)).Scan(&row).Error
	if err != nil {
		return false, 0, translate(err)
	}
	if row.Hits <= limit {
		return true, 0, nil
	}
	// A server whose clock runs behind the one that opened the window must not ask for more
	// than a whole window.
	return false, min(max(row.WindowStart.Add(window).Sub(now), 0), window), nil
}
