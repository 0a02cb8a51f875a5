package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Reminder statuses.
const (
	ReminderPending = "pending" // recorded, its email not queued yet
	ReminderQueued  = "queued"  // its email is in the outbox (see OutboxID)
	ReminderSkipped = "skipped" // not sent after all (see SkipReason)
)

// Why a reminder was skipped.
const (
	ReminderOptedOut  = "opted_out"  // the holder turned reminder emails off
	ReminderNotActive = "not_active" // revoked, suspended or superseded since it was recorded
	ReminderRenewed   = "renewed"    // the holder renewed (or holds a later credential of the course)
)

// Reminder is one renewal reminder of a credential: the intent to email its holder at one
// offset, recorded before the email is queued. The unique (credential, offset) makes each
// reminder happen at most once however many scanners run.
type Reminder struct {
	ID           uuid.UUID
	CredentialID uuid.UUID
	UserID       uuid.UUID
	OffsetDays   int       // days before valid_through; negative after it
	DueOn        time.Time `gorm:"type:date"`
	Status       string
	SkipReason   *string
	OutboxID     *uuid.UUID
	CreatedAt    time.Time
	QueuedAt     *time.Time
}

// ReminderScan is one completed reminder scan and the days it covered. A scan that found its
// days already covered has FromDay after ThroughDay.
type ReminderScan struct {
	ID         int64     `gorm:"->"`
	FromDay    time.Time `gorm:"type:date"`
	ThroughDay time.Time `gorm:"type:date"`
	Found      int
	StartedAt  time.Time
	FinishedAt time.Time
}

