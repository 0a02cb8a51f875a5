package api_test

import (
	"context"
	"math"
	"testing"

	"github.com/aalscert/aalscert/exam"
)

// TestItemAnalysis grades five ACLS attempts by hand (rows are attempts, columns items; "-"
// is on the form but unanswered) and checks the route against statistics worked out by
// hand:
//
//	      R-1 R-2 T-1 T-2
//	A1     1   1   1   0
//	A2     1   0   1   0
//	A3     0   0   1   1
//	A4     1   1   1   0
//	A5     0   0   1   -
//
// p = 0.6; rest scores 2,1,2,2,1, M1 = 5/3, M0 = 1.5, s = √0.24, r = 1/6.
// p = 0.4; rest scores 2,2,2,2,1, M1 = 2, M0 = 5/3, s = 0.4, r = (1/3)/0.4·√0.24.
// T-1: everyone right, so p = 1 and r is undefined.
// T-2: p = 0.2 (the unanswered one counts as wrong); rest 3,2,1,3,1, M1 = 1, M0 = 2.25,
// s = √0.8, r = −1.25/√0.8·0.4.
func TestItemAnalysis(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.adminToken(t)
	e.storeItems(t, fixtureItem("ACLS", "ACLS-R-1", "rhythm_recognition"), fixtureItem("ACLS", "ACLS-R-2", "rhythm_recognition"),
		fixtureItem("ACLS", "ACLS-T-1", "team_dynamics"), fixtureItem("ACLS", "ACLS-T-2", "team_dynamics"),
		fixtureItem("AALS", "AALS-P-1", "post_arrest_care"))
	learner, _ := e.user(t, "learner@h.test")
	en := e.paidEnrollmentIn(t, learner, "ACLS")
	matrix := [][]int{{1, 1, 1, 0}, {1, 0, 1, 0}, {0, 0, 1, 1}, {1, 1, 1, 0}, {0, 0, 1, -1}}
	ids := []string{"ACLS-R-1", "ACLS-R-2", "ACLS-T-1", "ACLS-T-2"}
	var want []exam.AttemptResponses
	for n, row := range matrix {
		var a gradedAttempt
		resp := exam.AttemptResponses{}
		for j, v := range row {
			if v < 0 {
				a.unanswered = append(a.unanswered, ids[j])
			} else {
				a.results = append(a.results, itemResult{ids[j], v == 1})
			}
			resp[ids[j]] = v == 1
		}
		e.storeGradedAttempt(t, en, n+1, a)
		want = append(want, resp)
	}
	// Neither another course's attempt nor one still in progress counts.
	other := e.paidEnrollmentIn(t, learner, "AALS")
	e.storeGradedAttempt(t, other, 1, gradedAttempt{results: []itemResult{{"AALS-P-1", true}}})
	_, err := e.db.Pool.Exec(context.Background(), `INSERT INTO attempts (id, enrollment_id, user_id, course_code, number, form,
			started_at, deadline, attested_at)
		VALUES (gen_random_uuid(), $1, $2, 'ACLS', 6, '[{"item_id": "ACLS-R-1", "options": ["a"]}]', now(), now() + interval '1 hour', now())`,
		en.ID, learner.ID)
	if err != nil {
		t.Fatal(err)
	}

	r := e.do(t, req{method: "GET", path: "/v1/admin/courses/acls/item-analysis", token: admin})
	if r.Code != 200 {
		t.Fatalf("item analysis: %d %s", r.Code, r.Body)
	}
	var got struct {
		Course   string
		Attempts int
		Items    []struct {
			ItemID         string   `json:"item_id"`
			Domain         string   `json:"domain"`
			Responses      int      `json:"responses"`
			Difficulty     float64  `json:"difficulty"`
			Discrimination *float64 `json:"discrimination"`
			Flags          []string `json:"flags"`
		}
	}
	r.decode(t, &got)
	type stat struct {
		domain string
		p      float64
		r      *float64
		flags  string
	}
	f := func(v float64) *float64 { return &v }
	hand := map[string]stat{
		"ACLS-R-1": {"rhythm_recognition", 0.6, f(1.0 / 6), "low_discrimination"},
		"ACLS-R-2": {"rhythm_recognition", 0.4, f((1.0 / 3) / 0.4 * math.Sqrt(0.24)), ""},
		"ACLS-T-1": {"team_dynamics", 1, nil, "low_discrimination too_easy"},
		"ACLS-T-2": {"team_dynamics", 0.2, f(-1.25 / math.Sqrt(0.8) * 0.4), "low_discrimination"},
	}
	if got.Course != "ACLS" || got.Attempts != 5 || len(got.Items) != 4 {
		t.Fatalf("analysis = %s, want 5 ACLS attempts over 4 items", r.Body)
	}
	engine := exam.Analyze(want)
	for i, it := range got.Items {
		h := hand[it.ItemID]
		flags := ""
		for j, fl := range it.Flags {
			if j > 0 {
				flags += " "
			}
			flags += fl
		}
		if it.ItemID != ids[i] || it.Domain != h.domain || it.Responses != 5 || math.Abs(it.Difficulty-h.p) > 1e-9 || flags != h.flags {
			t.Errorf("item %d = %+v, want %s %+v with 5 responses", i, it, ids[i], h)
		}
		switch {
		case (it.Discrimination == nil) != (h.r == nil):
			t.Errorf("%s discrimination = %v, want %v", it.ItemID, it.Discrimination, h.r)
		case h.r != nil && math.Abs(*it.Discrimination-*h.r) > 1e-9:
			t.Errorf("%s discrimination = %v, want %v", it.ItemID, *it.Discrimination, *h.r)
		case h.r != nil && math.Abs(*it.Discrimination-*engine[i].Discrimination) > 1e-12:
			t.Errorf("%s discrimination = %v, exam.Analyze says %v", it.ItemID, *it.Discrimination, *engine[i].Discrimination)
		}
	}

	t.Run("OnlyTheCoursesAttempts", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/v1/admin/courses/AALS/item-analysis", token: admin})
		var a struct {
			Attempts int
			Items    []any
		}
		r.decode(t, &a)
		if r.Code != 200 || a.Attempts != 1 || len(a.Items) != 1 {
			t.Fatalf("AALS analysis = %d %s, want its one attempt", r.Code, r.Body)
		}
	})
	e.run(t, []scenario{
		{name: "UnknownCourse", req: req{method: "GET", path: "/v1/admin/courses/BLS/item-analysis", token: admin}, wantStatus: 404, wantType: "not-found"},
	})
}
