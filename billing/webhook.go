package billing

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/aalscert/aalscert/models"
)

// Errors of webhook verification. Each means the request changes nothing; the webhook
// route answers 400 with the error's code as the problem type.
var (
	// ErrInvalidSignature: the Stripe-Signature header is missing, malformed, wrong for our
	// webhook secret, or older than the tolerance (300 s).
	ErrInvalidSignature = models.NewError("invalid-signature", models.ErrInvalid, "the Stripe-Signature header is missing, invalid or too old")
	// ErrAPIVersionMismatch: the event was rendered with another Stripe API version than the
	// one this build speaks (APIVersion); the webhook endpoint must be created with APIVersion.
	ErrAPIVersionMismatch = models.NewError("stripe-api-version-mismatch", models.ErrInvalid, "the event's Stripe API version is not "+APIVersion+"; create the webhook endpoint with API version "+APIVersion)
	// ErrMalformedEvent: the body is signed but is not a Stripe event.
	ErrMalformedEvent = models.NewError("malformed-event", models.ErrInvalid, "the body is not a Stripe event")
)

// VerifyEvent checks the Stripe-Signature of a webhook body (the raw bytes, as received)
// against the webhook secret with stripe-go's webhook.ConstructEvent rules (HMAC-SHA256,
// 300 s tolerance) and returns the event.
//
// Events must be rendered with APIVersion (2023-10-16), the version stripe-go v76's types are
// generated for: an event of another version returns ErrAPIVersionMismatch, so it is refused
// and Stripe keeps retrying it, rather than being read with fields that may have moved or
// changed meaning — for payments that would be a silently wrong state. A client without a
// webhook secret verifies nothing (an empty secret would accept signatures anyone can make).
func (c *Client) VerifyEvent(body []byte, signature string) (stripe.Event, error) {
	if c == nil || c.cfg.WebhookSecret == "" {
		return stripe.Event{}, fmt.Errorf("%w: no webhook secret is configured", ErrInvalidSignature)
	}
	ev, err := webhook.ConstructEventWithOptions(body, signature, c.cfg.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}) // checked below, to tell it apart
	switch {
	case isSignatureError(err):
		return stripe.Event{}, fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	case err != nil:
		return stripe.Event{}, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	case !plainID(ev.ID) || !plainID(string(ev.Type)) || ev.Data == nil || !json.Valid(ev.Data.Raw):
		return stripe.Event{}, fmt.Errorf("%w: id, type or data.object is missing or malformed", ErrMalformedEvent)
	case ev.APIVersion != APIVersion:
		return stripe.Event{}, fmt.Errorf("%w: event %s has API version %q", ErrAPIVersionMismatch, ev.ID, ev.APIVersion)
	}
	return ev, nil
}

// plainID reports whether s looks like a Stripe identifier or event type (evt_1NG8…,
// checkout.session.completed): 1–255 letters, digits, '_', '.' or '-'. Anything else is not
// from Stripe and is not worth storing.
func plainID(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

func isSignatureError(err error) bool {
	for _, e := range []error{webhook.ErrNotSigned, webhook.ErrInvalidHeader, webhook.ErrNoValidSignature, webhook.ErrTooOld} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
