package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aalscert/aalscert/exam"
	"github.com/aalscert/aalscert/models"
)

// rationaleMark starts every rationale of the fixture bank, so a test can tell if one leaks.
const rationaleMark = "RATIONALE-7Q4X"

// seedBank stores a bank for the course with three items for every item its blueprint draws
// from each domain (AALS: 90 items for a form of 30), so a retake can avoid every item seen
// once. In the bank every key includes option "a", which option IDs on a form must not
// reveal; every third item is multiple-response (key a and c) and every fourth shows vitals.
func (e *env) seedBank(t testing.TB, course string) {
	t.Helper()
	c, err := models.FindCourse(context.Background(), e.db.Gorm, course)
	if err != nil {
		t.Fatal(err)
	}
	alloc, err := exam.Allocate(exam.Blueprint(c.Exam.Blueprint), c.Exam.Questions)
	if err != nil {
		t.Fatal(err)
	}
	var items []models.Item
	for d, domain := range slices.Sorted(maps.Keys(alloc)) {
		for n := range 3 * alloc[domain] {
			items = append(items, bankItemFixture(course, domain, fmt.Sprintf("%s-FX-D%d-%02d", course, d+1, n+1), n))
		}
	}
	if err := models.UpsertItems(context.Background(), e.db.Gorm, items); err != nil {
		t.Fatalf("seed bank: %v", err)
	}
}

func bankItemFixture(course, domain, id string, n int) models.Item {
	it := models.Item{ID: id, CourseCode: course, Domain: domain, Kind: models.ItemSingle,
		Stem: "Stem of " + id, Correct: []string{"a"}, Rationale: rationaleMark + " why " + id + " is keyed as it is"}
	for _, o := range []string{"a", "b", "c", "d"} {
		it.Options = append(it.Options, models.ItemOption{ID: o, Text: fmt.Sprintf("%s choice %s", id, o)})
	}
	if n%3 == 2 {
		it.Kind, it.Correct = models.ItemMultiple, []string{"a", "c"}
	}
	if n%4 == 3 {
		hr, etco2 := 38, 12
		it.Vitals = &models.Vitals{HR: &hr, BP: "62/30", ETCO2: &etco2, Rhythm: "sinus bradycardia", Text: "HR 38, BP 62/30, ETCO2 12"}
	}
	return it
}

// activeEnrollment enrolls the user in the course's initial offering and pays for it, and
// returns the enrollment's ID.
func (e *env) activeEnrollment(t testing.TB, token, course string) string {
	t.Helper()
	enr := e.enroll(t, token, course, "initial")
	e.markPaid(t, enr.Order.ID)
	return enr.ID
}

// attemptBody is an attempt as the API answers it.
type attemptBody struct {
	ID               string             `json:"id"`
	EnrollmentID     string             `json:"enrollment_id"`
	Number           int                `json:"number"`
	Status           string             `json:"status"`
	StartedAt        time.Time          `json:"started_at"`
	Deadline         time.Time          `json:"deadline"`
	TimeLimitMinutes float64            `json:"time_limit_minutes"`
	TimeLeftSeconds  int                `json:"time_left_seconds"`
	SubmittedAt      *time.Time         `json:"submitted_at"`
	Items            []formItemBody     `json:"items"`
	Answers          []savedAnswerBody  `json:"answers"`
	Result           *attemptResultBody `json:"result"`
}

