package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// SeatPool is an org's seats of one course offering.
type SeatPool struct {
	OrgID      uuid.UUID
	CourseCode string
	Offering   string
	Total      int
	Used       int
	UpdatedAt  time.Time
}

// Available is the number of seats not yet used.
func (p SeatPool) Available() int { return p.Total - p.Used }

// Errors of seats.
var (
	ErrSeatsInUse = NewError("seats-in-use", ErrConflict, "only unused seats can be refunded")
)

func addSeats(ctx context.Context, tx *gorm.DB, orgID uuid.UUID, course, offering string, n int, now time.Time) error {
	return translate(tx.WithContext(ctx).Exec(`INSERT INTO seat_pools (org_id, course_code, offering, total, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, course_code, offering)
		DO UPDATE SET total = seat_pools.total + EXCLUDED.total, updated_at = EXCLUDED.updated_at`,
		orgID, course, offering, n, now).Error)
}

// ReturnSeats removes n unused seats from the org's pool (a refunded seat purchase). It
// returns ErrSeatsInUse if fewer than n are unused.
func ReturnSeats(ctx context.Context, tx *gorm.DB, orgID uuid.UUID, course, offering string, n int, now time.Time) error {
	res := tx.WithContext(ctx).Exec(`UPDATE seat_pools SET total = total - ?, updated_at = ?
		WHERE org_id = ? AND course_code = ? AND offering = ? AND total - used >= ?`, n, now, orgID, course, offering, n)
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrSeatsInUse
	}
	return nil
}

// ListSeatPools returns the org's seat pools.
func ListSeatPools(ctx context.Context, db *gorm.DB, orgID uuid.UUID) ([]SeatPool, error) {
	var pools []SeatPool
	err := db.WithContext(ctx).Where("org_id = ?", orgID).Order("course_code, offering").Find(&pools).Error
	return pools, translate(err)
}