// LockReminderScans takes, until tx ends, the advisory lock that serializes reminder scans.
// A second scanner waits here and then sees the first one's reminder_scans row, so it finds
// the days already covered instead of racing on the same reminders.
func LockReminderScans(ctx context.Context, tx *gorm.DB) error {
	return translate(tx.WithContext(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtextextended('reminder-scan', 0))`).Error)
}

// LastReminderScan returns the latest completed scan, or ErrNotFound if none ever ran. Scans
// hold LockReminderScans, so the latest has the latest ThroughDay.
func LastReminderScan(ctx context.Context, db *gorm.DB) (*ReminderScan, error) {
	var s ReminderScan
	if err := db.WithContext(ctx).Order("id DESC").Take(&s).Error; err != nil {
		return nil, translate(err)
	}
	return &s, nil
}

// CreateReminderScan records a completed scan.
func CreateReminderScan(ctx context.Context, db *gorm.DB, s *ReminderScan) error {
	return translate(db.WithContext(ctx).Create(s).Error)
}

// DueReminders is what RecordDueReminders recorded.
type DueReminders struct {
	Pending []uuid.UUID // reminders whose email is to be queued
	Skipped int         // reminders recorded as skipped: the holder opted out
}

// recordDueReminders finds, with the index on active credentials' valid_through, every
// credential with a reminder due in the window: for each course offset o, valid_through - o in
// [from, through]. A credential with several offsets due there (the service was down) gets
// only the latest, the smallest o, and none if it already has a reminder at that offset or a
// later one. Renewed credentials, and those whose holder has a later credential of the course
// (a renewal, or the initial course taken again), get none. The lateral subquery is fenced
// (OFFSET 0) so each (course, offset) reads one range of the index and probes the few rows it
// finds: unfenced, the planner hash-joined every credential (2.2 s on a million; fenced, the
// scan of a day, 6,666 reminders recorded and enqueued, took 0.5 s).
const recordDueReminders = `
WITH due AS (
	SELECT DISTINCT ON (c.id) c.id AS credential_id, c.user_id, c.offset_days,
		c.valid_through - c.offset_days AS due_on, c.reminder_emails
	FROM courses co
	CROSS JOIN LATERAL unnest(co.reminder_offsets_days) AS o(offset_days)
	CROSS JOIN LATERAL (
		SELECT c.id, c.user_id, c.valid_through, o.offset_days, u.reminder_emails
		FROM credentials c JOIN users u ON u.id = c.user_id
		WHERE c.status = 'active' AND c.course_code = co.code
			AND c.valid_through BETWEEN CAST(@from AS date) + o.offset_days AND CAST(@through AS date) + o.offset_days
			AND NOT EXISTS (SELECT 1 FROM credentials r WHERE r.renews = c.id AND r.status <> 'revoked')
			AND NOT EXISTS (SELECT 1 FROM credentials n WHERE n.user_id = c.user_id AND n.course_code = c.course_code
				AND n.valid_through > c.valid_through AND n.status <> 'revoked')
		OFFSET 0 -- a fence: one index range per (course, offset), whatever the planner estimates
	) c
	ORDER BY c.id, c.offset_days
)
INSERT INTO reminders (id, credential_id, user_id, offset_days, due_on, status, skip_reason, created_at)
SELECT gen_random_uuid(), d.credential_id, d.user_id, d.offset_days, d.due_on,
	CASE WHEN d.reminder_emails THEN 'pending' ELSE 'skipped' END,
	CASE WHEN d.reminder_emails THEN NULL ELSE 'opted_out' END,
	@now
FROM due d
WHERE NOT EXISTS (SELECT 1 FROM reminders r WHERE r.credential_id = d.credential_id AND r.offset_days <= d.offset_days)
ON CONFLICT (credential_id, offset_days) DO NOTHING
RETURNING id, status`

// RecordDueReminders records, in one statement, the reminders due on the days from through
// through (calendar days, inclusive) that no earlier scan recorded: pending ones, or skipped
// ones for holders who opted out. The unique (credential, offset) decides between scanners
// that race, so each reminder is recorded once. tx must be a transaction.
func RecordDueReminders(ctx context.Context, tx *gorm.DB, from, through, now time.Time) (DueReminders, error) {
	var rows []struct {
		ID     uuid.UUID
		Status string
	}
	// The planner cannot know how many offsets a course has, overestimates the statement and
	// compiles it with JIT, which took longer than the statement itself on a million
	// credentials (0.7 s of 1.2 s).
	if err := tx.WithContext(ctx).Exec(`SET LOCAL jit = off`).Error; err != nil {
		return DueReminders{}, translate(err)
	}
	err := tx.WithContext(ctx).Raw(recordDueReminders, map[string]any{
		"from": isoDay(from), "through": isoDay(through), "now": now}).Scan(&rows).Error
	if err != nil {
		return DueReminders{}, translate(err)
	}
	var out DueReminders
	for _, r := range rows {
		if r.Status == ReminderPending {
			out.Pending = append(out.Pending, r.ID)
		} else {
			out.Skipped++
		}
	}
	return out, nil
}

// LockReminder returns the reminder locked until tx ends, or ErrNotFound.
func LockReminder(ctx context.Context, tx *gorm.DB, id uuid.UUID) (*Reminder, error) {
	var r Reminder
	if err := tx.WithContext(ctx).Raw(`SELECT * FROM reminders WHERE id = ? FOR UPDATE`, id).Take(&r).Error; err != nil {
		return nil, translate(err)
	}
	return &r, nil
}

// ReminderSkipReason returns why the reminder of a credential should not be sent now
// (ReminderNotActive, ReminderRenewed or ReminderOptedOut), or "" if it should. It applies the
// rules of RecordDueReminders again, for the time between recording and queueing.
func ReminderSkipReason(ctx context.Context, db *gorm.DB, credentialID uuid.UUID) (string, error) {
	var reasons []string
	err := db.WithContext(ctx).Raw(`SELECT CASE
		WHEN c.status <> 'active' THEN ?
		WHEN EXISTS (SELECT 1 FROM credentials r WHERE r.renews = c.id AND r.status <> 'revoked')
			OR EXISTS (SELECT 1 FROM credentials n WHERE n.user_id = c.user_id AND n.course_code = c.course_code
				AND n.valid_through > c.valid_through AND n.status <> 'revoked') THEN ?
		WHEN NOT u.reminder_emails THEN ?
		ELSE '' END
		FROM credentials c JOIN users u ON u.id = c.user_id WHERE c.id = ?`,
		ReminderNotActive, ReminderRenewed, ReminderOptedOut, credentialID).Scan(&reasons).Error
	if err != nil {
		return "", translate(err)
	}
	if len(reasons) == 0 {
		return "", ErrNotFound
	}
	return reasons[0], nil
}

// MarkReminderQueued records that the reminder's email is in the outbox.
func MarkReminderQueued(ctx context.Context, tx *gorm.DB, id, outboxID uuid.UUID, now time.Time) error {
	return translate(tx.WithContext(ctx).Model(&Reminder{}).Where("id = ?", id).
		Updates(map[string]any{"status": ReminderQueued, "outbox_id": outboxID, "queued_at": now}).Error)
}

// MarkReminderSkipped records that the reminder will not be sent, and why.
func MarkReminderSkipped(ctx context.Context, tx *gorm.DB, id uuid.UUID, reason string) error {
	return translate(tx.WithContext(ctx).Model(&Reminder{}).Where("id = ?", id).
		Updates(map[string]any{"status": ReminderSkipped, "skip_reason": reason}).Error)
}

// ReminderDelivery is a reminder with the state of its email.
type ReminderDelivery struct {
	Reminder
	OutboxStatus *string    // nil until queued
	SentAt       *time.Time // when the email went out (or was logged)
}

// ListCredentialReminders returns the credential's reminders, earliest due first, with the
// state of their emails. A credential with none, or an unknown one, gives an empty list.
func ListCredentialReminders(ctx context.Context, db *gorm.DB, credentialID uuid.UUID) ([]ReminderDelivery, error) {
	var rows []ReminderDelivery
	err := db.WithContext(ctx).Raw(`SELECT r.*, o.status AS outbox_status, o.sent_at
		FROM reminders r LEFT JOIN outbox o ON o.id = r.outbox_id
		WHERE r.credential_id = ? ORDER BY r.due_on, r.offset_days DESC`, credentialID).Scan(&rows).Error
	return rows, translate(err)
}
