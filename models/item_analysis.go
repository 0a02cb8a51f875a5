package models

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// ItemResponse is one graded attempt's result on one item of its form.
type ItemResponse struct {
	AttemptID uuid.UUID
	ItemID    string
	Domain    string
	Correct   bool
}

// ListItemResponses returns, for every graded attempt of the course, whether each item on
// its form was answered correctly, ordered by attempt. An item left unanswered is wrong, as
// in grading. It reads every graded attempt in one query.
func ListItemResponses(ctx context.Context, db *gorm.DB, course string) ([]ItemResponse, error) {
	var rows []ItemResponse
	err := db.WithContext(ctx).Raw(`SELECT a.id AS attempt_id, f.item_id, i.domain, COALESCE(aa.correct, false) AS correct
		FROM attempts a
		CROSS JOIN LATERAL jsonb_to_recordset(a.form) AS f(item_id text)
		JOIN items i ON i.id = f.item_id
		LEFT JOIN attempt_answers aa ON aa.attempt_id = a.id AND aa.item_id = f.item_id
		WHERE a.course_code = ? AND a.status = 'graded'
		ORDER BY a.id, f.item_id`, course).Scan(&rows).Error
	return rows, translate(err)
}
