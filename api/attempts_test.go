package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aalscert/aalscert/models"
)

// TestAttemptStartAnswerResumeSubmit takes an AALS exam from start to grade and checks the
// score against the bank's keys.
func TestAttemptStartAnswerResumeSubmit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	ana, tok := e.user(t, "ana@example.org")
	enrID := e.activeEnrollment(t, tok, "AALS")
	start := e.clock.Now()

	a := e.startAttempt(t, tok, enrID)
	if a.Number != 1 || a.Status != "in_progress" || len(a.Items) != 30 || len(a.Answers) != 0 || a.Result != nil {
		t.Fatalf("attempt = number %d, %s, %d items, %d answers, result %v; want 1, in_progress, 30, 0, nil",
			a.Number, a.Status, len(a.Items), len(a.Answers), a.Result)
	}
	if want := start.Add(time.Hour); !a.Deadline.Equal(want) || a.TimeLimitMinutes != 60 || a.TimeLeftSeconds != 3600 {
		t.Errorf("deadline = %v, limit %v min, left %d s; want %v, 60, 3600", a.Deadline, a.TimeLimitMinutes, a.TimeLeftSeconds, want)
	}
	bank := e.bankOf(t, a)
	perDomain := map[string]int{}
	for _, it := range a.Items {
		perDomain[bank[it.ID].Domain]++
		if labels := optionIDs(it); !slices.Equal(labels, []string{"A", "B", "C", "D"}) {
			t.Fatalf("item %s option IDs = %v, want the labels A–D in order", it.ID, labels)
		}
	}
	want := map[string]int{"monitoring_deterioration": 6, "or_reversible_causes": 9, "resuscitation_in_or": 6, "crisis_resource_management": 6, "post_arrest_care": 3}
	if !maps.Equal(perDomain, want) {
		t.Errorf("items per domain = %v, want %v (the blueprint)", perDomain, want)
	}
	row := e.attemptRow(t, a.ID)
	if row.ClientIP != "192.0.2.10" || row.UserAgent != "aals-test/1.0" || !row.AttestedAt.Equal(start) || row.Multiplier != 1 {
		t.Errorf("recorded = %+v, want the client address, user agent, attestation time and multiplier 1", row)
	}

	// An answer cleared with an empty list is gone.
	first := a.Items[0]
	e.run(t, []scenario{
		{name: "AnswerFirst", req: answerReq(tok, a.ID, first.ID, wrongLabels(first, bank[first.ID])), wantStatus: 204},
		{name: "ClearFirst", req: answerReq(tok, a.ID, first.ID, []string{}), wantStatus: 204},
	})
	if got := e.getAttempt(t, tok, a.ID); len(got.Answers) != 0 {
		t.Fatalf("answers after clearing = %+v, want none", got.Answers)
	}

	// 27 right and 3 wrong, a minute apart: 90 %, a pass at 84 %.
	wrong := func(i int) bool { return i%10 == 4 }
	sent := e.answerAll(t, ana, a, time.Minute, wrong)
	tok = e.token(t, ana)

	resumed := e.getAttempt(t, tok, a.ID)
	if !slices.Equal(itemIDs(resumed), itemIDs(a)) || !slices.EqualFunc(resumed.Items, a.Items, func(x, y formItemBody) bool { return slices.Equal(x.Options, y.Options) }) {
		t.Errorf("resumed form differs from the started one")
	}
	if len(resumed.Answers) != 30 {
		t.Fatalf("resumed answers = %d, want 30", len(resumed.Answers))
	}
	for _, ans := range resumed.Answers {
		if !slices.Equal(ans.Choices, sent[ans.ItemID]) {
			t.Errorf("saved answer to %s = %v, want %v", ans.ItemID, ans.Choices, sent[ans.ItemID])
		}
	}
	if want := int(a.Deadline.Sub(e.clock.Now()).Seconds()); resumed.TimeLeftSeconds != want {
		t.Errorf("time left = %d, want %d", resumed.TimeLeftSeconds, want)
	}

	raw, res := e.submitAttempt(t, tok, a.ID)
	if res.Score != 90 || !res.Passed || res.PassMark != 84 || res.Correct != 27 || res.Total != 30 {
		t.Errorf("result = %+v, want 90 %%, passed at 84, 27 of 30", res)
	}
	wantDomains := map[string][2]int{}
	for i, it := range a.Items {
		d := wantDomains[bank[it.ID].Domain]
		d[1]++
		if !wrong(i) {
			d[0]++
		}
		wantDomains[bank[it.ID].Domain] = d
	}
	for _, d := range res.Domains {
		if got := [2]int{d.Correct, d.Total}; got != wantDomains[d.Domain] {
			t.Errorf("domain %s = %v, want %v", d.Domain, got, wantDomains[d.Domain])
		}
	}
	if len(res.Domains) != len(wantDomains) {
		t.Errorf("domains = %d, want %d", len(res.Domains), len(wantDomains))
	}

	again, _ := e.submitAttempt(t, tok, a.ID)
	if string(again.Body) != string(raw.Body) {
		t.Errorf("second submit = %s, want the first result %s", again.Body, raw.Body)
	}
	graded := e.getAttempt(t, tok, a.ID)
	if graded.Status != "graded" || graded.Result == nil || graded.Result.Score != 90 || graded.TimeLeftSeconds != 0 || graded.SubmittedAt == nil {
		t.Errorf("graded attempt = %s, result %+v, left %d, submitted %v", graded.Status, graded.Result, graded.TimeLeftSeconds, graded.SubmittedAt)
	}
	var list struct{ Items []attemptBody }
	e.do(t, req{method: "GET", path: "/v1/enrollments/" + enrID + "/attempts", token: tok}).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ID || list.Items[0].Result == nil || list.Items[0].Items != nil {
		t.Errorf("list = %+v, want the one attempt with its result and no form", list.Items)
	}

	status, _, passedAt := e.enrollmentState(t, enrID)
	// AALS needs no skills check: the pass issues the credential, which completes the enrollment.
	if status != "completed" || passedAt == nil || !passedAt.Equal(e.clock.Now()) {
		t.Errorf("enrollment = %s, exam passed at %v; want completed, passed at %v", status, passedAt, e.clock.Now())
	}
	if row := e.attemptRow(t, a.ID); row.Flagged {
		t.Errorf("an attempt of 30 minutes from one address is flagged: %v", row.FlagReasons)
	}
	if n := e.count(t, `SELECT count(*) FROM attempt_answers WHERE attempt_id = $1 AND correct`, a.ID); n != 27 {
		t.Errorf("answers recorded correct = %d, want 27", n)
	}
	e.run(t, []scenario{
		{name: "StartAfterPassing", req: startReq(tok, enrID), wantStatus: 409, wantType: "enrollment-not-active"},
		{name: "AnswerAfterGrading", req: answerReq(tok, a.ID, first.ID, []string{"A"}), wantStatus: 409, wantType: "attempt-closed"},
	})
}

