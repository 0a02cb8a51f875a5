package api_test

import (
	"testing"
	"time"

	"github.com/aalscert/aalscert/api"
)

// TestCECreditsFollowTheIssuersCalendar: the AALS approval runs through 2028-12-31. At 03:00
// UTC on 2029-01-01 it is still December 31 in New York, so an issuer there still prints the
// credits; one on UTC no longer does.
func TestCECreditsFollowTheIssuersCalendar(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	instant := time.Date(2029, 1, 1, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		loc  *time.Location
		want string
	}{
		{"NewYork", ny, "approved"},
		{"UTC", time.UTC, "lapsed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *api.Config, _ *api.Deps) { c.Location = tc.loc })
			e.seedCourses(t)
			e.clock.Advance(instant.Sub(e.clock.Now()))
			var course struct {
				CE struct {
					Status string `json:"status"`
				} `json:"ce"`
			}
			e.do(t, req{method: "GET", path: "/v1/courses/AALS"}).decode(t, &course)
			if course.CE.Status != tc.want {
				t.Errorf("CE status = %q, want %q", course.CE.Status, tc.want)
			}
		})
	}
}
