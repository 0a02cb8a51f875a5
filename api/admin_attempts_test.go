package api_test

import (
	"strings"
	"testing"
	"time"
)

func TestAdminListAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.adminToken(t)
	e.storeItems(t, fixtureItem("ACLS", "ACLS-R-1", "rhythm_recognition"), fixtureItem("AALS", "AALS-P-1", "post_arrest_care"))
	ann, _ := e.user(t, "ann@h.test")
	bob, _ := e.user(t, "bob@h.test")
	start := e.clock.Now().Add(-5 * time.Hour)
	fast := e.storeGradedAttempt(t, e.paidEnrollmentIn(t, ann, "ACLS"), 1, gradedAttempt{
		results: []itemResult{{"ACLS-R-1", true}}, flags: []string{"too_fast", "many_addresses"}, started: start})
	plain := e.storeGradedAttempt(t, e.paidEnrollmentIn(t, bob, "ACLS"), 1, gradedAttempt{
		results: []itemResult{{"ACLS-R-1", false}}, started: start.Add(time.Hour)})
	aals := e.storeGradedAttempt(t, e.paidEnrollmentIn(t, bob, "AALS"), 1, gradedAttempt{
		results: []itemResult{{"AALS-P-1", true}}, flags: []string{"too_fast"}, started: start.Add(2 * time.Hour)})

	type attemptBody struct {
		ID      string `json:"id"`
		Course  string `json:"course"`
		Learner struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"learner"`
		StartedAt   time.Time  `json:"started_at"`
		GradedAt    *time.Time `json:"graded_at"`
		Score       *float64   `json:"score"`
		FlagReasons []string   `json:"flag_reasons"`
	}
	list := func(t *testing.T, query string) ([]attemptBody, string) {
		t.Helper()
		r := e.do(t, req{method: "GET", path: "/v1/admin/attempts" + query, token: admin})
		if r.Code != 200 {
			t.Fatalf("list attempts%s: %d %s", query, r.Code, r.Body)
		}
		var l struct {
			Items      []attemptBody `json:"items"`
			NextCursor string        `json:"next_cursor"`
		}
		r.decode(t, &l)
		return l.Items, l.NextCursor
	}
	ids := func(items []attemptBody) string {
		var out []string
		for _, a := range items {
			out = append(out, a.ID)
		}
		return strings.Join(out, " ")
	}

	t.Run("Flagged", func(t *testing.T) {
		items, _ := list(t, "?flagged=true")
		if got, want := ids(items), aals.String()+" "+fast.String(); got != want {
			t.Fatalf("flagged = %s, want the two flagged attempts, newest first", got)
		}
		a := items[1]
		if a.Course != "ACLS" || a.Learner.Email != "ann@h.test" || a.Learner.Name != ann.Name || !a.StartedAt.Equal(start) ||
			a.GradedAt == nil || !a.GradedAt.Equal(start.Add(30*time.Minute)) || a.Score == nil || *a.Score != 100 ||
			strings.Join(a.FlagReasons, ",") != "too_fast,many_addresses" {
			t.Errorf("flagged attempt = %+v, want Ann's ACLS attempt with its times, score and reasons", a)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"", aals.String() + " " + plain.String() + " " + fast.String()},
			{"?flagged=false", plain.String()},
			{"?flagged=true&course=acls", fast.String()},
		} {
			if items, _ := list(t, tc.query); ids(items) != tc.want {
				t.Errorf("attempts%s = %s, want %s", tc.query, ids(items), tc.want)
			}
		}
	})
	t.Run("Pages", func(t *testing.T) {
		first, next := list(t, "?limit=2")
		second, last := list(t, "?limit=2&cursor="+next)
		if ids(first) != aals.String()+" "+plain.String() || ids(second) != fast.String() || last != "" {
			t.Errorf("pages = [%s] [%s] %q, want 2 then 1", ids(first), ids(second), last)
		}
	})
	e.run(t, []scenario{
		{name: "BadFlagged", req: req{method: "GET", path: "/v1/admin/attempts?flagged=yes", token: admin}, wantStatus: 422, wantType: "validation"},
	})
}
