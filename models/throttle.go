package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Failed-login limits. Counters live in PostgreSQL so every server enforces the same limits.
const (
	// LoginWindow is the fixed window every counter covers, from its first failure.
	LoginWindow = 15 * time.Minute
	// LoginPairLimit failures of one account from one address block that pair until the
	// window ends.
	LoginPairLimit = 5
	// LoginAddrLimit failures from one address, whatever the accounts, block the address
	// until the window ends.
	LoginAddrLimit = 50
	// LoginAccountLimit failures of one account from anywhere slow it to one attempt per
	// LoginAccountGap. It never locks the account, so a stranger cannot lock out its owner.
	LoginAccountLimit = 20
	// LoginAccountGap is the pause required between attempts on a busy account.
	LoginAccountGap = 2 * time.Second
)

// LoginAttempt names who is signing in: Account comes from LoginAccount, Addr is the client
// address.
type LoginAttempt struct {
	Account string
	Addr    string
}

// LoginAccount returns the account part of a login attempt: the user's ID when the address
// is registered (u non-nil), else a hash of the address as typed, so guesses at unregistered
// addresses are counted too without storing the addresses.
func LoginAccount(u *User, typed string) string {
	if u != nil {
		return u.ID.String()
	}
	sum := sha256.Sum256([]byte(strings.ToLower(NormalizeEmail(typed))))
	return "email-" + hex.EncodeToString(sum[:16])
}

func (a LoginAttempt) pairKey() string    { return "acct:" + a.Account + "|ip:" + a.Addr }
func (a LoginAttempt) addrKey() string    { return "ip:" + a.Addr }
func (a LoginAttempt) accountKey() string { return "acct:" + a.Account }

// loginCounter is one row of login_throttle.
type loginCounter struct {
	Key         string
	Failures    int
	WindowStart time.Time
	LastFailure time.Time
}

// LoginWait returns how long the attempt must wait before it may be tried, or zero if it may
// be tried now.
func LoginWait(ctx context.Context, db *gorm.DB, a LoginAttempt, now time.Time) (time.Duration, error) {
	var rows []loginCounter
	err := db.WithContext(ctx).Raw(`SELECT key, failures, window_start, last_failure FROM login_throttle
		WHERE key IN (?, ?, ?) AND window_start > ?`,
		a.pairKey(), a.addrKey(), a.accountKey(), now.Add(-LoginWindow)).Scan(&rows).Error
	if err != nil {
		return 0, translate(err)
	}
	var wait time.Duration
	for _, r := range rows {
		wait = max(wait, counterWait(a, r, now))
	}
	return wait, nil
}

// counterWait applies the rule of the counter's kind to one live counter.
func counterWait(a LoginAttempt, r loginCounter, now time.Time) time.Duration {
	windowEnd := r.WindowStart.Add(LoginWindow).Sub(now)
	switch r.Key {
	case a.pairKey():
		if r.Failures >= LoginPairLimit {
			return windowEnd
		}
	case a.addrKey():
		if r.Failures >= LoginAddrLimit {
			return windowEnd
		}
	case a.accountKey():
		if r.Failures >= LoginAccountLimit {
			return max(0, r.LastFailure.Add(LoginAccountGap).Sub(now))
		}
	}
	return 0
}

// RecordLoginFailure counts a failed attempt against the pair, the address and the account.
// Each counter is one atomic upsert, so concurrent failures are all counted; a counter whose
// window has passed starts a new window.
func RecordLoginFailure(ctx context.Context, db *gorm.DB, a LoginAttempt, now time.Time) error {
	for _, key := range []string{a.pairKey(), a.addrKey(), a.accountKey()} {
		err := db.WithContext(ctx).Exec(`INSERT INTO login_throttle AS t (key, failures, window_start, last_failure)
			VALUES (?, 1, ?, ?)
			ON CONFLICT (key) DO UPDATE SET
				failures     = CASE WHEN t.window_start <= ? THEN 1 ELSE t.failures + 1 END,
				window_start = CASE WHEN t.window_start <= ? THEN EXCLUDED.window_start ELSE t.window_start END,
				last_failure = EXCLUDED.last_failure`,
			key, now, now, now.Add(-LoginWindow), now.Add(-LoginWindow)).Error
		if err != nil {
			return translate(err)
		}
	}
	return nil
}

// ClearLoginFailures forgets the failures of the attempt's (account, address) pair, after a
// successful sign-in. The address and account counters keep running: one success must not
// reset what a guesser elsewhere has spent.
func ClearLoginFailures(ctx context.Context, db *gorm.DB, a LoginAttempt) error {
	return translate(db.WithContext(ctx).Exec(`DELETE FROM login_throttle WHERE key = ?`, a.pairKey()).Error)
}

// DeleteStaleLoginCounters removes counters whose window ended before now, and returns how
// many it removed. A periodic job may call it to keep the table small.
func DeleteStaleLoginCounters(ctx context.Context, db *gorm.DB, now time.Time) (int64, error) {
	res := db.WithContext(ctx).Exec(`DELETE FROM login_throttle WHERE window_start <= ?`, now.Add(-LoginWindow))
	return res.RowsAffected, translate(res.Error)
}
