package api_test

import (
	"testing"
)

// TestMarkPaidActivatesAndSendsOneReceipt records an offline payment twice: the enrollment
// becomes active, the buyer gets one receipt, the second call is 409 and sends nothing.
func TestMarkPaidActivatesAndSendsOneReceipt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ana, anaTok := e.user(t, "ana@example.org")
	en := e.enroll(t, anaTok, "AALS", "initial")
	admin := e.adminToken(t)
	markPaid := func(body any) req {
		return req{method: "POST", path: "/v1/admin/orders/" + en.Order.ID + "/mark-paid", token: admin, body: body}
	}
	e.run(t, []scenario{
		{name: "NoReference", req: markPaid(map[string]string{}), wantStatus: 422, wantType: "validation"},
		{name: "UnknownOrder", req: req{method: "POST", path: "/v1/admin/orders/00000000-0000-4000-8000-000000000001/mark-paid", token: admin,
			body: map[string]string{"reference": "check 1"}}, wantStatus: 404, wantType: "not-found"},
	})
	paid := e.markPaid(t, en.Order.ID)
	if paid.Status != "paid" || paid.PaymentMethod == nil || *paid.PaymentMethod != "offline" {
		t.Fatalf("paid = %+v, want paid offline", paid)
	}
	var got enrollmentBody
	e.do(t, req{method: "GET", path: "/v1/enrollments/" + en.ID, token: anaTok}).decode(t, &got)
	if got.Status != "active" || got.Order.Status != "paid" {
		t.Errorf("enrollment = %s, order %s; want active and paid", got.Status, got.Order.Status)
	}
	e.run(t, []scenario{{name: "SecondTime", req: markPaid(map[string]string{"reference": "check 1042"}), wantStatus: 409, wantType: "order-already-paid"}})
	receipts := e.mailsWithSubject(t, ana.Email, "receipt")
	if len(receipts) != 1 {
		t.Fatalf("receipts = %d, want exactly 1", len(receipts))
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'order.mark_paid' AND object_id = $1`, en.Order.ID); n != 1 {
		t.Errorf("audit rows = %d, want 1 (the failed second call writes none)", n)
	}
	var mine struct{ Items []orderBody }
	e.do(t, req{method: "GET", path: "/v1/orders", token: anaTok}).decode(t, &mine)
	if len(mine.Items) != 1 || mine.Items[0].ID != en.Order.ID || mine.Items[0].Status != "paid" {
		t.Errorf("my orders = %+v, want the paid one", mine.Items)
	}
}

func TestAdminListOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ana, anaTok := e.user(t, "ana@example.org")
	_, benTok := e.user(t, "ben@example.org")
	orgID := e.org(t, benTok, "Mercy")
	aals := e.enroll(t, anaTok, "AALS", "initial")
	e.enroll(t, anaTok, "ACLS", "initial")
	seats := e.seatPurchase(t, benTok, orgID, 2)
	e.markPaid(t, aals.Order.ID)
	admin := e.adminToken(t)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 3},
		{"?status=paid", 1},
		{"?status=pending", 2},
		{"?kind=seats", 1},
		{"?course=acls", 1},
		{"?buyer=" + ana.ID.String(), 2},
		{"?org=" + orgID, 1},
		{"?kind=enrollment&status=pending", 1},
	} {
		var l struct{ Items []orderBody }
		r := e.do(t, req{method: "GET", path: "/v1/admin/orders" + tc.query, token: admin})
		r.decode(t, &l)
		if r.Code != 200 || len(l.Items) != tc.want {
			t.Errorf("GET /v1/admin/orders%s = %d with %d orders, want %d", tc.query, r.Code, len(l.Items), tc.want)
		}
	}
	var page struct {
		Items      []orderBody
		NextCursor string `json:"next_cursor"`
	}
	e.do(t, req{method: "GET", path: "/v1/admin/orders?limit=2", token: admin}).decode(t, &page)
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page = %d items, cursor %q; want 2 and a cursor", len(page.Items), page.NextCursor)
	}
	next := page.NextCursor
	page.Items, page.NextCursor = nil, ""
	e.do(t, req{method: "GET", path: "/v1/admin/orders?limit=2&cursor=" + next, token: admin}).decode(t, &page)
	if len(page.Items) != 1 || page.NextCursor != "" {
		t.Errorf("second page = %d items, cursor %q; want the last one", len(page.Items), page.NextCursor)
	}
	e.run(t, []scenario{
		{name: "BadStatus", req: req{method: "GET", path: "/v1/admin/orders?status=lost", token: admin}, wantStatus: 422, wantType: "validation"},
		{name: "BadBuyer", req: req{method: "GET", path: "/v1/admin/orders?buyer=ana", token: admin}, wantStatus: 422, wantType: "validation"},
		{name: "GetOne", req: req{method: "GET", path: "/v1/admin/orders/" + seats, token: admin}, wantStatus: 200},
		{name: "GetUnknown", req: req{method: "GET", path: "/v1/admin/orders/00000000-0000-4000-8000-000000000001", token: admin}, wantStatus: 404, wantType: "not-found"},
		{name: "NoInvoiceYet", req: req{method: "GET", path: "/v1/admin/orders/" + seats + "/invoice", token: admin}, wantStatus: 404, wantType: "not-found"},
		{name: "BuyerSeesOwnOrder", req: req{method: "GET", path: "/v1/orders/" + aals.Order.ID, token: anaTok}, wantStatus: 200},
		{name: "OthersOrderHidden", req: req{method: "GET", path: "/v1/orders/" + aals.Order.ID, token: benTok}, wantStatus: 404, wantType: "not-found"},
	})
}

// TestAdminOrderRoutesNeedPlatformAdmin calls every admin order route as a provider (403)
// and anonymously (401).
func TestAdminOrderRoutesNeedPlatformAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, tok := e.user(t, "ana@example.org")
	id := e.enroll(t, tok, "AALS", "initial").Order.ID
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/admin/orders", nil},
		{"GET", "/v1/admin/orders/" + id, nil},
		{"GET", "/v1/admin/orders/" + id + "/invoice", nil},
		{"POST", "/v1/admin/orders/" + id + "/mark-paid", map[string]string{"reference": "x"}},
		{"POST", "/v1/admin/orders/" + id + "/accept-po", map[string]string{"po_number": "x"}},
		{"POST", "/v1/admin/orders/" + id + "/refund", map[string]any{}},
	}
	var scenarios []scenario
	for _, r := range routes {
		scenarios = append(scenarios,
			scenario{name: "Provider " + r.method + " " + r.path, req: req{method: r.method, path: r.path, token: tok, body: r.body}, wantStatus: 403, wantType: "forbidden"},
			scenario{name: "Anonymous " + r.method + " " + r.path, req: req{method: r.method, path: r.path, body: r.body}, wantStatus: 401, wantType: "unauthorized"})
	}
	e.run(t, scenarios)
	if n := e.count(t, `SELECT count(*) FROM orders WHERE status = 'pending'`); n != 1 {
		t.Errorf("pending orders = %d, want the one untouched", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action LIKE 'order.%'`); n != 0 {
		t.Errorf("audit rows = %d, want none", n)
	}
}
