package api_test

import (
	"strings"
	"sync"
	"testing"
)

func TestEnrollment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ana, anaTok := e.user(t, "ana@example.org")
	_, benTok := e.user(t, "ben@example.org")
	enroll := func(token string, body any) req {
		return req{method: "POST", path: "/v1/enrollments", token: token, body: body}
	}

	got := e.enroll(t, anaTok, "AALS", "initial")
	if got.Status != "pending_payment" || got.Course != "AALS" || got.Order == nil {
		t.Fatalf("enrollment = %+v, want pending_payment in AALS with an order", got)
	}
	if o := got.Order; o.Status != "pending" || o.Amount != aalsInitialPrice || o.Currency != "usd" || o.CheckoutURL != "" {
		t.Errorf("order = %+v, want pending, %d usd, no checkout URL without Stripe", o, aalsInitialPrice)
	}
	if n := e.count(t, `SELECT count(*) FROM users WHERE id = $1 AND name_locked_at IS NOT NULL`, ana.ID); n != 1 {
		t.Errorf("name not locked after the first enrollment")
	}
	// A later price change leaves the order as it was.
	if _, err := e.db.Pool.Exec(t.Context(), `UPDATE offerings SET price_cents = 1 WHERE course_code = 'AALS'`); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT amount FROM orders WHERE id = $1`, got.Order.ID); n != aalsInitialPrice {
		t.Errorf("order amount after a price change = %d, want %d", n, aalsInitialPrice)
	}
	if _, err := e.db.Pool.Exec(t.Context(), `UPDATE offerings SET active = false WHERE course_code = 'ACLS' AND kind = 'renewal'`); err != nil {
		t.Fatal(err)
	}

	e.run(t, []scenario{
		{name: "SecondOpenInSameCourse", req: enroll(anaTok, map[string]string{"course": "AALS", "offering": "initial"}), wantStatus: 409, wantType: "enrollment-open"},
		{name: "RenewalWithoutCredential", req: enroll(benTok, map[string]string{"course": "AALS", "offering": "renewal"}), wantStatus: 403, wantType: "renewal-no-credential"},
		{name: "InactiveOffering", req: enroll(benTok, map[string]string{"course": "ACLS", "offering": "renewal"}), wantStatus: 422, wantType: "offering-unavailable"},
		{name: "UnknownCourse", req: enroll(benTok, map[string]string{"course": "BLS", "offering": "initial"}), wantStatus: 422, wantType: "validation"},
		{name: "UnknownOffering", req: enroll(benTok, map[string]string{"course": "AALS", "offering": "refresher"}), wantStatus: 422, wantType: "validation"},
		{name: "MissingFields", req: enroll(benTok, map[string]string{}), wantStatus: 422, wantType: "validation"},
		{name: "UnknownField", req: enroll(benTok, map[string]string{"course": "AALS", "offering": "initial", "price": "1"}), wantStatus: 400, wantType: "malformed-request"},
		{name: "Anonymous", req: enroll("", map[string]string{"course": "AALS", "offering": "initial"}), wantStatus: 401, wantType: "unauthorized"},
		{name: "OtherCourseIsFine", req: enroll(anaTok, map[string]string{"course": "acls", "offering": "initial"}), wantStatus: 201},
		{name: "List", req: req{method: "GET", path: "/v1/enrollments", token: anaTok}, wantStatus: 200},
		{name: "ListAnonymous", req: req{method: "GET", path: "/v1/enrollments"}, wantStatus: 401, wantType: "unauthorized"},
		{name: "Get", req: req{method: "GET", path: "/v1/enrollments/" + got.ID, token: anaTok}, wantStatus: 200},
		{name: "GetOthers", req: req{method: "GET", path: "/v1/enrollments/" + got.ID, token: benTok}, wantStatus: 404, wantType: "not-found"},
		{name: "GetUnknown", req: req{method: "GET", path: "/v1/enrollments/00000000-0000-4000-8000-000000000001", token: anaTok}, wantStatus: 404, wantType: "not-found"},
		{name: "GetMalformed", req: req{method: "GET", path: "/v1/enrollments/nope", token: anaTok, unspecified: true}, wantStatus: 404, wantType: "not-found"},
	})

	var list struct{ Items []enrollmentBody }
	e.do(t, req{method: "GET", path: "/v1/enrollments?limit=1", token: anaTok}).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Order == nil {
		t.Fatalf("first page = %+v, want one enrollment with its order", list.Items)
	}
	e.do(t, req{method: "GET", path: "/v1/enrollments", token: anaTok}).decode(t, &list)
	courses := map[string]bool{}
	for _, it := range list.Items {
		courses[it.Course] = it.Order != nil && it.Order.Amount > 0
	}
	if len(list.Items) != 2 || !courses["AALS"] || !courses["ACLS"] {
		t.Errorf("list = %+v, want AALS and ACLS, each with its order", list.Items)
	}
	var benList struct{ Items []enrollmentBody }
	e.do(t, req{method: "GET", path: "/v1/enrollments", token: benTok}).decode(t, &benList)
	if len(benList.Items) != 0 {
		t.Errorf("another user's list = %+v, want empty", benList.Items)
	}
}

func TestEnrollmentIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, tok := e.user(t, "idem@example.org")
	post := func(course string) req {
		return req{method: "POST", path: "/v1/enrollments", token: tok, body: map[string]string{"course": course, "offering": "initial"},
			headers: map[string]string{"Idempotency-Key": "enroll-1"}}
	}
	first, again := e.do(t, post("AALS")), e.do(t, post("AALS"))
	if first.Code != 201 || again.Code != 201 || string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay = %d %s, first = %d %s; want the same 201, replayed", again.Code, again.Body, first.Code, first.Body)
	}
	e.run(t, []scenario{{name: "SameKeyOtherBody", req: post("ACLS"), wantStatus: 422, wantType: "idempotency-key-reused"}})
	if n := e.count(t, `SELECT count(*) FROM enrollments`); n != 1 {
		t.Errorf("enrollments = %d, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM orders`); n != 1 {
		t.Errorf("orders = %d, want 1", n)
	}
}