// TestAttemptNeverRevealsKeyOrRationale walks every learner-facing response of a full
// attempt and checks that no key, rationale, or field that gives the key away reaches the
// learner.
func TestAttemptNeverRevealsKeyOrRationale(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	u, tok := e.user(t, "leak@example.org")
	enrID := e.activeEnrollment(t, tok, "AALS")

	startResp := e.do(t, startReq(tok, enrID))
	var a attemptBody
	startResp.decode(t, &a)
	bodies := [][]byte{startResp.Body}
	bank := e.bankOf(t, a)
	for _, it := range a.Items {
		e.clock.Advance(time.Minute)
		tok = e.token(t, u)
		r := e.do(t, answerReq(tok, a.ID, it.ID, keyLabels(it, bank[it.ID])))
		bodies = append(bodies, r.Body)
	}
	bodies = append(bodies, e.do(t, answerReq(tok, a.ID, a.Items[0].ID, []string{"Z"})).Body) // a 422
	bodies = append(bodies, e.do(t, req{method: "GET", path: "/v1/attempts/" + a.ID, token: tok}).Body)
	submitted, _ := e.submitAttempt(t, tok, a.ID)
	bodies = append(bodies, submitted.Body)
	bodies = append(bodies, e.do(t, req{method: "GET", path: "/v1/attempts/" + a.ID, token: tok}).Body)
	bodies = append(bodies, e.do(t, req{method: "GET", path: "/v1/enrollments/" + enrID + "/attempts", token: tok}).Body)

	for i, b := range bodies {
		if strings.Contains(string(b), rationaleMark) {
			t.Errorf("response %d holds a rationale: %s", i, truncate(b))
		}
		for _, it := range bank {
			if strings.Contains(string(b), it.Rationale) {
				t.Errorf("response %d holds the rationale of %s", i, it.ID)
			}
		}
		checkItemObjects(t, b)
	}
	// The bank keys every item with option "a": on the form the key's label must vary.
	keyPositions := map[string]bool{}
	for _, it := range a.Items {
		if it.Kind == models.ItemSingle {
			keyPositions[keyLabels(it, bank[it.ID])[0]] = true
		}
	}
	if len(keyPositions) < 2 {
		t.Errorf("the key of every single-answer item has the label %v: the form gives the key away", keyPositions)
	}
}

