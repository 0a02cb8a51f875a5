package models

import "context"

// JobStates are River's job states, in the order metrics report them.
var JobStates = []string{"available", "scheduled", "running", "retryable", "completed", "cancelled", "discarded", "pending"}

// CountJobsByState returns the number of River jobs in each state.
func CountJobsByState(ctx context.Context, db *DB) (map[string]int64, error) {
	rows, err := db.Pool.Query(ctx, `SELECT state::text, count(*) FROM river_job GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}
