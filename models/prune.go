package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Retention periods (PRIVACY.md states them to users).
const (
	// UserTokenRetention keeps spent or expired email tokens this long after they expire.
	UserTokenRetention = 30 * 24 * time.Hour
	// InvitationRetention keeps invitations that were never accepted this long after they
	// expired or were revoked.
	InvitationRetention = 30 * 24 * time.Hour
	// OutboxRetention keeps the redacted copy of sent email.
	OutboxRetention = 2 * 365 * 24 * time.Hour
	// IdempotencyRetention keeps stored responses to Idempotency-Key requests.
	IdempotencyRetention = 24 * time.Hour
)

// DigestRetentionWeeks is how long the record that an org admin's weekly digest went out is kept.
const DigestRetentionWeeks = 8

// PruneResult counts the rows PruneExpired deleted, by table.
type PruneResult map[string]int64

// PruneExpired deletes what is past its retention at now: failed-login counters whose window
// ended, refresh tokens past expiry, email tokens and unaccepted invitations 30 days after
// they closed, stored idempotent responses after a day, outbox copies after two years,
// request counters an hour after their window ended, admin dashboard sessions past expiry, and
// records of weekly digests after DigestRetentionWeeks.
// Each statement is a set-based delete over an indexed column, but for the request counters:
// a small unlogged table of live windows, scanned whole.
func PruneExpired(ctx context.Context, db *gorm.DB, now time.Time) (PruneResult, error) {
	res := PruneResult{}
	n, err := DeleteStaleLoginCounters(ctx, db, now)
	if err != nil {
		return res, err
	}
	res["login_throttle"] = n
	steps := []struct {
		table, where string
		arg          time.Time
	}{
		{"refresh_tokens", "expires_at < ?", now},
		{"user_tokens", "expires_at < ?", now.Add(-UserTokenRetention)},
		{"org_member_invitations", "accepted_at IS NULL AND coalesce(revoked_at, expires_at) < ?", now.Add(-InvitationRetention)},
		{"idempotency_keys", "created_at < ?", now.Add(-IdempotencyRetention)},
		{"outbox", "created_at < ?", now.Add(-OutboxRetention)},
		// A counter that started this long ago ended more than RateLimitRetention ago.
		{"rate_limits", "window_start < ?", now.Add(-MaxRateLimitWindow - RateLimitRetention)},
		{"admin_sessions", "expires_at < ?", now},
		// Only the current week's digests keep one from going twice; eight weeks is ample.
		{"org_digests", "week_of < ?", now.AddDate(0, 0, -7*DigestRetentionWeeks)},
		// The event feed and the webhook delivery log keep 30 days.
		{"org_events", "created_at < ?", now.Add(-OrgEventRetention)},
		{"webhook_deliveries", "created_at < ?", now.Add(-OrgEventRetention)},
	}
	for _, st := range steps {
		r := db.WithContext(ctx).Exec("DELETE FROM "+st.table+" WHERE "+st.where, st.arg)
		if r.Error != nil {
			return res, translate(r.Error)
		}
		res[st.table] = r.RowsAffected
	}
	// Name-change documents are identity documents: the request stays, its file goes.
	if res["name_change_documents"], err = clearNameChangeDocuments(ctx, db, now); err != nil {
		return res, err
	}
	return res, nil
}