// checkItemObjects fails if an item on a form carries anything but what a learner may see.
func checkItemObjects(t *testing.T, body []byte) {
	t.Helper()
	var v struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if json.Unmarshal(body, &v) != nil {
		return
	}
	for _, it := range v.Items {
		if _, ok := it["kind"]; !ok { // an attempt summary in a list, not an item
			continue
		}
		for k := range it {
			if !slices.Contains([]string{"id", "kind", "stem", "vitals", "options"}, k) {
				t.Errorf("an item on the form has the field %q", k)
			}
		}
		var opts []map[string]json.RawMessage
		_ = json.Unmarshal(it["options"], &opts)
		for _, o := range opts {
			for k := range o {
				if k != "id" && k != "text" {
					t.Errorf("an option on the form has the field %q", k)
				}
			}
		}
	}
}

func TestAttemptErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	ana, anaTok := e.user(t, "ana@example.org")
	_, benTok := e.user(t, "ben@example.org")
	enrID := e.activeEnrollment(t, anaTok, "AALS")
	pending := e.enroll(t, benTok, "AALS", "initial")
	a := e.startAttempt(t, anaTok, enrID)
	bank := e.bankOf(t, a)
	var single, multiple formItemBody
	for _, it := range a.Items {
		switch it.Kind {
		case "single":
			single = it
		case "multiple":
			multiple = it
		}
	}
	var notOnForm string
	for n := 1; notOnForm == ""; n++ {
		id := fmt.Sprintf("AALS-FX-D1-%02d", n)
		if !slices.Contains(itemIDs(a), id) {
			notOnForm = id
		}
	}
	start := func(token, id string, body any) req {
		return req{method: "POST", path: "/v1/enrollments/" + id + "/attempts", token: token, body: body}
	}
	const unknown = "00000000-0000-4000-8000-000000000001"
	e.run(t, []scenario{
		{name: "StartWithoutAttestation", req: start(anaTok, enrID, map[string]any{}), wantStatus: 422, wantType: "validation"},
		{name: "StartAttestationFalse", req: start(anaTok, enrID, map[string]any{"attestation": false}), wantStatus: 422, wantType: "validation"},
		{name: "StartAnonymous", req: start("", enrID, map[string]any{"attestation": true}), wantStatus: 401, wantType: "unauthorized"},
		{name: "StartOthersEnrollment", req: startReq(benTok, enrID), wantStatus: 404, wantType: "not-found"},
		{name: "StartUnknownEnrollment", req: startReq(anaTok, unknown), wantStatus: 404, wantType: "not-found"},
		{name: "StartPendingEnrollment", req: startReq(benTok, pending.ID), wantStatus: 409, wantType: "enrollment-not-active"},
		{name: "StartWhileInProgress", req: startReq(anaTok, enrID), wantStatus: 409, wantType: "attempt-in-progress"},
		{name: "AnswerMultipleInAnyOrder", req: answerReq(anaTok, a.ID, multiple.ID, reversed(keyLabels(multiple, bank[multiple.ID]))), wantStatus: 204},
		{name: "AnswerItemNotOnForm", req: answerReq(anaTok, a.ID, notOnForm, []string{"A"}), wantStatus: 422, wantType: "validation"},
		{name: "AnswerUnknownItem", req: answerReq(anaTok, a.ID, "AALS-NOPE", []string{"A"}), wantStatus: 422, wantType: "validation"},
		{name: "AnswerUnknownOption", req: answerReq(anaTok, a.ID, single.ID, []string{"Z"}), wantStatus: 422, wantType: "validation"},
		{name: "AnswerBankOptionID", req: answerReq(anaTok, a.ID, single.ID, []string{"a"}), wantStatus: 422, wantType: "validation"},
		{name: "AnswerTwoOnSingle", req: answerReq(anaTok, a.ID, single.ID, []string{"A", "B"}), wantStatus: 422, wantType: "validation"},
		{name: "AnswerSameTwice", req: answerReq(anaTok, a.ID, multiple.ID, []string{"A", "A"}), wantStatus: 422, wantType: "validation"},
		{name: "AnswerWithoutChoices", req: req{method: "PUT", path: "/v1/attempts/" + a.ID + "/answers/" + single.ID, token: anaTok, body: map[string]any{}}, wantStatus: 422, wantType: "validation"},
		{name: "AnswerOthersAttempt", req: answerReq(benTok, a.ID, single.ID, []string{"A"}), wantStatus: 404, wantType: "not-found"},
		{name: "GetOthersAttempt", req: req{method: "GET", path: "/v1/attempts/" + a.ID, token: benTok}, wantStatus: 404, wantType: "not-found"},
		{name: "GetUnknownAttempt", req: req{method: "GET", path: "/v1/attempts/" + unknown, token: anaTok}, wantStatus: 404, wantType: "not-found"},
		{name: "SubmitOthersAttempt", req: req{method: "POST", path: "/v1/attempts/" + a.ID + "/submit", token: benTok}, wantStatus: 404, wantType: "not-found"},
		{name: "ListOthersAttempts", req: req{method: "GET", path: "/v1/enrollments/" + enrID + "/attempts", token: benTok}, wantStatus: 404, wantType: "not-found"},
	})
	if n := e.count(t, `SELECT count(*) FROM attempt_answers WHERE attempt_id = $1`, a.ID); n != 1 {
		t.Errorf("saved answers = %d, want only the valid one", n)
	}

	// Past the deadline nothing is saved; a submit grades what was saved by then.
	e.run(t, []scenario{{name: "AnswerBeforeDeadline", req: answerReq(anaTok, a.ID, single.ID, keyLabels(single, bank[single.ID])), wantStatus: 204}})
	e.clock.Advance(time.Hour)
	anaTok = e.token(t, ana)
	e.run(t, []scenario{{name: "AnswerAtDeadline", req: answerReq(anaTok, a.ID, single.ID, wrongLabels(single, bank[single.ID])), wantStatus: 409, wantType: "attempt-closed"}})
	if got := e.getAttempt(t, anaTok, a.ID); got.Status != "in_progress" || got.TimeLeftSeconds != 0 {
		t.Errorf("attempt past its deadline = %s with %d s left, want in_progress with 0", got.Status, got.TimeLeftSeconds)
	}
	_, res := e.submitAttempt(t, anaTok, a.ID)
	if res.Correct != 2 || res.Passed {
		t.Errorf("late submit = %+v, want the two answers saved in time, both right, and a fail", res)
	}
	if row := e.attemptRow(t, a.ID); row.SubmittedAt != nil {
		t.Errorf("submitted_at = %v, want null for an attempt that ran to its deadline", row.SubmittedAt)
	}
}

