package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/models"
)

func TestStripeWebhookSameEventTenTimes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	u, _, o := e.pendingEnrollment(t, "pat@example.org")
	body := e.stripeEvent(t, "evt_paid_1", "checkout.session.completed", checkoutSession(o, "cs_1", "paid", "pi_1"))
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range 5 { // five at once, as Stripe's retries and our replicas may collide
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.postStripe(t, body, stripeSignature(body, stripeWebhookSecret, time.Now())).Code
		}()
	}
	wg.Wait()
	for i := 5; i < 10; i++ { // and five more, late
		codes[i] = e.postStripe(t, body, stripeSignature(body, stripeWebhookSecret, time.Now())).Code
	}
	for i, c := range codes {
		if c != 200 {
			t.Errorf("delivery %d answered %d, want 200", i, c)
		}
	}
	got, status := e.orderState(t, o.ID)
	if got.Status != models.OrderPaid || got.PaymentMethod == nil || *got.PaymentMethod != models.PayCard || *got.StripePaymentIntentID != "pi_1" {
		t.Errorf("order = %s by %v, want paid by card with pi_1", got.Status, got.PaymentMethod)
	}
	if status != models.EnrollmentActive {
		t.Errorf("enrollment = %s, want active", status)
	}
	if n := e.count(t, `SELECT count(*) FROM enrollments WHERE user_id = $1 AND status = 'active'`, u.ID); n != 1 {
		t.Errorf("%d active enrollments, want 1", n)
	}
	if n := e.receipts(t, u.Email); n != 1 {
		t.Errorf("%d receipts, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_email'`); n != 1 {
		t.Errorf("%d email jobs, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM stripe_events WHERE id = 'evt_paid_1' AND order_id = $1`, o.ID); n != 1 {
		t.Errorf("event recorded %d times with its order, want 1", n)
	}
}

// A refund reported before the payment (Stripe does not order its events): the payment is
// recorded, nothing is released, and no receipt is sent for money already returned.
func TestStripeRefundBeforePayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	u, _, o := e.pendingEnrollment(t, "early@example.org")
	e.deliver(t, e.stripeEvent(t, "evt_refund", "charge.refunded", refundedCharge("pi_early", cardPrice, cardPrice)))
	if got, status := e.orderState(t, o.ID); got.Status != models.OrderPending || status != models.EnrollmentPendingPayment {
		t.Fatalf("after the early refund: order %s, enrollment %s; want both still pending", got.Status, status)
	}
	if n := e.count(t, `SELECT count(*) FROM stripe_events WHERE id = 'evt_refund' AND order_id IS NULL`); n != 1 {
		t.Errorf("early refund recorded %d times without an order, want 1", n)
	}
	e.deliver(t, e.stripeEvent(t, "evt_paid", "checkout.session.completed", checkoutSession(o, "cs_1", "paid", "pi_early")))
	got, status := e.orderState(t, o.ID)
	if got.Status != models.OrderRefunded || got.AmountRefunded != cardPrice || got.Released() {
		t.Errorf("order = %s, refunded %d, released %v; want refunded in full, never released", got.Status, got.AmountRefunded, got.Released())
	}
	if status != models.EnrollmentCancelled {
		t.Errorf("enrollment = %s, want cancelled", status)
	}
	if n := e.receipts(t, u.Email); n != 0 {
		t.Errorf("%d receipts, want none", n)
	}
}

// Payment and refund of the same payment intent arriving at the same moment end the same
// way whichever commits first: refunded, enrollment cancelled.
func TestStripePaymentAndRefundConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	var orders []*models.Order
	for i := range 4 {
		_, _, o := e.pendingEnrollment(t, fmt.Sprintf("race%d@example.org", i))
		orders = append(orders, o)
	}
	var wg sync.WaitGroup
	for i, o := range orders {
		pi := fmt.Sprintf("pi_race_%d", i)
		for _, body := range [][]byte{
			e.stripeEvent(t, "evt_pay_"+pi, "checkout.session.completed", checkoutSession(o, "cs_"+pi, "paid", pi)),
			e.stripeEvent(t, "evt_ref_"+pi, "charge.refunded", refundedCharge(pi, cardPrice, cardPrice)),
		} {
			wg.Add(1)
			go func() { defer wg.Done(); e.deliver(t, body) }()
		}
	}
	wg.Wait()
	for _, o := range orders {
		if got, status := e.orderState(t, o.ID); got.Status != models.OrderRefunded || status != models.EnrollmentCancelled {
			t.Errorf("order %s: %s with enrollment %s; want refunded and cancelled", o.ID, got.Status, status)
		}
	}
}

