package models_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

var throttleStart = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

func TestLoginThrottleRules(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	t.Run("PairBlocksUntilWindowEnds", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		a := models.LoginAttempt{Account: uuid.NewString(), Addr: "198.51.100.1"}
		for i := range models.LoginPairLimit {
			if wait, err := models.LoginWait(ctx, db, a, throttleStart); err != nil || wait != 0 {
				t.Fatalf("before failure %d: wait %v, %v; want none", i+1, wait, err)
			}
			if err := models.RecordLoginFailure(ctx, db, a, throttleStart.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		at := throttleStart.Add(10 * time.Minute)
		wait, err := models.LoginWait(ctx, db, a, at)
		if err != nil || wait != 5*time.Minute {
			t.Fatalf("wait = %v, %v; want 5m (the rest of the window from the first failure)", wait, err)
		}
		other := models.LoginAttempt{Account: a.Account, Addr: "198.51.100.2"}
		if wait, _ := models.LoginWait(ctx, db, other, at); wait != 0 {
			t.Errorf("another address waits %v, want 0", wait)
		}
		if wait, _ := models.LoginWait(ctx, db, a, throttleStart.Add(models.LoginWindow)); wait != 0 {
			t.Errorf("after the window: wait %v, want 0", wait)
		}
	})

	t.Run("NewWindowRestartsTheCount", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		a := models.LoginAttempt{Account: uuid.NewString(), Addr: "198.51.100.3"}
		for i := range models.LoginPairLimit - 1 {
			if err := models.RecordLoginFailure(ctx, db, a, throttleStart.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		later := throttleStart.Add(models.LoginWindow + time.Second)
		for range 2 {
			if err := models.RecordLoginFailure(ctx, db, a, later); err != nil {
				t.Fatal(err)
			}
		}
		if wait, _ := models.LoginWait(ctx, db, a, later); wait != 0 {
			t.Errorf("wait = %v after 2 failures in a new window, want 0", wait)
		}
	})

	t.Run("ClearForgetsOnlyThePair", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		a := models.LoginAttempt{Account: uuid.NewString(), Addr: "198.51.100.4"}
		for range models.LoginPairLimit {
			if err := models.RecordLoginFailure(ctx, db, a, throttleStart); err != nil {
				t.Fatal(err)
			}
		}
		if err := models.ClearLoginFailures(ctx, db, a); err != nil {
			t.Fatal(err)
		}
		if wait, _ := models.LoginWait(ctx, db, a, throttleStart); wait != 0 {
			t.Errorf("wait after clearing = %v, want 0", wait)
		}
		var n int
		db.Raw(`SELECT failures FROM login_throttle WHERE key = ?`, "ip:"+a.Addr).Scan(&n)
		if n != models.LoginPairLimit {
			t.Errorf("address failures after clearing the pair = %d, want %d", n, models.LoginPairLimit)
		}
	})

	t.Run("AccountIsOnlySlowed", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		acct := uuid.NewString()
		for i := range models.LoginAccountLimit {
			a := models.LoginAttempt{Account: acct, Addr: "203.0.113." + strconv.Itoa(i+1)}
			if err := models.RecordLoginFailure(ctx, db, a, throttleStart); err != nil {
				t.Fatal(err)
			}
		}
		owner := models.LoginAttempt{Account: acct, Addr: "198.51.100.9"}
		if wait, _ := models.LoginWait(ctx, db, owner, throttleStart.Add(500*time.Millisecond)); wait != 1500*time.Millisecond {
			t.Errorf("wait = %v, want 1.5s", wait)
		}
		if wait, _ := models.LoginWait(ctx, db, owner, throttleStart.Add(models.LoginAccountGap)); wait != 0 {
			t.Errorf("wait after the gap = %v, want 0", wait)
		}
	})

	t.Run("AccountKeyOfUnknownAddress", func(t *testing.T) {
		t.Parallel()
		a, b := models.LoginAccount(nil, "Someone@Example.org "), models.LoginAccount(nil, "someone@example.org")
		if a != b || a == "someone@example.org" {
			t.Errorf("LoginAccount = %q and %q, want one hashed key for both spellings", a, b)
		}
		id := uuid.New()
		if got := models.LoginAccount(&models.User{ID: id}, "x@example.org"); got != id.String() {
			t.Errorf("LoginAccount(user) = %q, want the user ID", got)
		}
	})
}

// TestRecordLoginFailureConcurrent counts failures from many goroutines at once: the upsert
// must lose none.
func TestRecordLoginFailureConcurrent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	a := models.LoginAttempt{Account: uuid.NewString(), Addr: "198.51.100.7"}
	const n = 25
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := models.RecordLoginFailure(t.Context(), db.Gorm, a, throttleStart); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, key := range []string{"acct:" + a.Account + "|ip:" + a.Addr, "ip:" + a.Addr, "acct:" + a.Account} {
		var got int
		if err := db.Gorm.Raw(`SELECT failures FROM login_throttle WHERE key = ?`, key).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("%s failures = %d, want %d", key, got, n)
		}
	}
	removed, err := models.DeleteStaleLoginCounters(t.Context(), db.Gorm, throttleStart.Add(models.LoginWindow))
	if err != nil || removed != 3 {
		t.Errorf("DeleteStaleLoginCounters = %d, %v; want 3", removed, err)
	}
}
