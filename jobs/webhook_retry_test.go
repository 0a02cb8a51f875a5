package jobs

import (
	"testing"
	"time"
)

// Retries back off exponentially and, over the attempts a delivery gets, span about a day.
func TestWebhookRetriesSpanADay(t *testing.T) {
	var total time.Duration
	prev := time.Duration(0)
	for attempt := 1; attempt < webhookMaxAttempts; attempt++ {
		d := webhookRetryDelay(attempt)
		if d < prev || d > 4*time.Hour {
			t.Fatalf("delay after attempt %d = %v (previous %v)", attempt, d, prev)
		}
		prev = d
		total += d
	}
	if webhookRetryDelay(1) != 30*time.Second || webhookRetryDelay(2) != time.Minute {
		t.Fatalf("first delays %v, %v; want 30s, 1m", webhookRetryDelay(1), webhookRetryDelay(2))
	}
	if total < 23*time.Hour || total > 26*time.Hour {
		t.Fatalf("retries span %v, want about a day", total)
	}
}
