package billing

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
)

// CheckoutRequest describes a Checkout Session for one order.
type CheckoutRequest struct {
	OrderID    uuid.UUID
	Email      string // prefilled customer email
	Name       string // line item name, e.g. "AALS — initial certification"
	UnitAmount int64  // cents
	Currency   string
	Quantity   int64
}

// metaOrderID is the metadata key that carries our order ID on Checkout Sessions, payment
// intents and (copied from those) charges.
const metaOrderID = "order_id"

// CreateCheckoutSession makes a Checkout Session (mode payment) for the order and returns its
// ID and URL. The call carries the Idempotency-Key "checkout-<order ID>", so retrying it for
// the same order returns the same session instead of a second one. Any failure is
// ErrUnavailable (wrapping the cause).
func (c *Client) CreateCheckoutSession(ctx context.Context, r CheckoutRequest) (id, url string, err error) {
	if !c.Enabled() {
		return "", "", errDisabled
	}
	order := r.OrderID.String()
	p := &stripe.CheckoutSessionParams{
		Mode: stripe.String(string(stripe.CheckoutSessionModePayment)),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(r.Currency),
				UnitAmount:  stripe.Int64(r.UnitAmount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(r.Name)},
			},
			Quantity: stripe.Int64(r.Quantity),
		}},
		ClientReferenceID:   stripe.String(order),
		Metadata:            map[string]string{metaOrderID: order},
		PaymentIntentData:   &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: map[string]string{metaOrderID: order}},
		AllowPromotionCodes: stripe.Bool(true),
		SuccessURL:          stripe.String(strings.ReplaceAll(c.cfg.SuccessURL, "{ORDER_ID}", order)),
		CancelURL:           stripe.String(strings.ReplaceAll(c.cfg.CancelURL, "{ORDER_ID}", order)),
	}
	if r.Email != "" {
		p.CustomerEmail = stripe.String(r.Email)
	}
	p.Context = ctx
	p.SetIdempotencyKey("checkout-" + order)
	s, err := c.api.CheckoutSessions.New(p)
	if err != nil {
		return "", "", c.unavailable("create checkout session", err, "order_id", order)
	}
	return s.ID, s.URL, nil
}
