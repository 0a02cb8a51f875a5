package api_test

import (
	"bytes"
	"encoding/json"
	"testing"
)

// seatPurchase buys quantity AALS initial seats for the org on a purchase order and returns
// the order ID.
func (e *env) seatPurchase(t testing.TB, token, orgID string, quantity int) string {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgID + "/seat-purchases", token: token,
		body: map[string]any{"course": "AALS", "offering": "initial", "quantity": quantity, "payment": "purchase_order"}})
	if r.Code != 201 {
		t.Fatalf("seat purchase: %d %s", r.Code, r.Body)
	}
	var p struct {
		ID       string
		Quantity int
		Order    orderBody
	}
	r.decode(t, &p)
	if p.Quantity != quantity || p.Order.ID != p.ID || p.Order.Status != "pending" || p.Order.Amount != quantity*aalsInitialPrice {
		t.Fatalf("seat purchase = %+v, want %d seats pending at %d each", p, quantity, aalsInitialPrice)
	}
	return p.ID
}

type seatPool struct {
	Course, Offering       string
	Total, Used, Available int
}

// seats returns the org's pools.
func (e *env) seats(t testing.TB, token, orgID string) []seatPool {
	t.Helper()
	var l struct{ Items []seatPool }
	r := e.do(t, req{method: "GET", path: "/v1/orgs/" + orgID + "/seats", token: token})
	if r.Code != 200 {
		t.Fatalf("seats: %d %s", r.Code, r.Body)
	}
	r.decode(t, &l)
	return l.Items
}

// acceptPO accepts the order on a purchase order as the platform admin.
func (e *env) acceptPO(t testing.TB, orderID string) orderBody {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/admin/orders/" + orderID + "/accept-po", token: e.adminToken(t),
		body: map[string]string{"po_number": "PO 4471"}})
	if r.Code != 200 {
		t.Fatalf("accept PO: %d %s", r.Code, r.Body)
	}
	var o orderBody
	r.decode(t, &o)
	return o
}