// TestConcurrentAttemptStartsLeaveOne races starts of one enrollment.
func TestConcurrentAttemptStartsLeaveOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	_, tok := e.user(t, "race@example.org")
	enrID := e.activeEnrollment(t, tok, "AALS")
	codes := make([]int, 8)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			r := e.do(t, startReq(tok, enrID))
			codes[i] = r.Code
			if r.Code == 409 && r.problemType() != "attempt-in-progress" {
				t.Errorf("loser's problem = %s, want attempt-in-progress", r.problemType())
			}
		})
	}
	wg.Wait()
	if won := countOf(codes, 201); won != 1 || countOf(codes, 409) != len(codes)-1 {
		t.Errorf("statuses = %v, want one 201 and the rest 409", codes)
	}
	if n := e.count(t, `SELECT count(*) FROM attempts WHERE enrollment_id = $1`, enrID); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
}

// TestConcurrentSubmitsGradeOnce races submits of one attempt.
func TestConcurrentSubmitsGradeOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	u, tok := e.user(t, "twice@example.org")
	enrID := e.activeEnrollment(t, tok, "AALS")
	a := e.startAttempt(t, tok, enrID)
	e.answerAll(t, u, a, 40*time.Second, func(i int) bool { return i < 10 })
	tok = e.token(t, u)
	bodies := make([]string, 8)
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Go(func() {
			r := e.do(t, req{method: "POST", path: "/v1/attempts/" + a.ID + "/submit", token: tok})
			if r.Code != 200 {
				t.Errorf("submit: %d %s", r.Code, r.Body)
			}
			bodies[i] = string(r.Body)
		})
	}
	wg.Wait()
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("results differ: %s vs %s", b, bodies[0])
		}
	}
	var res attemptResultBody
	if err := json.Unmarshal([]byte(bodies[0]), &res); err != nil || res.Correct != 20 || res.Passed {
		t.Errorf("result = %+v, %v; want 20 of 30, failed", res, err)
	}
	if n := e.count(t, `SELECT count(*) FROM attempts WHERE id = $1 AND status = 'graded'`, a.ID); n != 1 {
		t.Errorf("graded attempts = %d, want 1", n)
	}
	if status, _, _ := e.enrollmentState(t, enrID); status != "active" {
		t.Errorf("enrollment after a first failed attempt = %s, want active", status)
	}
}

