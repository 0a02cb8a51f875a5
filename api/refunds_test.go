package api_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/models"
)

// refundReq is a refund of the order as the platform admin; a nil amount refunds what is left.
func (e *env) refundReq(t testing.TB, orderID string, amount *int) req {
	body := map[string]any{"reason": "requested by the buyer"}
	if amount != nil {
		body["amount"] = *amount
	}
	return req{method: "POST", path: "/v1/admin/orders/" + orderID + "/refund", token: e.adminToken(t), body: body}
}

func cents(n int) *int { return &n }

func (e *env) enrollmentStatus(t testing.TB, id string) string {
	t.Helper()
	var s string
	if err := e.db.Pool.QueryRow(t.Context(), `SELECT status FROM enrollments WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRefundEnrollmentOrder refunds part, then the rest, of an offline-paid enrollment.
func TestRefundEnrollmentOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, tok := e.user(t, "ana@example.org")
	en := e.enroll(t, tok, "AALS", "initial")
	id := en.Order.ID

	e.run(t, []scenario{
		{name: "UnpaidOrder", req: e.refundReq(t, id, nil), wantStatus: 409, wantType: "order-not-refundable"},
		{name: "NotPositive", req: e.refundReq(t, id, cents(0)), wantStatus: 422, wantType: "validation"},
	})
	e.markPaid(t, id)

	r := e.do(t, e.refundReq(t, id, cents(10000)))
	var partial struct {
		ID, Method string
		Amount     int
		Order      orderBody
	}
	r.decode(t, &partial)
	if r.Code != 201 || partial.Amount != 10000 || partial.Method != "offline" || partial.Order.Status != "paid" || partial.Order.AmountRefunded != 10000 {
		t.Fatalf("partial refund = %d %s, want 201 offline 10000 on a still-paid order", r.Code, r.Body)
	}
	if s := e.enrollmentStatus(t, en.ID); s != "active" {
		t.Errorf("enrollment after a partial refund = %s, want active", s)
	}
	e.run(t, []scenario{{name: "TooLarge", req: e.refundReq(t, id, cents(aalsInitialPrice-10000+1)), wantStatus: 422, wantType: "refund-too-large"}})

	r = e.do(t, e.refundReq(t, id, nil))
	var full struct {
		Amount int
		Order  orderBody
	}
	r.decode(t, &full)
	if r.Code != 201 || full.Amount != aalsInitialPrice-10000 || full.Order.Status != "refunded" || full.Order.AmountRefunded != aalsInitialPrice {
		t.Fatalf("full refund = %d %s, want the rest refunded", r.Code, r.Body)
	}
	if s := e.enrollmentStatus(t, en.ID); s != "cancelled" {
		t.Errorf("enrollment after a full refund = %s, want cancelled", s)
	}
	e.run(t, []scenario{{name: "NothingLeft", req: e.refundReq(t, id, nil), wantStatus: 422, wantType: "refund-too-large"}})

	var detail struct{ Refunds []struct{ Amount int } }
	e.do(t, req{method: "GET", path: "/v1/admin/orders/" + id, token: e.adminToken(t)}).decode(t, &detail)
	if len(detail.Refunds) != 2 || detail.Refunds[0].Amount+detail.Refunds[1].Amount != aalsInitialPrice {
		t.Errorf("refunds = %+v, want two adding up to the price", detail.Refunds)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'order.refund' AND object_id = $1 AND before IS NOT NULL AND after IS NOT NULL`, id); n != 2 {
		t.Errorf("refund audit rows = %d, want 2", n)
	}
}

// TestFullRefundLeavesCompletedEnrollment: a refund never undoes a completed enrollment
// (its credential is revoked, if ever, by a separate act).
func TestFullRefundLeavesCompletedEnrollment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, tok := e.user(t, "ana@example.org")
	en := e.enroll(t, tok, "AALS", "initial")
	e.markPaid(t, en.Order.ID)
	if _, err := e.db.Pool.Exec(t.Context(), `UPDATE enrollments SET status = 'completed', completed_at = now() WHERE id = $1`, en.ID); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{{name: "Full", req: e.refundReq(t, en.Order.ID, nil), wantStatus: 201}})
	if s := e.enrollmentStatus(t, en.ID); s != "completed" {
		t.Errorf("completed enrollment after a full refund = %s, want completed", s)
	}
}

// TestRefundSeats refunds only whole, unused seats of a paid seat purchase.
func TestRefundSeats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	_, tok := e.user(t, "education@mercy.example")
	orgID := e.org(t, tok, "Mercy")
	id := e.seatPurchase(t, tok, orgID, 10)
	e.acceptPO(t, id)
	e.run(t, []scenario{{name: "OnCredit", req: e.refundReq(t, id, nil), wantStatus: 409, wantType: "order-not-refundable"}})
	e.markPaid(t, id)
	if _, err := e.db.Pool.Exec(t.Context(), `UPDATE seat_pools SET used = 8 WHERE org_id = $1`, orgID); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{
		{name: "UsedSeats", req: e.refundReq(t, id, cents(3*aalsInitialPrice)), wantStatus: 409, wantType: "seats-in-use"},
		{name: "PartOfASeat", req: e.refundReq(t, id, cents(aalsInitialPrice+1)), wantStatus: 422, wantType: "validation"},
		{name: "EverythingWhileSeatsUsed", req: e.refundReq(t, id, nil), wantStatus: 409, wantType: "seats-in-use"},
	})
	r := e.do(t, e.refundReq(t, id, cents(2*aalsInitialPrice)))
	var got struct {
		Seats int
		Order orderBody
	}
	r.decode(t, &got)
	if r.Code != 201 || got.Seats != 2 || got.Order.Status != "paid" {
		t.Fatalf("refund of 2 seats = %d %s", r.Code, r.Body)
	}
	if pools := e.seats(t, tok, orgID); len(pools) != 1 || pools[0].Total != 8 || pools[0].Available != 0 {
		t.Errorf("pools = %+v, want 8 seats, all used", pools)
	}
	if n := e.count(t, `SELECT count(*) FROM refunds WHERE order_id = $1`, id); n != 1 {
		t.Errorf("refund rows = %d, want 1 (refused refunds leave none)", n)
	}
}

// TestRefundCardOrderThroughStripe refunds a card-paid enrollment on stripe-mock: the refund
// row carries Stripe's refund ID and the enrollment is cancelled.
func TestRefundCardOrderThroughStripe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	e.seedCourses(t)
	_, tok := e.user(t, "card@example.org")
	en := e.enroll(t, tok, "AALS", "initial")
	_, err := models.MarkOrderPaid(t.Context(), e.db.Gorm, uuid.MustParse(en.Order.ID),
		models.Payment{Method: models.PayCard, StripePaymentIntentID: "pi_card_refund", At: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(t, e.refundReq(t, en.Order.ID, nil))
	var got struct {
		Method         string
		StripeRefundID *string `json:"stripe_refund_id"`
		Order          orderBody
	}
	r.decode(t, &got)
	if r.Code != 201 || got.Method != "card" || got.StripeRefundID == nil || !strings.HasPrefix(*got.StripeRefundID, "re_") || got.Order.Status != "refunded" {
		t.Fatalf("card refund = %d %s, want 201 through Stripe", r.Code, r.Body)
	}
	if s := e.enrollmentStatus(t, en.ID); s != "cancelled" {
		t.Errorf("enrollment after a full card refund = %s, want cancelled", s)
	}
}
