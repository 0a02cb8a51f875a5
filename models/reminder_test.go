package models_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

var reminderNow = time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)

// reminderCourse is a course with the default reminder offsets.
func reminderCourse(t *testing.T, db *gorm.DB) string {
	t.Helper()
	c := courseFixture(t, db, 90, 30)
	if err := db.Exec(`UPDATE courses SET reminder_offsets_days = '{90,60,30,7,0,-30}' WHERE code = ?`, c.Code).Error; err != nil {
		t.Fatal(err)
	}
	return c.Code
}

// throughCredential issues a credential of course to a fresh holder and moves its expiry to
// validThrough.
func throughCredential(t *testing.T, db *gorm.DB, course, validThrough string) *models.Credential {
	t.Helper()
	_, enr := issueFixture(t, db, course, true)
	c := mustIssue(t, db, enr, time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC), time.UTC)
	if err := db.Exec(`UPDATE credentials SET valid_through = ? WHERE id = ?`, validThrough, c.ID).Error; err != nil {
		t.Fatal(err)
	}
	return c
}

func isoDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func recordDue(t *testing.T, db *gorm.DB, from, through string) models.DueReminders {
	t.Helper()
	var due models.DueReminders
	err := db.Transaction(func(tx *gorm.DB) error {
		var err error
		due, err = models.RecordDueReminders(context.Background(), tx, isoDate(t, from), isoDate(t, through), reminderNow)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return due
}

// remindersOf lists a credential's reminders as "offset:status[:reason]" in due order.
func remindersOf(t *testing.T, db *gorm.DB, id uuid.UUID) []string {
	t.Helper()
	rows, err := models.ListCredentialReminders(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, r := range rows {
		s := fmt.Sprintf("%d:%s", r.OffsetDays, r.Status)
		if r.SkipReason != nil {
			s += ":" + *r.SkipReason
		}
		out = append(out, s)
	}
	return out
}

func TestRecordDueRemindersTakesTheLatestDueOffsetOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	course := reminderCourse(t, db)
	// Due in [2027-06-01, 2027-06-10]: 90 days before 2027-08-30 (on the first day); 60 and
	// 30 days before 2027-07-05 (only the later, 30, counts); on the day of 2027-06-10 (the
	// last day); 30 days after 2027-05-02. Nothing of 2027-06-20 is due then.
	c90 := throughCredential(t, db, course, "2027-08-30")
	c30 := throughCredential(t, db, course, "2027-07-05")
	c0 := throughCredential(t, db, course, "2027-06-10")
	cAfter := throughCredential(t, db, course, "2027-05-02")
	cNone := throughCredential(t, db, course, "2027-06-20") // 7 days before is 2027-06-13

	due := recordDue(t, db, "2027-06-01", "2027-06-10")
	if got, want := len(due.Pending), 4; got != want || due.Skipped != 0 {
		t.Fatalf("recorded %d pending, %d skipped; want %d, 0", got, due.Skipped, want)
	}
	for _, tc := range []struct {
		c    *models.Credential
		want []string
	}{
		{c90, []string{"90:pending"}},
		{c30, []string{"30:pending"}},
		{c0, []string{"0:pending"}},
		{cAfter, []string{"-30:pending"}},
		{cNone, []string{}},
	} {
		if got := remindersOf(t, db, tc.c.ID); !slices.Equal(got, tc.want) {
			t.Errorf("credential through %s: reminders %v, want %v", day(tc.c.ValidThrough), got, tc.want)
		}
	}
	rows, _ := models.ListCredentialReminders(context.Background(), db, c30.ID)
	if got := day(rows[0].DueOn); got != "2027-06-05" {
		t.Errorf("due_on = %s, want 2027-06-05 (valid through 2027-07-05 minus 30 days)", got)
	}

	// The same days again record nothing: the reminders exist.
	if again := recordDue(t, db, "2027-06-01", "2027-06-10"); len(again.Pending) != 0 {
		t.Errorf("second pass recorded %d reminders, want 0", len(again.Pending))
	}
	// A window reaching back to an earlier offset records nothing for a credential that already
	// has a later one: 60 days before 2027-07-05 is 2027-05-06.
	if again := recordDue(t, db, "2027-05-06", "2027-05-06"); len(again.Pending) != 0 {
		t.Errorf("earlier offset after a later one: recorded %d, want 0", len(again.Pending))
	}
	// The next offsets come on their own days.
	if next := recordDue(t, db, "2027-06-11", "2027-06-13"); len(next.Pending) != 1 {
		t.Errorf("2027-06-11 to 13: recorded %d, want 1 (7 days before 2027-06-20)", len(next.Pending))
	}
	if next := recordDue(t, db, "2027-06-14", "2027-06-28"); len(next.Pending) != 2 {
		t.Errorf("2027-06-14 to 28: recorded %d, want 2", len(next.Pending))
	}
	if got := remindersOf(t, db, c30.ID); !slices.Equal(got, []string{"30:pending", "7:pending"}) {
		t.Errorf("credential through 2027-07-05: reminders %v, want [30:pending 7:pending]", got)
	}
	if got := remindersOf(t, db, cNone.ID); !slices.Equal(got, []string{"7:pending", "0:pending"}) {
		t.Errorf("credential through 2027-06-20: reminders %v, want [7:pending 0:pending]", got)
	}
}

func TestRecordDueRemindersLeavesOutWhatMustNotBeSent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	ctx := context.Background()
	course := reminderCourse(t, db)
	const through = "2027-06-30" // 30 days before: 2027-05-31
	active := throughCredential(t, db, course, through)
	revoked := throughCredential(t, db, course, through)
	suspended := throughCredential(t, db, course, through)
	superseded := throughCredential(t, db, course, through)
	renewed := throughCredential(t, db, course, through)
	retook := throughCredential(t, db, course, through)
	optedOut := throughCredential(t, db, course, through)

	for _, tc := range []struct {
		c      *models.Credential
		action string
	}{{revoked, models.ActionRevoked}, {suspended, models.ActionSuspended}} {
		if _, err := changeStatus(db, tc.c.ID, models.StatusChange{Action: tc.action, Category: "license_action",
			Reason: "r", ActorID: uuid.New(), At: reminderNow}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec(`UPDATE credentials SET status = 'superseded' WHERE id = ?`, superseded.ID).Error; err != nil {
		t.Fatal(err)
	}
	// A renewal of renewed: the holder's next credential points back to it.
	renewal := mustIssue(t, db, enrollFixture(t, db, renewed.UserID, course, true), reminderNow, time.UTC)
	if err := db.Exec(`UPDATE credentials SET renews = ?, valid_through = '2029-06-30' WHERE id = ?`, renewed.ID, renewal.ID).Error; err != nil {
		t.Fatal(err)
	}
	// The holder of retook passed the initial course again: a later credential, not a renewal.
	again := mustIssue(t, db, enrollFixture(t, db, retook.UserID, course, true), reminderNow, time.UTC)
	if err := db.Exec(`UPDATE credentials SET renews = NULL, valid_through = '2029-06-30' WHERE id = ?`, again.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`UPDATE users SET reminder_emails = false WHERE id = ?`, optedOut.UserID).Error; err != nil {
		t.Fatal(err)
	}

	due := recordDue(t, db, "2027-05-31", "2027-05-31")
	if len(due.Pending) != 1 || due.Skipped != 1 {
		t.Fatalf("recorded %d pending, %d skipped; want 1 (the active one), 1 (opted out)", len(due.Pending), due.Skipped)
	}
	want := map[*models.Credential][]string{
		active: {"30:pending"}, revoked: {}, suspended: {}, superseded: {}, renewed: {}, retook: {},
		optedOut: {"30:skipped:opted_out"},
	}
	for c, w := range want {
		if got := remindersOf(t, db, c.ID); !slices.Equal(got, w) {
			t.Errorf("credential %s: reminders %v, want %v", c.Code, got, w)
		}
	}

	// The same rules, asked again between recording and sending.
	for c, w := range map[*models.Credential]string{
		active: "", revoked: models.ReminderNotActive, suspended: models.ReminderNotActive,
		superseded: models.ReminderNotActive, renewed: models.ReminderRenewed, retook: models.ReminderRenewed,
		optedOut: models.ReminderOptedOut,
	} {
		got, err := models.ReminderSkipReason(ctx, db, c.ID)
		if err != nil || got != w {
			t.Errorf("credential %s: skip reason %q (%v), want %q", c.Code, got, err, w)
		}
	}
	if _, err := models.ReminderSkipReason(ctx, db, uuid.New()); !models.IsNotFound(err) {
		t.Errorf("unknown credential: %v, want ErrNotFound", err)
	}
	// A revoked renewal does not count: its predecessor is reminded again.
	if _, err := changeStatus(db, renewal.ID, models.StatusChange{Action: models.ActionRevoked, Category: "license_action",
		Reason: "r", ActorID: uuid.New(), At: reminderNow}); err != nil {
		t.Fatal(err)
	}
	if got, _ := models.ReminderSkipReason(ctx, db, renewed.ID); got != "" {
		t.Errorf("renewal revoked: skip reason %q, want none", got)
	}
}

// TestRecordDueRemindersRacingRecordsEachOnce runs scans of the same days in concurrent
// transactions without the scan lock: the unique (credential, offset) alone lets each reminder
// be recorded by exactly one of them.
func TestRecordDueRemindersRacingRecordsEachOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t).Gorm
	course := reminderCourse(t, db)
	const n = 12
	for i := range n {
		throughCredential(t, db, course, time.Date(2027, 7, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	const scanners = 6
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed []uuid.UUID
		start   = make(chan struct{})
	)
	for range scanners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := db.Transaction(func(tx *gorm.DB) error {
				due, err := models.RecordDueReminders(context.Background(), tx, isoDate(t, "2027-06-01"), isoDate(t, "2027-06-12"), reminderNow)
				if err != nil {
					return err
				}
				mu.Lock()
				claimed = append(claimed, due.Pending...)
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	slices.SortFunc(claimed, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if len(claimed) != n || len(slices.Compact(claimed)) != n {
		t.Errorf("scanners claimed %d reminders (%d distinct), want %d", len(claimed), len(slices.Compact(claimed)), n)
	}
	var rows int64
	if err := db.Raw(`SELECT count(*) FROM reminders`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Errorf("%d reminder rows, want %d", rows, n)
	}
}