// TestSeatPurchaseOnPurchaseOrder follows seats bought on a purchase order: accepted on
// credit (the pool grows by N, an invoice is stored and emailed), then paid (the pool stays).
func TestSeatPurchaseOnPurchaseOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	buyer, buyerTok := e.user(t, "education@mercy.example")
	orgID := e.org(t, buyerTok, "Mercy Hospital")
	coAdmin, coAdminTok := e.user(t, "coadmin@mercy.example")
	e.addMember(t, orgID, coAdmin, "admin")
	_, strangerTok := e.user(t, "stranger@example.org")
	purchases := "/v1/orgs/" + orgID + "/seat-purchases"
	buy := func(body map[string]any) req {
		return req{method: "POST", path: purchases, token: buyerTok, body: body}
	}
	e.run(t, []scenario{
		{name: "CardWithoutStripe", req: buy(map[string]any{"course": "AALS", "offering": "initial", "quantity": 3}), wantStatus: 422, wantType: "card-payments-unavailable"},
		{name: "ZeroSeats", req: buy(map[string]any{"course": "AALS", "offering": "initial", "quantity": 0, "payment": "purchase_order"}), wantStatus: 422, wantType: "validation"},
		{name: "BadPayment", req: buy(map[string]any{"course": "AALS", "offering": "initial", "quantity": 1, "payment": "cash"}), wantStatus: 422, wantType: "validation"},
		{name: "UnknownCourse", req: buy(map[string]any{"course": "PALS", "offering": "initial", "quantity": 1, "payment": "purchase_order"}), wantStatus: 422, wantType: "validation"},
	})
	if pools := e.seats(t, buyerTok, orgID); len(pools) != 0 {
		t.Fatalf("pools before any purchase = %+v, want none", pools)
	}

	id := e.seatPurchase(t, buyerTok, orgID, 10)
	if pools := e.seats(t, buyerTok, orgID); len(pools) != 0 {
		t.Fatalf("pools before acceptance = %+v, want none", pools)
	}
	accepted := e.acceptPO(t, id)
	if accepted.Status != "on_credit" || accepted.InvoiceNumber == nil || accepted.InvoiceDueDate == nil || *accepted.InvoiceDueDate != "2026-12-21" {
		t.Fatalf("accepted = %+v, want on_credit with an invoice due 2026-12-21", accepted)
	}
	want := []seatPool{{Course: "AALS", Offering: "initial", Total: 10, Used: 0, Available: 10}}
	if pools := e.seats(t, coAdminTok, orgID); len(pools) != 1 || pools[0] != want[0] {
		t.Fatalf("pools after acceptance = %+v, want %+v", pools, want)
	}

	// The invoice: stored, downloadable by the buyer and platform admins only, and emailed.
	invoice := func(path, token string) *resp { return e.do(t, req{method: "GET", path: path, token: token}) }
	for name, r := range map[string]*resp{
		"Admin": invoice("/v1/admin/orders/"+id+"/invoice", e.adminToken(t)),
		"Buyer": invoice("/v1/orders/"+id+"/invoice", buyerTok),
	} {
		if r.Code != 200 || r.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF")) {
			t.Errorf("%s invoice = %d %s, want a PDF", name, r.Code, r.Header.Get("Content-Type"))
		}
	}
	e.run(t, []scenario{
		{name: "InvoiceOfOtherOrgAdmin", req: req{method: "GET", path: "/v1/orders/" + id + "/invoice", token: coAdminTok}, wantStatus: 404, wantType: "not-found"},
		{name: "InvoiceOfStranger", req: req{method: "GET", path: "/v1/orders/" + id + "/invoice", token: strangerTok}, wantStatus: 404, wantType: "not-found"},
		{name: "InvoiceAnonymous", req: req{method: "GET", path: "/v1/orders/" + id + "/invoice"}, wantStatus: 401, wantType: "unauthorized"},
		{name: "AdminInvoiceForNonAdmin", req: req{method: "GET", path: "/v1/admin/orders/" + id + "/invoice", token: buyerTok}, wantStatus: 403, wantType: "forbidden"},
		{name: "AcceptAgain", req: req{method: "POST", path: "/v1/admin/orders/" + id + "/accept-po", token: e.adminToken(t), body: map[string]string{"po_number": "PO 4471"}}, wantStatus: 409, wantType: "order-not-pending"},
		{name: "AcceptWithoutPO", req: req{method: "POST", path: "/v1/admin/orders/" + id + "/accept-po", token: e.adminToken(t), body: map[string]string{"po_number": " "}}, wantStatus: 422, wantType: "validation"},
	})
	sent := e.mailsWithSubject(t, buyer.Email, *accepted.InvoiceNumber)
	if len(sent) != 1 || len(sent[0].Attachments) != 1 {
		t.Fatalf("invoice emails = %d, want one with the PDF attached", len(sent))
	}
	if a := sent[0].Attachments[0]; a.ContentType != "application/pdf" || a.Filename != *accepted.InvoiceNumber+".pdf" || !bytes.HasPrefix(a.Data, []byte("%PDF")) {
		t.Errorf("attachment %s (%s, %d bytes), want the invoice PDF", a.Filename, a.ContentType, len(a.Data))
	}

	// Paying the invoice settles the order without growing the pool again, and sends a receipt.
	paid := e.markPaid(t, id)
	if paid.Status != "paid" || paid.PaymentMethod == nil || *paid.PaymentMethod != "purchase_order" {
		t.Fatalf("settled = %+v, want paid by purchase order", paid)
	}
	if pools := e.seats(t, buyerTok, orgID); len(pools) != 1 || pools[0].Total != 10 {
		t.Fatalf("pools after payment = %+v, want still 10 seats", pools)
	}
	if n := len(e.mailsWithSubject(t, buyer.Email, "receipt")); n != 1 {
		t.Errorf("receipts = %d, want 1", n)
	}

	var list struct{ Items []struct{ ID string } }
	e.do(t, req{method: "GET", path: purchases, token: coAdminTok}).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != id {
		t.Errorf("seat purchases = %+v, want the one", list.Items)
	}
	for action, n := range map[string]int{"seat_purchase.create": 1, "order.accept_po": 1, "order.mark_paid": 1} {
		if got := e.count(t, `SELECT count(*) FROM audit_log WHERE action = $1 AND object_id = $2 AND actor_id IS NOT NULL`, action, id); got != n {
			t.Errorf("audit rows %s = %d, want %d", action, got, n)
		}
	}
	var before, after json.RawMessage
	if err := e.db.Pool.QueryRow(t.Context(), `SELECT before, after FROM audit_log WHERE action = 'order.accept_po'`).Scan(&before, &after); err != nil {
		t.Fatal(err)
	}
	var b, a struct{ Status string }
	_ = json.Unmarshal(before, &b)
	_ = json.Unmarshal(after, &a)
	if b.Status != "pending" || a.Status != "on_credit" {
		t.Errorf("audit before/after status = %s/%s, want pending/on_credit", b.Status, a.Status)
	}
}

// TestSeatPurchaseByCard buys seats through Checkout on stripe-mock.
func TestSeatPurchaseByCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	e.seedCourses(t)
	_, tok := e.user(t, "education@mercy.example")
	orgID := e.org(t, tok, "Mercy Hospital")
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgID + "/seat-purchases", token: tok,
		body: map[string]any{"course": "AALS", "offering": "initial", "quantity": 4}})
	var p struct {
		Order struct {
			CheckoutURL string `json:"checkout_url"`
			Amount      int
		}
	}
	r.decode(t, &p)
	if r.Code != 201 || p.Order.CheckoutURL == "" || p.Order.Amount != 4*aalsInitialPrice {
		t.Fatalf("card seat purchase = %d %s, want 201 with a Checkout URL", r.Code, r.Body)
	}
}