// TestAttemptsUsedUpFailEnrollment fails every attempt allowed: each retake avoids the items
// seen before (the bank holds three per item drawn), and the last failure fails the enrollment.
func TestAttemptsUsedUpFailEnrollment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	_, tok := e.user(t, "retake@example.org")
	enrID := e.activeEnrollment(t, tok, "AALS")
	seen := map[string]int{}
	for n := 1; n <= 3; n++ {
		a := e.startAttempt(t, tok, enrID)
		if a.Number != n {
			t.Fatalf("attempt number = %d, want %d", a.Number, n)
		}
		for _, it := range a.Items {
			if prev, ok := seen[it.ID]; ok {
				t.Errorf("attempt %d repeats %s from attempt %d although the bank has unseen items", n, it.ID, prev)
			}
			seen[it.ID] = n
		}
		if status, _, _ := e.enrollmentState(t, enrID); status != "active" {
			t.Fatalf("enrollment before attempt %d is graded = %s, want active", n, status)
		}
		if _, res := e.submitAttempt(t, tok, a.ID); res.Passed {
			t.Fatalf("empty attempt passed")
		}
	}
	status, reason, _ := e.enrollmentState(t, enrID)
	if status != "failed" || reason == nil || *reason == "" {
		t.Errorf("enrollment = %s (%v), want failed with a reason", status, reason)
	}
	if n := e.count(t, `SELECT count(*) FROM enrollments WHERE id = $1 AND ended_at IS NOT NULL`, enrID); n != 1 {
		t.Errorf("failed enrollment has no ended_at")
	}
	e.run(t, []scenario{{name: "StartAfterFailing", req: startReq(tok, enrID), wantStatus: 409, wantType: "enrollment-not-active"}})

	// Fewer attempts allowed than used, and the enrollment still active: none left.
	_, benTok := e.user(t, "ben@example.org")
	benEnr := e.activeEnrollment(t, benTok, "AALS")
	e.submitAttempt(t, benTok, e.startAttempt(t, benTok, benEnr).ID)
	if _, err := e.db.Pool.Exec(t.Context(), `UPDATE courses SET exam = jsonb_set(exam, '{attempts}', '1') WHERE code = 'AALS'`); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{{name: "NoAttemptsLeft", req: startReq(benTok, benEnr), wantStatus: 409, wantType: "no-attempts-left"}})
}