type formItemBody struct {
	ID      string         `json:"id"`
	Kind    string         `json:"kind"`
	Stem    string         `json:"stem"`
	Vitals  map[string]any `json:"vitals"`
	Options []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"options"`
}

type savedAnswerBody struct {
	ItemID  string   `json:"item_id"`
	Choices []string `json:"choices"`
}

// attemptResultBody is a graded attempt's result.
type attemptResultBody struct {
	Score    float64 `json:"score"`
	Passed   bool    `json:"passed"`
	PassMark int     `json:"pass_mark"`
	Correct  int     `json:"correct"`
	Total    int     `json:"total"`
	Domains  []struct {
		Domain  string `json:"domain"`
		Correct int    `json:"correct"`
		Total   int    `json:"total"`
	} `json:"domains"`
}

func startReq(token, enrollmentID string) req {
	return req{method: "POST", path: "/v1/enrollments/" + enrollmentID + "/attempts", token: token,
		body: map[string]any{"attestation": true}, headers: map[string]string{"User-Agent": "aals-test/1.0"}}
}

func answerReq(token, attemptID, itemID string, choices []string) req {
	return req{method: "PUT", path: "/v1/attempts/" + attemptID + "/answers/" + itemID, token: token,
		body: map[string]any{"choices": choices}}
}

// startAttempt starts an attempt of the enrollment and returns it.
func (e *env) startAttempt(t testing.TB, token, enrollmentID string) attemptBody {
	t.Helper()
	r := e.do(t, startReq(token, enrollmentID))
	if r.Code != 201 {
		t.Fatalf("start attempt: %d %s", r.Code, truncate(r.Body))
	}
	var a attemptBody
	r.decode(t, &a)
	return a
}

// getAttempt returns the attempt as its owner resumes it.
func (e *env) getAttempt(t testing.TB, token, id string) attemptBody {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/attempts/" + id, token: token})
	if r.Code != 200 {
		t.Fatalf("get attempt: %d %s", r.Code, truncate(r.Body))
	}
	var a attemptBody
	r.decode(t, &a)
	return a
}

// submit submits the attempt and returns the raw answer and the result.
func (e *env) submitAttempt(t testing.TB, token, id string) (*resp, attemptResultBody) {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/attempts/" + id + "/submit", token: token})
	if r.Code != 200 {
		t.Fatalf("submit: %d %s", r.Code, truncate(r.Body))
	}
	var res attemptResultBody
	r.decode(t, &res)
	return r, res
}

// bankOf returns the bank items behind a form, keys included, by ID.
func (e *env) bankOf(t testing.TB, a attemptBody) map[string]models.Item {
	t.Helper()
	ids := make([]string, len(a.Items))
	for i, it := range a.Items {
		ids[i] = it.ID
	}
	bank, err := models.FindItems(context.Background(), e.db.Gorm, ids)
	if err != nil || len(bank) != len(ids) {
		t.Fatalf("bank of the form: %d items, %v; want %d", len(bank), err, len(ids))
	}
	return bank
}

// keyLabels returns the labels, on the form, of the item's key (matched by option text).
func keyLabels(it formItemBody, bankItem models.Item) []string {
	var out []string
	for _, o := range it.Options {
		for _, bo := range bankItem.Options {
			if bo.Text == o.Text && slices.Contains(bankItem.Correct, bo.ID) {
				out = append(out, o.ID)
			}
		}
	}
	return out
}

// wrongLabels returns a label on the form that is not part of the item's key.
func wrongLabels(it formItemBody, bankItem models.Item) []string {
	key := keyLabels(it, bankItem)
	for _, o := range it.Options {
		if !slices.Contains(key, o.ID) {
			return []string{o.ID}
		}
	}
	return nil
}

// answerAll answers every item of the form as u, right unless wrong says otherwise,
// advancing the clock by step before each answer (with a fresh access token each time, as
// a client refreshes it); it returns the answers sent by item ID.
func (e *env) answerAll(t testing.TB, u *models.User, a attemptBody, step time.Duration, wrong func(i int) bool) map[string][]string {
	t.Helper()
	bank := e.bankOf(t, a)
	sent := map[string][]string{}
	for i, it := range a.Items {
		choices := keyLabels(it, bank[it.ID])
		if wrong != nil && wrong(i) {
			choices = wrongLabels(it, bank[it.ID])
		}
		e.clock.Advance(step)
		if r := e.do(t, answerReq(e.token(t, u), a.ID, it.ID, choices)); r.Code != 204 {
			t.Fatalf("answer %s: %d %s", it.ID, r.Code, truncate(r.Body))
		}
		sent[it.ID] = choices
	}
	return sent
}

// doFrom sends q from the client address addr (host:port) instead of the harness's, and
// checks the response against openapi.yaml as e.do does.
func (e *env) doFrom(t testing.TB, addr string, q req) *resp {
	t.Helper()
	raw, err := json.Marshal(q.body)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(q.method, q.path, bytes.NewReader(raw))
	r.RemoteAddr = addr
	r.Header.Set("Content-Type", "application/json")
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	out := &resp{Code: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
	validate(t, q, raw, out)
	return out
}

// attemptRow reads what the database holds about an attempt that no response shows.
type attemptRow struct {
	ClientIP, UserAgent string
	AttestedAt          time.Time
	SubmittedAt         *time.Time
	Multiplier          float64
	Flagged             bool
	FlagReasons         []string
}

func (e *env) attemptRow(t testing.TB, id string) attemptRow {
	t.Helper()
	var r attemptRow
	err := e.db.Pool.QueryRow(context.Background(), `SELECT client_ip, user_agent, attested_at, submitted_at,
		time_multiplier::float8, flagged, flag_reasons FROM attempts WHERE id = $1`, id).
		Scan(&r.ClientIP, &r.UserAgent, &r.AttestedAt, &r.SubmittedAt, &r.Multiplier, &r.Flagged, &r.FlagReasons)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// enrollmentState reads an enrollment's status, end and exam pass time.
func (e *env) enrollmentState(t testing.TB, id string) (status string, endReason *string, examPassedAt *time.Time) {
	t.Helper()
	err := e.db.Pool.QueryRow(context.Background(), `SELECT status, end_reason, exam_passed_at FROM enrollments WHERE id = $1`, id).
		Scan(&status, &endReason, &examPassedAt)
	if err != nil {
		t.Fatal(err)
	}
	return status, endReason, examPassedAt
}
