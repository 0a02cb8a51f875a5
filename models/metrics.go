package models

import (
	"context"
	"time"
)

// StatusListChange is when a status list last changed (a credential on it was revoked,
// suspended or reinstated, or it was created).
type StatusListChange struct {
	ID        int
	Purpose   string
	ChangedAt time.Time
}

// OperationalState is what operators alert on, read at scrape time.
type OperationalState struct {
	// LastReminderScan is when the last reminder scan finished; nil if none ever did.
	LastReminderScan *time.Time
	StatusLists      []StatusListChange
}

// ReadOperationalState reads the time of the last finished reminder scan and the last change
// of every status list: two small reads (a few thousand scan rows a year, a handful of lists).
func ReadOperationalState(ctx context.Context, db *DB) (OperationalState, error) {
	var st OperationalState
	if err := db.Pool.QueryRow(ctx, `SELECT max(finished_at) FROM reminder_scans`).Scan(&st.LastReminderScan); err != nil {
		return st, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, purpose, changed_at FROM status_lists ORDER BY id`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var l StatusListChange
		if err := rows.Scan(&l.ID, &l.Purpose, &l.ChangedAt); err != nil {
			return st, err
		}
		st.StatusLists = append(st.StatusLists, l)
	}
	return st, rows.Err()
}
