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

// Accommodation limits.
const (
	MaxTimeMultiplier  = 4.0
	TimeMultiplierStep = 0.05
)

// SetAccommodation grants a or replaces the user's accommodation and returns the one it
// replaced, nil when there was none. It returns ErrNotFound if the user does not exist.
func SetAccommodation(ctx context.Context, db *gorm.DB, a *Accommodation) (before *Accommodation, err error) {
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Locking the user serializes grants to one learner, so before is what was replaced.
		if _, err := LockUser(ctx, tx, a.UserID); err != nil {
			return err
		}
		if prev, err := FindAccommodation(ctx, tx, a.UserID); err == nil {
			before = prev
		} else if !IsNotFound(err) {
			return err
		}
		return translate(tx.Exec(`INSERT INTO accommodations (user_id, multiplier, reason, granted_by, granted_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET multiplier = excluded.multiplier, reason = excluded.reason,
				granted_by = excluded.granted_by, granted_at = excluded.granted_at`,
			a.UserID, a.Multiplier, a.Reason, a.GrantedBy, a.GrantedAt).Error)
	})
	return before, err
}

// FindAccommodation returns the user's accommodation, or ErrNotFound when none is granted.
func FindAccommodation(ctx context.Context, db *gorm.DB, userID uuid.UUID) (*Accommodation, error) {
	var a Accommodation
	if err := db.WithContext(ctx).First(&a, "user_id = ?", userID).Error; err != nil {
		return nil, translate(err)
	}
	return &a, nil
}

// DeleteAccommodation withdraws the user's accommodation and returns it. Attempts started
// before keep their deadline. It returns ErrNotFound when none is granted.
func DeleteAccommodation(ctx context.Context, db *gorm.DB, userID uuid.UUID) (*Accommodation, error) {
	var a Accommodation
	res := db.WithContext(ctx).Raw(`DELETE FROM accommodations WHERE user_id = ? RETURNING *`, userID).Scan(&a)
	if res.Error != nil {
		return nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	return &a, nil
}
