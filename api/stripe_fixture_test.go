package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/billing"
	"github.com/aalscert/aalscert/internal/stripetest"
	"github.com/aalscert/aalscert/models"
)

// stripeWebhookSecret signs the webhook events of env's built withStripe.
const stripeWebhookSecret = "whsec_aalscert_webhook_test"

// withStripe enables card payments: Stripe's API is the process's stripe-mock, and webhook
// events are signed with stripeWebhookSecret.
func withStripe(t testing.TB) envOption {
	t.Helper()
	apiURL := stripetest.URL(t)
	return func(_ *api.Config, d *api.Deps) {
		d.Billing = billing.New(billing.Config{
			SecretKey: "sk_test_aalscert", WebhookSecret: stripeWebhookSecret, APIURL: apiURL,
			SuccessURL: publicURL + "/checkout/success?order={ORDER_ID}", CancelURL: publicURL + "/checkout/cancel?order={ORDER_ID}",
			Log: slog.New(slog.DiscardHandler),
		})
	}
}

// cardPrice is what the orders of the webhook tests cost, in cents.
const cardPrice = 29500

// pendingEnrollment stores a provider (with the catalog) and a pending AALS enrollment with
// its order, as POST /v1/enrollments leaves them before payment.
func (e *env) pendingEnrollment(t testing.TB, email string) (*models.User, *models.Enrollment, *models.Order) {
	t.Helper()
	e.seedCourses(t)
	u, _ := e.user(t, email)
	o := &models.Order{Kind: models.OrderEnrollment, BuyerID: u.ID, CourseCode: "AALS", Offering: "initial",
		Quantity: 1, UnitAmount: cardPrice, Amount: cardPrice, Currency: "usd"}
	en := &models.Enrollment{UserID: u.ID, CourseCode: "AALS", Offering: "initial"}
	if err := models.CreateEnrollment(context.Background(), e.db.Gorm, en, o); err != nil {
		t.Fatalf("create enrollment: %v", err)
	}
	return u, en, o
}

// seatOrder stores a pending order for qty AALS initial seats of the org, bought by u.
func (e *env) seatOrder(t testing.TB, u *models.User, orgID uuid.UUID, qty int) *models.Order {
	t.Helper()
	e.seedCourses(t)
	o := &models.Order{Kind: models.OrderSeats, BuyerID: u.ID, OrgID: &orgID, CourseCode: "AALS", Offering: "initial",
		Quantity: qty, UnitAmount: cardPrice, Amount: qty * cardPrice, Currency: "usd"}
	if err := models.CreateOrder(context.Background(), e.db.Gorm, o); err != nil {
		t.Fatalf("create seat order: %v", err)
	}
	return o
}

// stripeEvent returns the body of a Stripe event of this build's API version around object.
func (e *env) stripeEvent(t testing.TB, id, typ string, object map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": billing.APIVersion, "created": e.clock.Now().Unix(),
		"type": typ, "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": object},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkoutSession is a Checkout Session object for the order; pi may be "".
func checkoutSession(o *models.Order, id, paymentStatus, pi string) map[string]any {
	s := map[string]any{
		"id": id, "object": "checkout.session", "mode": "payment", "status": "complete",
		"payment_status": paymentStatus, "client_reference_id": o.ID.String(),
		"metadata": map[string]string{"order_id": o.ID.String()}, "amount_total": o.Amount, "currency": o.Currency,
		"payment_intent": nil,
	}
	if pi != "" {
		s["payment_intent"] = pi
	}
	return s
}

// refundedCharge is a charge of amount cents on a payment intent, refunded so far by
// refunded cents (cumulative), without our metadata (the order is found by payment intent).
func refundedCharge(pi string, amount, refunded int) map[string]any {
	return map[string]any{
		"id": "ch_" + pi, "object": "charge", "payment_intent": pi, "amount": amount,
		"amount_refunded": refunded, "refunded": refunded == amount, "currency": "usd",
	}
}

// stripeSignature is the Stripe-Signature header Stripe would send for body at t.
func stripeSignature(body []byte, secret string, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: t}).Header
}

// postStripe delivers body to the webhook with the given Stripe-Signature header.
func (e *env) postStripe(t testing.TB, body []byte, signature string) *resp {
	t.Helper()
	q := req{method: "POST", path: "/v1/billing/stripe/webhook", body: body, ctype: "application/json; charset=utf-8"}
	if signature != "" {
		q.headers = map[string]string{"Stripe-Signature": signature}
	}
	return e.do(t, q)
}

// deliver signs body as Stripe does now and delivers it, failing unless it is acknowledged.
func (e *env) deliver(t testing.TB, body []byte) {
	t.Helper()
	if r := e.postStripe(t, body, stripeSignature(body, stripeWebhookSecret, time.Now())); r.Code != 200 {
		t.Errorf("webhook answered %d, want 200: %s", r.Code, truncate(r.Body))
	}
}

// orderState returns the order and the status of its enrollment ("" for seat orders).
func (e *env) orderState(t testing.TB, id uuid.UUID) (*models.Order, string) {
	t.Helper()
	o, err := models.FindOrder(context.Background(), e.db.Gorm, id)
	if err != nil {
		t.Fatal(err)
	}
	en, err := models.FindEnrollmentByOrder(context.Background(), e.db.Gorm, id)
	if err != nil {
		return o, ""
	}
	return o, en.Status
}

// receipts counts the receipt emails recorded for an address.
func (e *env) receipts(t testing.TB, to string) int {
	t.Helper()
	return e.count(t, `SELECT count(*) FROM outbox WHERE to_addr = $1 AND subject ILIKE '%receipt%'`, to)
}