// TestAttemptBankTooSmall asks for a longer form than the bank can fill: nothing starts.
func TestAttemptBankTooSmall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	if _, err := e.db.Pool.Exec(t.Context(), `UPDATE courses SET exam = jsonb_set(exam, '{questions}', '200') WHERE code = 'AALS'`); err != nil {
		t.Fatal(err)
	}
	_, tok := e.user(t, "early@example.org")
	enrID := e.activeEnrollment(t, tok, "AALS")
	e.run(t, []scenario{{name: "Start", req: startReq(tok, enrID), wantStatus: 503, wantType: "exam-unavailable"}})
	if n := e.count(t, `SELECT count(*) FROM attempts`); n != 0 {
		t.Errorf("attempts = %d, want none", n)
	}
}

// TestAccommodationStretchesDeadline gives a learner 1.5 times the time limit.
func TestAccommodationStretchesDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")
	u, tok := e.user(t, "time@example.org")
	if _, err := e.db.Pool.Exec(t.Context(), `INSERT INTO accommodations (user_id, multiplier, reason, granted_by) VALUES ($1, 1.5, 'documented', $2)`,
		u.ID, e.adminUser(t).ID); err != nil {
		t.Fatal(err)
	}
	a := e.startAttempt(t, tok, e.activeEnrollment(t, tok, "AALS"))
	if want := e.clock.Now().Add(90 * time.Minute); !a.Deadline.Equal(want) || a.TimeLimitMinutes != 90 || a.TimeLeftSeconds != 5400 {
		t.Errorf("deadline = %v, limit %v min, left %d s; want %v, 90, 5400", a.Deadline, a.TimeLimitMinutes, a.TimeLeftSeconds, want)
	}
	if row := e.attemptRow(t, a.ID); row.Multiplier != 1.5 {
		t.Errorf("recorded multiplier = %v, want 1.5", row.Multiplier)
	}
}

// TestAttemptFlags flags an attempt finished implausibly fast and one answered from two
// client addresses.
func TestAttemptFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.seedBank(t, "AALS")

	fastUser, fastTok := e.user(t, "fast@example.org")
	fast := e.startAttempt(t, fastTok, e.activeEnrollment(t, fastTok, "AALS"))
	e.answerAll(t, fastUser, fast, 5*time.Second, nil)
	if _, res := e.submitAttempt(t, fastTok, fast.ID); !res.Passed {
		t.Fatalf("all-right attempt failed: %+v", res)
	}
	if row := e.attemptRow(t, fast.ID); !row.Flagged || !slices.Equal(row.FlagReasons, []string{"too_fast"}) {
		t.Errorf("30 items in 150 s: flagged %v %v, want too_fast", row.Flagged, row.FlagReasons)
	}

	twoUser, twoTok := e.user(t, "two@example.org")
	two := e.startAttempt(t, twoTok, e.activeEnrollment(t, twoTok, "AALS"))
	e.answerAll(t, twoUser, two, time.Minute, nil)
	twoTok = e.token(t, twoUser)
	bank := e.bankOf(t, two)
	it := two.Items[3]
	if r := e.doFrom(t, "198.51.100.7:51000", answerReq(twoTok, two.ID, it.ID, keyLabels(it, bank[it.ID]))); r.Code != 204 {
		t.Fatalf("answer from a second address: %d %s", r.Code, r.Body)
	}
	e.submitAttempt(t, twoTok, two.ID)
	if row := e.attemptRow(t, two.ID); !row.Flagged || !slices.Equal(row.FlagReasons, []string{"many_addresses"}) {
		t.Errorf("answers from two addresses: flagged %v %v, want many_addresses", row.Flagged, row.FlagReasons)
	}
	if n := e.count(t, `SELECT count(*) FROM attempt_answers WHERE attempt_id = $1 AND client_ip = '198.51.100.7'`, two.ID); n != 1 {
		t.Errorf("answers recorded from the second address = %d, want 1", n)
	}
}

func optionIDs(it formItemBody) []string {
	out := make([]string, len(it.Options))
	for i, o := range it.Options {
		out[i] = o.ID
	}
	return out
}

func itemIDs(a attemptBody) []string {
	out := make([]string, len(a.Items))
	for i, it := range a.Items {
		out[i] = it.ID
	}
	return out
}

func countOf(codes []int, code int) int {
	n := 0
	for _, c := range codes {
		if c == code {
			n++
		}
	}
	return n
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
