package credential

import (
	"fmt"
	"time"
)

// ValidityMonths is how long a credential runs: through the last day of the month 24 months
// after the month it was issued in (the AHA convention).
const ValidityMonths = 24

// Date is a calendar date with no time of day and no time zone, such as a credential's
// valid_through.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses a date written YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("parse date %q: %w", s, err)
	}
	return DateOf(t), nil
}

// String returns the date as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Time returns midnight at the start of d in UTC, the usual mapping of a date column.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// Before reports whether d is an earlier date than e.
func (d Date) Before(e Date) bool {
	return d.Time().Before(e.Time())
}

// ValidThrough returns the last date a credential issued at the instant issued is valid: the
// last day of the month that comes months months after the month of issue. The month of issue
// is read on the issuer's calendar (issued converted to loc), so a credential issued late in
// the evening of the 31st local time is not pushed into the next month by UTC.
//
// Issued 2026-03-14 → 2028-03-31; 2028-02-29 → 2030-02-28; 2026-12-31 → 2028-12-31.
func ValidThrough(issued time.Time, loc *time.Location, months int) Date {
	y, m, _ := issued.In(loc).Date()
	return endOfMonth(y, m+time.Month(months))
}

// ValidUntil returns the instant a credential valid through d stops being valid: the last
// second of d on the issuer's calendar (the next local midnight minus one second), in UTC. It
// is a whole second because JWT `exp` and `validUntil` are written to the second; a
// credential is expired at any instant after it. Counting back from the next midnight rather
// than writing 23:59:59 keeps the end of the day right on days a DST change shortens or
// lengthens.
func ValidUntil(d Date, loc *time.Location) time.Time {
	next := time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, loc)
	return next.Add(-time.Second).UTC()
}

// RenewedValidThrough returns the valid_through of a renewal passed at the instant passedOn,
// for a holder whose current credential is valid through old. A renewal passed while the old
// credential is still valid (up to and including its last second, ValidUntil(old, loc)) runs
// on from it, so renewing early loses no time: the last day of the month months months after
// old's month. A renewal passed after expiry counts from the pass date, as a new issue would.
func RenewedValidThrough(old Date, passedOn time.Time, loc *time.Location, months int) Date {
	if !passedOn.After(ValidUntil(old, loc)) {
		return endOfMonth(old.Year, old.Month+time.Month(months))
	}
	return ValidThrough(passedOn, loc, months)
}

// endOfMonth returns the last day of month m of year y; m may run past December, and
// time.Date carries the excess into the year.
func endOfMonth(y int, m time.Month) Date {
	// Day 0 of the next month is the last day of this one.
	return DateOf(time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC))
}
