// Package billing talks to Stripe: Checkout Sessions, webhook verification, event handling
// and refunds. Offline payments and purchase orders need no Stripe and live in models.
package billing

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/models"
)

// Config configures Stripe. An empty SecretKey disables card payments.
type Config struct {
	SecretKey     string
	WebhookSecret string
	APIURL        string // Stripe's API base; stripe-mock's in tests
	SuccessURL    string // where Checkout sends the buyer after paying; {ORDER_ID} is replaced
	CancelURL     string // where Checkout sends the buyer who gives up; {ORDER_ID} is replaced
}

// Client calls Stripe. A nil *Client or one without a key is disabled.
type Client struct {
	cfg Config
}

// New returns a client for cfg.
func New(cfg Config) *Client { return &Client{cfg: cfg} }

// Enabled reports whether card payments are configured.
func (c *Client) Enabled() bool { return c != nil && c.cfg.SecretKey != "" }

// ErrUnavailable means Stripe could not be reached or refused the call; retry later.
var ErrUnavailable = models.NewError("payment-provider-unavailable", models.ErrConflict, "the card payment provider is unavailable; try again shortly")

// CheckoutRequest describes a Checkout Session for one order.
type CheckoutRequest struct {
	OrderID    uuid.UUID
	Email      string // prefilled customer email
	Name       string // line item name, e.g. "AALS — initial certification"
	UnitAmount int64  // cents
	Currency   string
	Quantity   int64
}

// CreateCheckoutSession makes a Checkout Session (mode payment) for the order and returns its
// ID and URL.
func (c *Client) CreateCheckoutSession(ctx context.Context, r CheckoutRequest) (id, url string, err error) {
	return "", "", errors.New("billing: checkout not implemented yet")
}

// Refund refunds amount cents of a payment intent and returns the Stripe refund ID.
func (c *Client) Refund(ctx context.Context, paymentIntentID string, amount int64, idempotencyKey string) (string, error) {
	return "", errors.New("billing: refunds not implemented yet")
}

// VerifyEvent checks the Stripe-Signature of a webhook body and returns the event.
func (c *Client) VerifyEvent(body []byte, signature string) (stripe.Event, error) {
	return stripe.Event{}, errors.New("billing: webhooks not implemented yet")
}

// Outcome says what handling an event did.
type Outcome struct {
	Duplicate bool          // the event ID was processed before; nothing changed
	Order     *models.Order // the order the event concerned, if any
	NewlyPaid bool          // the order became paid (send a receipt)
}

// HandleEvent applies a verified event inside tx, at most once per event ID.
func HandleEvent(ctx context.Context, tx *gorm.DB, ev stripe.Event, now time.Time) (*Outcome, error) {
	return nil, errors.New("billing: events not implemented yet")
}
