package credential

import (
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func mustDate(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestValidThrough(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	tokyo := mustLoad(t, "Asia/Tokyo")
	for _, tc := range []struct {
		name   string
		issued time.Time
		loc    *time.Location
		want   string
	}{
		{"mid month", time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC), time.UTC, "2028-03-31"},
		{"Feb 29 in a leap year to a common year", time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC), time.UTC, "2030-02-28"},
		{"Feb in a common year to a leap year", time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC), time.UTC, "2028-02-29"},
		{"Jan 31", time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC), time.UTC, "2028-01-31"},
		{"Dec 31", time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC), time.UTC, "2028-12-31"},
		{"first of month", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.UTC, "2028-04-30"},
		// 2026-04-01 01:30 UTC is still 31 March in New York: March's rule applies.
		{"next day in UTC, not in New York", time.Date(2026, 4, 1, 1, 30, 0, 0, time.UTC), ny, "2028-03-31"},
		// 2027-01-01 03:00 UTC is 31 December 2026 in New York.
		{"next year in UTC, not in New York", time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC), ny, "2028-12-31"},
		// 2026-04-30 20:00 UTC is already 1 May in Tokyo.
		{"next day in Tokyo, not in UTC", time.Date(2026, 4, 30, 20, 0, 0, 0, time.UTC), tokyo, "2028-05-31"},
		// The zone of the instant given does not matter, only loc.
		{"instant in another zone", time.Date(2026, 3, 31, 23, 0, 0, 0, ny), time.UTC, "2028-04-30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidThrough(tc.issued, tc.loc, ValidityMonths).String(); got != tc.want {
				t.Errorf("ValidThrough(%s, %s) = %s, want %s", tc.issued.Format(time.RFC3339), tc.loc, got, tc.want)
			}
		})
	}
}

func TestValidUntil(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	for _, tc := range []struct {
		name string
		date string
		loc  *time.Location
		want time.Time
	}{
		{"UTC", "2028-03-31", time.UTC, time.Date(2028, 3, 31, 23, 59, 59, 0, time.UTC)},
		{"New York in summer (EDT, UTC−4)", "2028-07-31", ny, time.Date(2028, 8, 1, 3, 59, 59, 0, time.UTC)},
		{"New York in winter (EST, UTC−5)", "2028-01-31", ny, time.Date(2028, 2, 1, 4, 59, 59, 0, time.UTC)},
		// DST starts 2028-03-12 at 02:00 in New York: the day is 23 hours long but still ends
		// at 23:59:59 EDT.
		{"day DST starts", "2028-03-12", ny, time.Date(2028, 3, 13, 3, 59, 59, 0, time.UTC)},
		// DST ends 2028-11-05 at 02:00: a 25-hour day that ends at 23:59:59 EST.
		{"day DST ends", "2028-11-05", ny, time.Date(2028, 11, 6, 4, 59, 59, 0, time.UTC)},
		// The day before DST starts ends at 23:59:59 EST.
		{"day before DST starts", "2028-03-11", ny, time.Date(2028, 3, 12, 4, 59, 59, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ValidUntil(mustDate(t, tc.date), tc.loc)
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("ValidUntil(%s, %s) = %s, want %s", tc.date, tc.loc, got, tc.want)
			}
			local := got.In(tc.loc)
			if h, m, s := local.Clock(); h != 23 || m != 59 || s != 59 || DateOf(local).String() != tc.date {
				t.Errorf("ValidUntil in %s is %s, want %s 23:59:59", tc.loc, local, tc.date)
			}
		})
	}
}

func TestRenewedValidThrough(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	old := mustDate(t, "2028-03-31")
	for _, tc := range []struct {
		name     string
		passedOn time.Time
		loc      *time.Location
		want     string
	}{
		{"months early runs on from the old date", time.Date(2028, 1, 10, 12, 0, 0, 0, time.UTC), time.UTC, "2030-03-31"},
		{"on the last day", time.Date(2028, 3, 31, 15, 0, 0, 0, time.UTC), time.UTC, "2030-03-31"},
		{"in its last second", time.Date(2028, 3, 31, 23, 59, 59, 0, time.UTC), time.UTC, "2030-03-31"},
		{"just after expiry counts from the pass date", time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC), time.UTC, "2030-04-30"},
		{"in the grace period", time.Date(2028, 4, 20, 9, 0, 0, 0, time.UTC), time.UTC, "2030-04-30"},
		// 2028-04-01 02:00 UTC is still 31 March in New York: the old credential is valid.
		{"after expiry in UTC, not in New York", time.Date(2028, 4, 1, 2, 0, 0, 0, time.UTC), ny, "2030-03-31"},
		// 2028-04-01 04:30 UTC is 00:30 on 1 April in New York (EDT): expired.
		{"after expiry in New York", time.Date(2028, 4, 1, 4, 30, 0, 0, time.UTC), ny, "2030-04-30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RenewedValidThrough(old, tc.passedOn, tc.loc, ValidityMonths).String(); got != tc.want {
				t.Errorf("RenewedValidThrough(%s, %s, %s) = %s, want %s", old, tc.passedOn.Format(time.RFC3339), tc.loc, got, tc.want)
			}
		})
	}

	// A legacy credential that ends mid-month still renews to a month end.
	if got := RenewedValidThrough(mustDate(t, "2027-02-14"), time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC), time.UTC, ValidityMonths); got.String() != "2029-02-28" {
		t.Errorf("legacy renewal = %s, want 2029-02-28", got)
	}
}

func TestDate(t *testing.T) {
	d := mustDate(t, "2028-02-29")
	if d != (Date{2028, time.February, 29}) || d.String() != "2028-02-29" {
		t.Errorf("ParseDate = %+v (%s)", d, d)
	}
	if !d.Time().Equal(time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %s", d.Time())
	}
	if !d.Before(mustDate(t, "2028-03-01")) || d.Before(d) {
		t.Error("Before is wrong")
	}
	for _, s := range []string{"2027-02-29", "2028-2-29", "28-02-29", ""} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) succeeded", s)
		}
	}
}
