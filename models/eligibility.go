package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Why a renewal is refused.
var (
	ErrRenewalNoCredential = NewError("renewal-no-credential", ErrForbidden, "a renewal needs a current credential of this course; take the initial offering")
)

// CheckRenewalEligibility returns nil if the user may enroll in the course's renewal offering
// at now: they hold a current credential of the course inside its renewal window. Otherwise
// it returns an error naming why.
func CheckRenewalEligibility(ctx context.Context, db *gorm.DB, userID uuid.UUID, course *Course, now time.Time) error {
	return ErrRenewalNoCredential
}
