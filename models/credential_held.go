package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// HeldEnrollment is an enrollment whose requirements are met but that has no credential yet,
// because its holder's email was not verified when the last requirement was met.
type HeldEnrollment struct {
	EnrollmentID uuid.UUID
	// MetAt is when the last requirement was met: the exam pass, or the skills check
	// attestation if the course needs one and it came later. The credential is dated then.
	MetAt time.Time
}

// ListHeldEnrollments returns the user's held enrollments, oldest first. An enrollment that
// lapsed after its requirements were met is held too: it was complete but for the address.
// It locks the enrollments FOR UPDATE, so two verifications of the same address at once
// issue in turn rather than side by side.
func ListHeldEnrollments(ctx context.Context, db *gorm.DB, userID uuid.UUID) ([]HeldEnrollment, error) {
	var rows []HeldEnrollment
	err := db.WithContext(ctx).Raw(`SELECT e.id AS enrollment_id,
			GREATEST(e.exam_passed_at, CASE WHEN c.skills_check_required THEN e.skills_passed_at END) AS met_at
		FROM enrollments e JOIN courses c ON c.code = e.course_code
		WHERE e.user_id = ? AND e.exam_passed_at IS NOT NULL
		  AND (NOT c.skills_check_required OR e.skills_passed_at IS NOT NULL)
		  AND (e.status = 'active' OR (e.status = 'lapsed' AND e.ended_at >=
			GREATEST(e.exam_passed_at, CASE WHEN c.skills_check_required THEN e.skills_passed_at END)))
		  AND NOT EXISTS (SELECT 1 FROM credentials cr WHERE cr.enrollment_id = e.id AND cr.reissue_of IS NULL)
		ORDER BY met_at, e.id
		FOR UPDATE OF e`, userID).Scan(&rows).Error
	return rows, translate(err)
}
