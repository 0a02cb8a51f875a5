package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/models"
)

// Outcome says what handling an event did.
type Outcome struct {
	Duplicate bool          // the event ID was processed before; nothing changed
	Order     *models.Order // the order the event concerned, if any
	NewlyPaid bool          // the order became paid (send a receipt)
	// Ignored says why the event changed nothing ("" when it took effect), for the log.
	Ignored string
}

// The event types HandleEvent acts on; every other type is recorded and ignored.
const (
	evCheckoutCompleted = "checkout.session.completed"
	evAsyncSucceeded    = "checkout.session.async_payment_succeeded"
	evAsyncFailed       = "checkout.session.async_payment_failed"
	evCheckoutExpired   = "checkout.session.expired"
	evChargeRefunded    = "charge.refunded"
)

// subject is what an event is about, read from its object.
type subject struct {
	orderID uuid.UUID // from metadata order_id or client_reference_id; Nil if absent or malformed
	pi      string    // payment intent ID, if any
	session *stripe.CheckoutSession
	charge  *stripe.Charge
	ignored string // why the object cannot be acted on
}

// HandleEvent applies a verified event inside tx, at most once per event ID: it records the
// event in stripe_events (with its order, when known) in the same transaction as the effect,
// so both commit or neither does, and a second delivery of the ID is a Duplicate that changes
// nothing. Effects go through the payment state machine in models only:
//
//   - checkout.session.completed with payment_status paid (or no_payment_required, a 100%
//     promotion code) and checkout.session.async_payment_succeeded: MarkOrderPaid (card).
//     With payment_status unpaid (an asynchronous method) nothing happens until the async
//     event. A payment for an order that is already paid is not an error.
//   - checkout.session.async_payment_failed: FailOrder; checkout.session.expired: ExpireOrder.
//     Both leave an order alone whose current Checkout Session is another one.
//   - charge.refunded: ApplyStripeRefund with the charge's cumulative amount_refunded (kept
//     for later if the payment is not recorded yet); a charge refunded in full counts as a
//     full refund of the order even if a promotion code made it smaller than the order.
//
// Events for unknown orders, malformed order IDs, objects of the wrong shape and other types
// are recorded and ignored (Outcome.Ignored says why), so Stripe does not retry them. Every
// event about an order locks that order, and every event about a payment intent takes a
// transaction lock on it, so concurrent deliveries serialize and the end state does not
// depend on arrival order. Times are the event's creation time (when the payment or refund
// happened), or now if that is unknown or later.
func HandleEvent(ctx context.Context, tx *gorm.DB, ev stripe.Event, now time.Time) (*Outcome, error) {
	sub := readSubject(ev)
	if sub.pi != "" {
		// Taken before the order row, so events about one intent queue in one order.
		if err := models.LockPaymentIntent(ctx, tx, sub.pi); err != nil {
			return nil, fmt.Errorf("lock payment intent %s: %w", sub.pi, err)
		}
	}
	order, err := lockSubjectOrder(ctx, tx, sub)
	if err != nil {
		return nil, err
	}
	var orderID *uuid.UUID
	if order != nil {
		orderID = &order.ID
	}
	res := tx.WithContext(ctx).Exec(`INSERT INTO stripe_events (id, type, order_id, processed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, ev.ID, string(ev.Type), orderID, now)
	if res.Error != nil {
		return nil, fmt.Errorf("record Stripe event %s: %w", ev.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return &Outcome{Duplicate: true, Order: order, Ignored: "event already processed"}, nil
	}
	if sub.ignored != "" {
		return &Outcome{Order: order, Ignored: sub.ignored}, nil
	}
	at := now
	if created := time.Unix(ev.Created, 0); ev.Created > 0 && created.Before(now) {
		at = created
	}
	if ev.Type == evChargeRefunded {
		return applyRefund(ctx, tx, sub, order, at)
	}
	if order == nil {
		return &Outcome{Ignored: "no order of ours matches the Checkout Session"}, nil
	}
	return applyCheckout(ctx, tx, ev.Type, sub, order, at)
}

// readSubject decodes the event's object for the types HandleEvent acts on.
func readSubject(ev stripe.Event) subject {
	if ev.Data == nil {
		return subject{ignored: "event has no object"}
	}
	switch ev.Type {
	case evCheckoutCompleted, evAsyncSucceeded, evAsyncFailed, evCheckoutExpired:
		var s stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &s); err != nil || s.Object != "checkout.session" || s.ID == "" {
			return subject{ignored: "object is not a Checkout Session"}
		}
		sub := subject{session: &s, orderID: parseOrderID(s.Metadata[metaOrderID], s.ClientReferenceID)}
		if s.PaymentIntent != nil {
			sub.pi = s.PaymentIntent.ID
		}
		if sub.pi != "" && !plainID(sub.pi) {
			return subject{ignored: "Checkout Session has a malformed payment intent"}
		}
		return sub
	case evChargeRefunded:
		var ch stripe.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil || ch.Object != "charge" {
			return subject{ignored: "object is not a charge"}
		}
		sub := subject{charge: &ch, orderID: parseOrderID(ch.Metadata[metaOrderID], "")}
		if ch.PaymentIntent != nil {
			sub.pi = ch.PaymentIntent.ID
		}
		switch {
		case sub.pi == "":
			sub.ignored = "charge has no payment intent"
		case !plainID(sub.pi):
			return subject{ignored: "charge has a malformed payment intent"}
		case ch.AmountRefunded < 0 || ch.AmountRefunded > math.MaxInt32:
			sub.ignored = "charge has an impossible amount_refunded"
		}
		return sub
	}
	return subject{ignored: "event type not handled"}
}

// parseOrderID returns the first of the candidates that is a UUID, or uuid.Nil.
func parseOrderID(candidates ...string) uuid.UUID {
	for _, c := range candidates {
		if c == "" {
			continue
		}
		id, err := uuid.Parse(c)
		if err != nil {
			return uuid.Nil // present but malformed: not ours
		}
		return id
	}
	return uuid.Nil
}

// lockSubjectOrder returns the order the event is about, locked, or nil if none is known: a
// charge's order is the one paid with its payment intent (else its metadata's), a session's
// the one in its metadata.
func lockSubjectOrder(ctx context.Context, tx *gorm.DB, sub subject) (*models.Order, error) {
	id := sub.orderID
	if sub.charge != nil && sub.pi != "" {
		o, err := models.FindOrderByPaymentIntent(ctx, tx, sub.pi)
		switch {
		case err == nil:
			id = o.ID
		case !errors.Is(err, models.ErrNotFound):
			return nil, err
		}
	}
	if id == uuid.Nil {
		return nil, nil
	}
	o, err := models.LockOrder(ctx, tx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil
	}
	return o, err
}

// applyCheckout acts on a Checkout Session event for a known, locked order.
func applyCheckout(ctx context.Context, tx *gorm.DB, typ stripe.EventType, sub subject, o *models.Order, at time.Time) (*Outcome, error) {
	s := sub.session
	switch typ {
	case evCheckoutCompleted:
		switch s.PaymentStatus {
		case stripe.CheckoutSessionPaymentStatusPaid, stripe.CheckoutSessionPaymentStatusNoPaymentRequired:
			return markPaid(ctx, tx, o, sub.pi, at)
		}
		return &Outcome{Order: o, Ignored: "checkout completed; the payment is still processing"}, nil
	case evAsyncSucceeded:
		return markPaid(ctx, tx, o, sub.pi, at)
	}
	// Expiry and failure concern one session: if the order has moved on to another, the old
	// one's end says nothing about it.
	if o.StripeCheckoutSessionID != nil && *o.StripeCheckoutSessionID != s.ID {
		return &Outcome{Order: o, Ignored: "the order's current Checkout Session is another one"}, nil
	}
	end := models.ExpireOrder
	if typ == evAsyncFailed {
		end = models.FailOrder
	}
	fresh, changed, err := end(ctx, tx, o.ID, at)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Order: fresh}
	if !changed {
		out.Ignored = "order is no longer pending"
	}
	return out, nil
}

// markPaid records a card payment. A payment for an order already paid is not an error: it is
// a late delivery under another event ID, or (with another payment intent) a second payment
// an admin must refund, which Ignored says.
func markPaid(ctx context.Context, tx *gorm.DB, o *models.Order, pi string, at time.Time) (*Outcome, error) {
	res, err := models.MarkOrderPaid(ctx, tx, o.ID, models.Payment{Method: models.PayCard, StripePaymentIntentID: pi, At: at})
	if errors.Is(err, models.ErrOrderAlreadyPaid) {
		out := &Outcome{Order: res.Order, Ignored: "order already paid"}
		if pi != "" && (res.Order.StripePaymentIntentID == nil || *res.Order.StripePaymentIntentID != pi) {
			out.Ignored = "order already paid otherwise; payment " + pi + " needs a refund"
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out := &Outcome{Order: res.Order, NewlyPaid: res.NewlyPaid}
	if !res.NewlyPaid {
		out.Ignored = "payment recorded on an order refunded before it"
	}
	return out, nil
}

// applyRefund records the refunded total Stripe reports for the charge's payment intent.
func applyRefund(ctx context.Context, tx *gorm.DB, sub subject, o *models.Order, at time.Time) (*Outcome, error) {
	total := int(sub.charge.AmountRefunded)
	if sub.charge.Refunded && o != nil && total < o.Amount {
		total = o.Amount // refunded in full: all of what was charged, discounts included
	}
	fresh, _, err := models.ApplyStripeRefund(ctx, tx, sub.pi, total, at)
	if err != nil {
		return nil, err
	}
	if fresh == nil {
		return &Outcome{Order: o, Ignored: "refund kept until the payment is recorded"}, nil
	}
	return &Outcome{Order: fresh}, nil
}