func TestStripePartialThenFullRefund(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	u, _, o := e.pendingEnrollment(t, "part@example.org")
	e.deliver(t, e.stripeEvent(t, "evt_paid", "checkout.session.completed", checkoutSession(o, "cs_1", "paid", "pi_p")))

	e.deliver(t, e.stripeEvent(t, "evt_r1", "charge.refunded", refundedCharge("pi_p", cardPrice, 10000)))
	got, status := e.orderState(t, o.ID)
	if got.Status != models.OrderPaid || got.AmountRefunded != 10000 || status != models.EnrollmentActive {
		t.Fatalf("after a partial refund: order %s refunded %d, enrollment %s; want paid, 10000, active", got.Status, got.AmountRefunded, status)
	}
	// Reports are cumulative: an older, smaller one arriving late changes nothing.
	e.deliver(t, e.stripeEvent(t, "evt_r0", "charge.refunded", refundedCharge("pi_p", cardPrice, 5000)))
	if got, _ := e.orderState(t, o.ID); got.AmountRefunded != 10000 {
		t.Fatalf("an older report changed the refunded total to %d", got.AmountRefunded)
	}
	e.deliver(t, e.stripeEvent(t, "evt_r2", "charge.refunded", refundedCharge("pi_p", cardPrice, cardPrice)))
	got, status = e.orderState(t, o.ID)
	if got.Status != models.OrderRefunded || got.AmountRefunded != cardPrice || status != models.EnrollmentCancelled {
		t.Fatalf("after the full refund: order %s refunded %d, enrollment %s; want refunded, %d, cancelled", got.Status, got.AmountRefunded, status, cardPrice)
	}
	if n := e.receipts(t, u.Email); n != 1 {
		t.Errorf("%d receipts, want the one of the payment", n)
	}
}

func TestStripeWebhookRefusesBadEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	_, _, o := e.pendingEnrollment(t, "sig@example.org")
	body := e.stripeEvent(t, "evt_forged", "checkout.session.completed", checkoutSession(o, "cs_1", "paid", "pi_1"))
	forged := strings.Replace(string(body), "pi_1", "pi_9", 1)
	other := strings.Replace(string(body), `"api_version":"2023-10-16"`, `"api_version":"2024-06-20"`, 1)
	now := time.Now()
	sign := func(b string, secret string, at time.Time) map[string]string {
		return map[string]string{"Stripe-Signature": stripeSignature([]byte(b), secret, at)}
	}
	hook := func(b string, h map[string]string) req {
		return req{method: "POST", path: "/v1/billing/stripe/webhook", body: b, headers: h}
	}
	e.run(t, []scenario{
		{name: "NoSignature", req: hook(string(body), nil), wantStatus: 400, wantType: "invalid-signature"},
		{name: "GarbledSignature", req: hook(string(body), map[string]string{"Stripe-Signature": "t=abc"}), wantStatus: 400, wantType: "invalid-signature"},
		{name: "WrongSecret", req: hook(string(body), sign(string(body), "whsec_someone_else", now)), wantStatus: 400, wantType: "invalid-signature"},
		{name: "AlteredBody", req: hook(forged, sign(string(body), stripeWebhookSecret, now)), wantStatus: 400, wantType: "invalid-signature"},
		{name: "Stale", req: hook(string(body), sign(string(body), stripeWebhookSecret, now.Add(-6*time.Minute))), wantStatus: 400, wantType: "invalid-signature"},
		{name: "OtherAPIVersion", req: hook(other, sign(other, stripeWebhookSecret, now)), wantStatus: 400, wantType: "stripe-api-version-mismatch"},
		{name: "SignedButNotAnEvent", req: hook(`{"hello":1}`, sign(`{"hello":1}`, stripeWebhookSecret, now)), wantStatus: 400, wantType: "malformed-event"},
	})
	if n := e.count(t, `SELECT count(*) FROM stripe_events`); n != 0 {
		t.Errorf("%d events recorded, want none", n)
	}
	if got, status := e.orderState(t, o.ID); got.Status != models.OrderPending || status != models.EnrollmentPendingPayment {
		t.Errorf("order %s, enrollment %s; want both pending", got.Status, status)
	}
}

func TestStripeCheckoutExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	u, _, o := e.pendingEnrollment(t, "late@example.org")
	e.deliver(t, e.stripeEvent(t, "evt_exp", "checkout.session.expired", checkoutSession(o, "cs_1", "unpaid", "")))
	got, status := e.orderState(t, o.ID)
	if got.Status != models.OrderExpired || status != models.EnrollmentCancelled {
		t.Fatalf("order %s, enrollment %s; want expired and cancelled", got.Status, status)
	}
	// The provider can enroll again.
	again := &models.Order{Kind: models.OrderEnrollment, BuyerID: u.ID, CourseCode: "AALS", Offering: "initial",
		Quantity: 1, UnitAmount: cardPrice, Amount: cardPrice, Currency: "usd"}
	if err := models.CreateEnrollment(context.Background(), e.db.Gorm, &models.Enrollment{UserID: u.ID, CourseCode: "AALS", Offering: "initial"}, again); err != nil {
		t.Fatalf("enroll again after the checkout expired: %v", err)
	}
}

func TestStripeAsyncPayments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	t.Run("Succeeded", func(t *testing.T) {
		u, _, o := e.pendingEnrollment(t, "ach-ok@example.org")
		e.deliver(t, e.stripeEvent(t, "evt_ok_1", "checkout.session.completed", checkoutSession(o, "cs_ok", "unpaid", "pi_ok")))
		if got, status := e.orderState(t, o.ID); got.Status != models.OrderPending || status != models.EnrollmentPendingPayment {
			t.Fatalf("while the payment clears: order %s, enrollment %s; want pending", got.Status, status)
		}
		e.deliver(t, e.stripeEvent(t, "evt_ok_2", "checkout.session.async_payment_succeeded", checkoutSession(o, "cs_ok", "paid", "pi_ok")))
		if got, status := e.orderState(t, o.ID); got.Status != models.OrderPaid || status != models.EnrollmentActive {
			t.Fatalf("after it cleared: order %s, enrollment %s; want paid and active", got.Status, status)
		}
		if n := e.receipts(t, u.Email); n != 1 {
			t.Errorf("%d receipts, want 1", n)
		}
	})
	t.Run("Failed", func(t *testing.T) {
		u, _, o := e.pendingEnrollment(t, "ach-ko@example.org")
		e.deliver(t, e.stripeEvent(t, "evt_ko_1", "checkout.session.completed", checkoutSession(o, "cs_ko", "unpaid", "pi_ko")))
		e.deliver(t, e.stripeEvent(t, "evt_ko_2", "checkout.session.async_payment_failed", checkoutSession(o, "cs_ko", "unpaid", "pi_ko")))
		if got, status := e.orderState(t, o.ID); got.Status != models.OrderFailed || status != models.EnrollmentCancelled {
			t.Fatalf("order %s, enrollment %s; want failed and cancelled", got.Status, status)
		}
		if n := e.receipts(t, u.Email); n != 0 {
			t.Errorf("%d receipts, want none", n)
		}
	})
}

func TestStripeSeatPurchasePaidOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	u, token := e.user(t, "buyer@mercy.example")
	org := uuid.MustParse(e.org(t, token, "Mercy General"))
	o := e.seatOrder(t, u, org, 7)
	session := checkoutSession(o, "cs_seats", "paid", "pi_seats")
	var wg sync.WaitGroup
	for _, body := range [][]byte{ // at once: a repeat, and the same payment under another ID
		e.stripeEvent(t, "evt_seats_1", "checkout.session.completed", session),
		e.stripeEvent(t, "evt_seats_1", "checkout.session.completed", session),
		e.stripeEvent(t, "evt_seats_2", "checkout.session.async_payment_succeeded", session),
	} {
		wg.Add(1)
		go func() { defer wg.Done(); e.deliver(t, body) }()
	}
	wg.Wait()
	pools, err := models.ListSeatPools(context.Background(), e.db.Gorm, org)
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 1 || pools[0].Total != 7 {
		t.Fatalf("seat pools = %+v, want 7 AALS initial seats once", pools)
	}
	if n := e.receipts(t, u.Email); n != 1 {
		t.Errorf("%d receipts, want 1", n)
	}
}

