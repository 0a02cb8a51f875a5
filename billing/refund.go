package billing

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// Refund refunds amount cents of a payment intent and returns the Stripe refund ID. The call
// carries idempotencyKey (the caller names the business operation, e.g. its refund record);
// without one it uses "refund-<payment intent>-<amount>", so a double submission within
// Stripe's 24 h key lifetime refunds once. Any failure is ErrUnavailable (wrapping the cause).
func (c *Client) Refund(ctx context.Context, paymentIntentID string, amount int64, idempotencyKey string) (string, error) {
	if !c.Enabled() {
		return "", errDisabled
	}
	if idempotencyKey == "" {
		idempotencyKey = fmt.Sprintf("refund-%s-%d", paymentIntentID, amount)
	}
	p := &stripe.RefundParams{PaymentIntent: stripe.String(paymentIntentID), Amount: stripe.Int64(amount)}
	p.Context = ctx
	p.SetIdempotencyKey(idempotencyKey)
	r, err := c.api.Refunds.New(p)
	if err != nil {
		return "", c.unavailable("refund payment", err, "payment_intent", paymentIntentID, "amount", amount)
	}
	return r.ID, nil
}
