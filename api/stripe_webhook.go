package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/billing"
	"github.com/aalscert/aalscert/models"
)

// billingRoutes registers Stripe's webhook. It takes no credential (Stripe signs the body
// instead) and is never throttled: Stripe retries what we refuse.
func (s *Server) billingRoutes(g *echo.Group) {
	g.POST("/billing/stripe/webhook", s.stripeWebhook)
}

// stripeWebhook handles POST /v1/billing/stripe/webhook. It verifies the Stripe-Signature
// over the raw body, then applies the event and queues its follow-up (the receipt of a newly
// paid order, a River job) in one transaction, and answers 200 at once. A refused signature
// or event changes nothing (400). Any failure to apply it is a 5xx, so Stripe retries; the
// event's ID makes the retry, or any other second delivery, a no-op once one has committed.
// Without Stripe configured there is no webhook: 404.
func (s *Server) stripeWebhook(c echo.Context) error {
	if !s.billing.Enabled() {
		return problem(http.StatusNotFound, "not-found", "card payments are not configured")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he // the body is over the limit
		}
		return echo.NewHTTPError(http.StatusBadRequest, "request body could not be read")
	}
	ev, err := s.billing.VerifyEvent(body, c.Request().Header.Get("Stripe-Signature"))
	if err != nil {
		return s.refuseStripeEvent(c, err)
	}
	var out *billing.Outcome
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		var err error
		if out, err = billing.HandleEvent(ctx(c), tx.DB, ev, s.now()); err != nil {
			return err
		}
		if out.NewlyPaid {
			return s.sendReceipt(ctx(c), tx, out.Order)
		}
		return nil
	})
	if err != nil {
		// Whatever its kind, an event that could not be applied must be retried: %v makes
		// it an internal error (500, logged with its cause) rather than a 4xx.
		return fmt.Errorf("apply Stripe event %s (%s): %v", ev.ID, ev.Type, err)
	}
	attrs := []any{"request_id", requestID(c), "event", ev.ID, "type", ev.Type, "duplicate", out.Duplicate}
	if out.Order != nil {
		attrs = append(attrs, "order_id", out.Order.ID, "order_status", out.Order.Status)
	}
	if out.Ignored != "" {
		attrs = append(attrs, "ignored", out.Ignored)
	}
	s.log.InfoContext(ctx(c), "Stripe event", attrs...)
	return c.JSON(http.StatusOK, stripeWebhookResponse{Received: true})
}

// stripeWebhookResponse acknowledges an event.
type stripeWebhookResponse struct {
	Received bool `json:"received"`
}

// refuseStripeEvent answers 400 for an event that failed verification. A version mismatch
// is logged as an error: the endpoint in the Stripe dashboard is misconfigured and every
// event will be refused until it is recreated with billing.APIVersion.
func (s *Server) refuseStripeEvent(c echo.Context, err error) error {
	code, detail := "invalid-signature", billing.ErrInvalidSignature.Msg
	var de *models.Error
	if errors.As(err, &de) { // billing.VerifyEvent's refusals are all domain errors with a code
		code, detail = de.Code, de.Msg
	}
	if code == "stripe-api-version-mismatch" {
		s.log.ErrorContext(ctx(c), "Stripe event refused: the webhook endpoint's API version is wrong",
			"request_id", requestID(c), "want", billing.APIVersion, "err", err)
	} else {
		s.log.WarnContext(ctx(c), "Stripe event refused", "request_id", requestID(c), "err", err)
	}
	return problem(http.StatusBadRequest, code, detail)
}
