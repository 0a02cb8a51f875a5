// Package billing talks to Stripe: Checkout Sessions, webhook verification, event handling
// and refunds. Offline payments and purchase orders need no Stripe and live in models.
package billing

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aalscert/aalscert/models"
)

// Config configures Stripe. An empty SecretKey disables card payments.
type Config struct {
	SecretKey     string
	WebhookSecret string
	APIURL        string // Stripe's API base; stripe-mock's in tests
	SuccessURL    string // where Checkout sends the buyer after paying; {ORDER_ID} is replaced
	CancelURL     string // where Checkout sends the buyer who gives up; {ORDER_ID} is replaced
	// Log receives failed Stripe calls (never the keys); slog.Default() when nil.
	Log *slog.Logger
}

// Client calls Stripe. A nil *Client or one without a key is disabled.
type Client struct {
	cfg Config
	api *client.API
	log *slog.Logger
}

// callTimeout bounds each attempt of a Stripe API call, so a stalled connection cannot hold a
// buyer's request for long; the request's context bounds the whole call.
const callTimeout = 20 * time.Second

// New returns a client for cfg. The Stripe client is its own (never stripe-go's global key
// or backends), so several clients can live in one process, e.g. in tests.
func New(cfg Config) *Client {
	c := &Client{cfg: cfg, log: cfg.Log}
	if c.log == nil {
		c.log = slog.Default()
	}
	if cfg.SecretKey == "" {
		return c
	}
	bc := &stripe.BackendConfig{
		HTTPClient: &http.Client{Timeout: callTimeout},
		// stripe-go logs to stderr by default; failures reach our log through the errors.
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		MaxNetworkRetries: stripe.Int64(2),
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(cfg.APIURL)
	}
	api := stripe.GetBackendWithConfig(stripe.APIBackend, bc)
	c.api = client.New(cfg.SecretKey, &stripe.Backends{
		API:     api,
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, &stripe.BackendConfig{LeveledLogger: bc.LeveledLogger, URL: bc.URL}),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, &stripe.BackendConfig{LeveledLogger: bc.LeveledLogger, URL: bc.URL}),
	})
	return c
}

// Enabled reports whether card payments are configured.
func (c *Client) Enabled() bool { return c != nil && c.cfg.SecretKey != "" }

// APIVersion is the Stripe API version this build speaks, pinned by stripe-go. The webhook
// endpoint in the Stripe dashboard must be created with it (see VerifyEvent).
const APIVersion = stripe.APIVersion

// ErrUnavailable means Stripe could not be reached or refused the call; retry later.
var ErrUnavailable = models.NewError("payment-provider-unavailable", models.ErrConflict, "the card payment provider is unavailable; try again shortly")

// errDisabled is returned by calls on a client without a secret key.
var errDisabled = fmt.Errorf("%w: card payments are not configured", ErrUnavailable)

// unavailable wraps a failed Stripe call as ErrUnavailable, keeping the cause for the log,
// and logs it with Stripe's request ID (never the key).
func (c *Client) unavailable(op string, err error, attrs ...any) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		attrs = append(attrs, "stripe_status", se.HTTPStatusCode, "stripe_code", se.Code, "stripe_request_id", se.RequestID)
	}
	c.log.Warn("Stripe call failed", append([]any{"op", op, "err", err}, attrs...)...)
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}