// TestConcurrentEnrollmentsLeaveOne races two enrollments of one provider in one course.
func TestConcurrentEnrollmentsLeaveOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, tok := e.user(t, "race@example.org")
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(t, req{method: "POST", path: "/v1/enrollments", token: tok, body: map[string]string{"course": "AALS", "offering": "initial"}})
			codes[i] = r.Code
			if r.Code == 409 && r.problemType() != "enrollment-open" {
				t.Errorf("loser's problem = %s, want enrollment-open", r.problemType())
			}
		}()
	}
	wg.Wait()
	if !(codes[0] == 201 && codes[1] == 409 || codes[0] == 409 && codes[1] == 201) {
		t.Errorf("answers = %v, want one 201 and one 409", codes)
	}
	if n := e.count(t, `SELECT count(*) FROM enrollments`); n != 1 {
		t.Errorf("enrollments = %d, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM orders`); n != 1 {
		t.Errorf("orders = %d, want 1 (the loser's rolled back)", n)
	}
}

// TestEnrollmentWithCardPayments enrolls against stripe-mock: the answer carries a Checkout URL
// and the order records its session.
func TestEnrollmentWithCardPayments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	e.seedCourses(t)
	_, tok := e.user(t, "card@example.org")
	got := e.enroll(t, tok, "AALS", "initial")
	if got.Order == nil || !strings.HasPrefix(got.Order.CheckoutURL, "https://") {
		t.Fatalf("order = %+v, want a Checkout URL", got.Order)
	}
	if n := e.count(t, `SELECT count(*) FROM orders WHERE id = $1 AND stripe_checkout_session_id LIKE 'cs_%'`, got.Order.ID); n != 1 {
		t.Errorf("order has no Checkout Session recorded")
	}
	// The URL is given only when the session is made.
	var again enrollmentBody
	e.do(t, req{method: "GET", path: "/v1/enrollments/" + got.ID, token: tok}).decode(t, &again)
	if again.Order == nil || again.Order.CheckoutURL != "" {
		t.Errorf("GET order = %+v, want the order without checkout_url", again.Order)
	}
}
