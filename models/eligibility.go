package models

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Why a renewal is refused. CheckRenewalEligibility returns a *RenewalRefusedError that
// matches one of these with errors.Is and carries the dates behind the decision.
var (
	ErrRenewalNoCredential = NewError("renewal-no-credential", ErrForbidden, "a renewal needs a current credential of this course; take the initial offering")
	ErrRenewalTooEarly     = NewError("renewal-too-early", ErrForbidden, "the renewal window of your credential has not opened yet")
	ErrRenewalTooLate      = NewError("renewal-too-late", ErrForbidden, "the renewal grace period of your credential has ended; take the initial offering")
	ErrRenewalUnverified   = NewError("renewal-unverified", ErrForbidden, "your uploaded card is waiting for verification by the program")
)

// RenewalRefusedError is a refused renewal. errors.Is matches its Reason; errors.As to *Error
// yields the same stable code with a message that names the dates.
type RenewalRefusedError struct {
	Reason   *Error
	OpensOn  time.Time // first day of the window of the credential the decision rests on
	ClosesOn time.Time // last day of that window
	detail   *Error
}

func (e *RenewalRefusedError) Error() string { return e.detail.Msg }

// Unwrap returns the refusal with its dated message, which wraps ErrForbidden.
func (e *RenewalRefusedError) Unwrap() error { return e.detail }

// Is reports whether target is the refusal's reason.
func (e *RenewalRefusedError) Is(target error) bool { return target == e.Reason }

// heldCredential is one credential of a course the user holds (or claims), from any source.
type heldCredential struct {
	ExpiresOn time.Time // the last valid day, as midnight UTC
	Verified  bool      // false: an upload still waiting for review
}

// credentialSource lists a user's credentials of a course from one place.
type credentialSource func(ctx context.Context, db *gorm.DB, userID uuid.UUID, course string) ([]heldCredential, error)

// credentialSources are every place a current credential can come from: uploaded cards and
// the credentials this issuer granted. Those an admin imported join here as one more query.
var credentialSources = []credentialSource{externalCredentials, issuedCredentials}

// CheckRenewalEligibility returns nil if the user may enroll in the course's renewal offering
// at now: they hold a current credential of the course inside its renewal window, from
// (expiry − before days) to (expiry + after days), both days in full, counted in now's time
// zone (pass now in the issuer's zone). Otherwise it returns a *RenewalRefusedError saying
// why (ErrRenewalTooEarly, ErrRenewalUnverified, ErrRenewalTooLate, ErrRenewalNoCredential,
// checked in that order), or a database error.
func CheckRenewalEligibility(ctx context.Context, db *gorm.DB, userID uuid.UUID, course *Course, now time.Time) error {
	var held []heldCredential
	for _, src := range credentialSources {
		hs, err := src(ctx, db, userID, course.Code)
		if err != nil {
			return fmt.Errorf("renewal eligibility for %s: %w", course.Code, err)
		}
		held = append(held, hs...)
	}
	return decideRenewal(held, course, calendarDay(now))
}

// renewalWindow is the first and last day on which a credential expiring on expires may be
// renewed.
func renewalWindow(c *Course, expires time.Time) (opens, closes time.Time) {
	return expires.AddDate(0, 0, -c.RenewalWindowBeforeDays), expires.AddDate(0, 0, c.RenewalWindowAfterDays)
}

// decideRenewal applies the window to each credential on today (midnight UTC of the day).
func decideRenewal(held []heldCredential, c *Course, today time.Time) error {
	var early, late, pending *heldCredential
	for i := range held {
		h := &held[i]
		opens, closes := renewalWindow(c, h.ExpiresOn)
		switch {
		case today.Before(opens):
			if early == nil || h.ExpiresOn.Before(early.ExpiresOn) {
				early = h
			}
		case today.After(closes):
			if late == nil || h.ExpiresOn.After(late.ExpiresOn) {
				late = h
			}
		case h.Verified:
			return nil
		default:
			pending = h
		}
	}
	switch {
	case early != nil:
		opens, closes := renewalWindow(c, early.ExpiresOn)
		return refuseRenewal(ErrRenewalTooEarly, opens, closes, "your %s credential expires on %s: renewal opens on %s",
			c.Code, isoDay(early.ExpiresOn), isoDay(opens))
	case pending != nil:
		opens, closes := renewalWindow(c, pending.ExpiresOn)
		return refuseRenewal(ErrRenewalUnverified, opens, closes, "your uploaded %s card (expires %s) is waiting for verification by the program; renew once it is verified",
			c.Code, isoDay(pending.ExpiresOn))
	case late != nil:
		opens, closes := renewalWindow(c, late.ExpiresOn)
		return refuseRenewal(ErrRenewalTooLate, opens, closes, "your %s credential expired on %s and renewal closed on %s: take the initial offering",
			c.Code, isoDay(late.ExpiresOn), isoDay(closes))
	}
	return &RenewalRefusedError{Reason: ErrRenewalNoCredential, detail: ErrRenewalNoCredential}
}

func refuseRenewal(reason *Error, opens, closes time.Time, format string, args ...any) error {
	return &RenewalRefusedError{Reason: reason, OpensOn: opens, ClosesOn: closes,
		detail: NewError(reason.Code, reason.Kind, fmt.Sprintf(format, args...))}
}

func isoDay(t time.Time) string { return t.Format(time.DateOnly) }

// externalCredentials are the outside cards the user uploaded, verified or still pending;
// rejected ones do not count.
func externalCredentials(ctx context.Context, db *gorm.DB, userID uuid.UUID, course string) ([]heldCredential, error) {
	var rows []struct {
		ExpiresOn time.Time
		Status    string
	}
	err := db.WithContext(ctx).Model(&ExternalCredential{}).Select("expires_on", "status").
		Where("user_id = ? AND course_code = ? AND status IN ?", userID, course, []string{ExternalPending, ExternalVerified}).
		Scan(&rows).Error
	if err != nil {
		return nil, translate(err)
	}
	out := make([]heldCredential, 0, len(rows))
	for _, r := range rows {
		out = append(out, heldCredential{ExpiresOn: calendarDay(r.ExpiresOn), Verified: r.Status == ExternalVerified})
	}
	return out, nil
}
