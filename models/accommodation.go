package models

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Accommodation multiplies a learner's exam time limit.
type Accommodation struct {
	UserID     uuid.UUID `gorm:"primaryKey"`
	Multiplier float64
	Reason     string
	GrantedBy  uuid.UUID
	GrantedAt  time.Time
}

// TimeMultiplier returns the learner's accommodation multiplier, 1 when none.
func TimeMultiplier(ctx context.Context, db *gorm.DB, userID uuid.UUID) (float64, error) {
	var a Accommodation
	err := db.WithContext(ctx).First(&a, "user_id = ?", userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, translate(err)
	}
	return a.Multiplier, nil
}
