package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// refundResponse is one refund made on an order.
type refundResponse struct {
	ID             uuid.UUID  `json:"id"`
	OrderID        uuid.UUID  `json:"order_id"`
	Amount         int        `json:"amount"`
	Seats          int        `json:"seats"`
	Method         string     `json:"method"`
	StripeRefundID *string    `json:"stripe_refund_id"`
	Reason         string     `json:"reason"`
	CreatedBy      *uuid.UUID `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
}

func newRefundResponse(r *models.Refund) refundResponse {
	return refundResponse{ID: r.ID, OrderID: r.OrderID, Amount: r.Amount, Seats: r.Seats, Method: r.Method,
		StripeRefundID: r.StripeRefundID, Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
}

// refundResultResponse answers a refund: the refund and the order after it.
type refundResultResponse struct {
	refundResponse
	Order orderResponse `json:"order"`
}

// refundInput is the body of POST /v1/admin/orders/{id}/refund. Amount defaults to
// everything not yet refunded.
type refundInput struct {
	Amount *int    `json:"amount"`
	Reason *string `json:"reason"`
}

func (in refundInput) validate() (reason string, err error) {
	ve := &models.ValidationError{}
	if in.Amount != nil && *in.Amount < 1 {
		ve.Add("amount", "must be a positive number of cents")
	}
	if in.Reason != nil {
		reason = strings.TrimSpace(*in.Reason)
		if len([]rune(reason)) > 500 {
			ve.Add("reason", "must be at most 500 characters")
		}
	}
	return reason, ve.Err()
}

// refundOrder handles POST /v1/admin/orders/{id}/refund: a platform admin refunds part or
// all of a paid order, through Stripe for a card payment, otherwise recorded as returned
// offline. A full refund cancels an enrollment not yet completed (never a credential); a seat
// order refunds whole, unused seats only.
func (s *Server) refundOrder(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in refundInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	reason, err := in.validate()
	if err != nil {
		return err
	}
	var out refundResultResponse
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		o, err := models.LockOrder(ctx(c), tx.DB, id)
		if err != nil {
			return err
		}
		before := newOrderResponse(o)
		r := &models.Refund{ID: uuid.New(), OrderID: o.ID, Method: models.RefundOffline, Reason: reason,
			CreatedBy: &admin.ID, CreatedAt: s.now()}
		if err := s.applyRefund(ctx(c), tx, o, in.Amount, r); err != nil {
			return err
		}
		out = refundResultResponse{refundResponse: newRefundResponse(r), Order: newOrderResponse(o)}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "order.refund", ObjectType: "order",
			ObjectID: o.ID.String(), Before: before, After: out.Order})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

// applyRefund refunds amount (nil: all that is left) of the locked order o and records r.
// Seats go back first, so a refund of used seats changes nothing; Stripe is called last
// before the rows are written, so its failure rolls everything back.
func (s *Server) applyRefund(ctx context.Context, tx models.Tx, o *models.Order, amount *int, r *models.Refund) error {
	switch o.Status {
	case models.OrderPaid:
	case models.OrderRefunded:
		return models.ErrRefundTooLarge // nothing is left to refund
	default:
		return models.ErrOrderNotRefundable
	}
	left := o.Amount - o.AmountRefunded
	r.Amount = left
	if amount != nil {
		r.Amount = *amount
	}
	if r.Amount > left || r.Amount < 1 {
		return models.ErrRefundTooLarge
	}
	if o.Kind == models.OrderSeats {
		if err := returnRefundedSeats(ctx, tx, o, r); err != nil {
			return err
		}
	}
	if o.PaymentMethod != nil && *o.PaymentMethod == models.PayCard {
		if err := s.refundByCard(ctx, o, r); err != nil {
			return err
		}
	}
	if err := models.CreateRefund(ctx, tx.DB, r); err != nil {
		return err
	}
	_, err := models.RecordRefund(ctx, tx.DB, o, o.AmountRefunded+r.Amount, r.CreatedAt)
	return err
}

// returnRefundedSeats takes the refunded seats out of the org's pool: a whole number of
// seats, all unused (ErrSeatsInUse otherwise).
func returnRefundedSeats(ctx context.Context, tx models.Tx, o *models.Order, r *models.Refund) error {
	if o.UnitAmount == 0 || r.Amount%o.UnitAmount != 0 {
		return models.Invalid("amount", fmt.Sprintf("must be a whole number of seats: a multiple of %d", o.UnitAmount))
	}
	r.Seats = r.Amount / o.UnitAmount
	return models.ReturnSeats(ctx, tx.DB, *o.OrgID, o.CourseCode, o.Offering, r.Seats, r.CreatedAt)
}

// refundByCard refunds r through Stripe, keyed on the refund's ID so a retried call refunds
// once.
func (s *Server) refundByCard(ctx context.Context, o *models.Order, r *models.Refund) error {
	if !s.billing.Enabled() {
		p := problem(http.StatusUnprocessableEntity, "card-payments-unavailable",
			"this order was paid by card, but card payments are not configured: refund it with the card payment provider")
		p.Title = "Card payments unavailable"
		return p
	}
	if o.StripePaymentIntentID == nil {
		return problem(http.StatusConflict, "conflict", "the card payment of this order is not recorded yet")
	}
	id, err := s.billing.Refund(ctx, *o.StripePaymentIntentID, int64(r.Amount), "refund-"+r.ID.String())
	if err != nil {
		return paymentProviderError(err)
	}
	r.Method, r.StripeRefundID = models.RefundCard, &id
	return nil
}