func TestStripeEventsWeDoNotAct(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	stranger := &models.Order{ID: uuid.New(), Amount: 100, Currency: "usd"}
	malformed := checkoutSession(stranger, "cs_x", "paid", "pi_x")
	malformed["metadata"] = map[string]string{"order_id": "order-42"}
	malformed["client_reference_id"] = "order-42"
	for id, ev := range map[string][]byte{
		"evt_unknown_order": e.stripeEvent(t, "evt_unknown_order", "checkout.session.completed", checkoutSession(stranger, "cs_u", "paid", "pi_u")),
		"evt_malformed":     e.stripeEvent(t, "evt_malformed", "checkout.session.completed", malformed),
		"evt_other_type":    e.stripeEvent(t, "evt_other_type", "customer.created", map[string]any{"id": "cus_1", "object": "customer"}),
	} {
		e.deliver(t, ev)
		if n := e.count(t, `SELECT count(*) FROM stripe_events WHERE id = $1 AND order_id IS NULL`, id); n != 1 {
			t.Errorf("%s recorded %d times, want once without an order", id, n)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM orders`); n != 0 {
		t.Errorf("%d orders exist, want none", n)
	}
}

// Without a database the event cannot be applied: the answer is a 5xx, so Stripe retries.
func TestStripeWebhookDatabaseDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStripe(t))
	_, _, o := e.pendingEnrollment(t, "down@example.org")
	body := e.stripeEvent(t, "evt_down", "checkout.session.completed", checkoutSession(o, "cs_1", "paid", "pi_1"))
	e.db.Close()
	r := e.postStripe(t, body, stripeSignature(body, stripeWebhookSecret, time.Now()))
	if r.Code != 500 || r.problemType() != "internal" {
		t.Fatalf("with the database down: %d %s, want 500 internal", r.Code, r.Body)
	}
}

func TestStripeWebhookWithoutStripe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := e.stripeEvent(t, "evt_1", "checkout.session.completed", map[string]any{"id": "cs_1", "object": "checkout.session"})
	r := e.postStripe(t, body, stripeSignature(body, "", time.Now()))
	if r.Code != 404 || r.problemType() != "not-found" {
		t.Fatalf("without Stripe: %d %s, want 404 not-found", r.Code, r.Body)
	}
}

func TestCheckoutReturnPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	order := uuid.NewString()
	for path, want := range map[string]string{
		"/checkout/success?order=" + order: "being confirmed",
		"/checkout/cancel?order=" + order:  "not charged",
	} {
		r := e.do(t, req{method: "GET", path: path})
		body := string(r.Body)
		if r.Code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `<html lang="en">`) {
			t.Errorf("GET %s = %d, want 200 with %q:\n%s", path, r.Code, want, body)
		}
		if strings.Contains(body, order) {
			t.Errorf("GET %s shows the order ID", path)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", path, r.Header.Get("Cache-Control"))
		}
	}
}

// FuzzHandleWebhookBody: whatever the body, the webhook never panics (a 500 here would be
// one, recovered), and without our signature it changes nothing.
func FuzzHandleWebhookBody(f *testing.F) {
	e := newEnv(f, withStripe(f))
	_, _, o := e.pendingEnrollment(f, "fuzz@example.org")
	for _, b := range [][]byte{
		e.stripeEvent(f, "evt_f1", "checkout.session.completed", checkoutSession(o, "cs_f", "paid", "pi_f")),
		e.stripeEvent(f, "evt_f2", "checkout.session.expired", checkoutSession(o, "cs_f", "unpaid", "")),
		e.stripeEvent(f, "evt_f3", "charge.refunded", refundedCharge("pi_f", cardPrice, 100)),
		e.stripeEvent(f, "evt_f4", "checkout.session.async_payment_failed", map[string]any{"object": "checkout.session", "metadata": 7}),
		[]byte(`{"id":"evt_f5","type":"charge.refunded","api_version":"2023-10-16","data":{"object":{"object":"charge","amount_refunded":-1,"payment_intent":{"id":"pi_f"}}}}`),
		[]byte(`{"id":"evt_f6","type":"checkout.session.completed","api_version":"2023-10-16","data":null}`),
		[]byte(`{}`), []byte(`[]`), []byte(`not json`), nil,
	} {
		f.Add(b, "", true)
		f.Add(b, "t=1,v1=00", false)
	}
	f.Fuzz(func(t *testing.T, body []byte, signature string, signed bool) {
		if signed {
			signature = stripeSignature(body, stripeWebhookSecret, time.Now())
		}
		before := e.count(t, `SELECT count(*) FROM stripe_events`)
		order, _ := e.orderState(t, o.ID)
		r := e.postStripe(t, body, signature)
		switch {
		case r.Code == 500:
			t.Fatalf("500 for %q: %s", body, r.Body)
		case signed && r.Code != 200 && r.Code != 400:
			t.Fatalf("signed body answered %d: %s", r.Code, r.Body)
		case !signed && r.Code != 400:
			t.Fatalf("unsigned body answered %d, want 400: %s", r.Code, r.Body)
		}
		if !signed {
			after, _ := e.orderState(t, o.ID)
			if n := e.count(t, `SELECT count(*) FROM stripe_events`); n != before || after.Status != order.Status || after.AmountRefunded != order.AmountRefunded {
				t.Fatalf("an unsigned body changed state: events %d → %d, order %s → %s", before, n, order.Status, after.Status)
			}
		}
	})
}
