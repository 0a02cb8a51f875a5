package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Payment says how an order was paid.
type Payment struct {
	Method                string // PayCard or PayOffline
	Reference             string // e.g. a check or PO payment reference
	StripePaymentIntentID string
	At                    time.Time
}

// PaymentOutcome says what a state change did, so the caller can follow up (a receipt).
type PaymentOutcome struct {
	Order     *Order
	NewlyPaid bool // the order became paid by this call
	Released  bool // its enrollment or seats were released by this call
}

// Reasons an enrollment ended without being completed.
const (
	endCheckoutExpired = "checkout expired unpaid"
	endPaymentFailed   = "payment failed"
	endRefunded        = "refunded"
)

// MarkOrderPaid records a payment on the order and releases its enrollment or seats if that
// has not happened yet. The order row is locked, so concurrent calls apply once. It returns
// ErrOrderAlreadyPaid if the order was paid before. An order refunded before its payment was
// recorded (Stripe events out of order) records the payment and releases nothing. A payment
// intent with a stored refund state gets that refund applied at once.
func MarkOrderPaid(ctx context.Context, tx *gorm.DB, id uuid.UUID, p Payment) (*PaymentOutcome, error) {
	if err := LockPaymentIntent(ctx, tx, p.StripePaymentIntentID); err != nil {
		return nil, err
	}
	o, err := LockOrder(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	out := &PaymentOutcome{Order: o}
	cols := map[string]any{"updated_at": p.At}
	if o.PaidAt == nil {
		cols["paid_at"] = p.At
	}
	if p.StripePaymentIntentID != "" && o.StripePaymentIntentID == nil {
		cols["stripe_payment_intent_id"] = p.StripePaymentIntentID
	}
	if p.Reference != "" {
		cols["payment_reference"] = p.Reference
	}
	switch o.Status {
	case OrderPaid:
		return out, ErrOrderAlreadyPaid
	case OrderRefunded:
		return out, updateOrder(ctx, tx, o, cols)
	case OrderPending, OrderExpired, OrderFailed:
		if refunded, err := storedRefund(ctx, tx, p.StripePaymentIntentID); err != nil {
			return nil, err
		} else if refunded >= o.Amount && o.Amount > 0 {
			// Refunded in full before the payment reached us: record both, release nothing.
			cols["status"], cols["payment_method"], cols["amount_refunded"] = OrderRefunded, p.Method, o.Amount
			if err := updateOrder(ctx, tx, o, cols); err != nil {
				return nil, err
			}
			return out, endEnrollmentOfOrder(ctx, tx, o.ID, EnrollmentCancelled, endRefunded, p.At)
		}
		cols["payment_method"] = p.Method
	case OrderOnCredit:
		// A purchase order being settled: released already, method stays purchase_order.
	}
	cols["status"] = OrderPaid
	if err := updateOrder(ctx, tx, o, cols); err != nil {
		return nil, err
	}
	out.NewlyPaid = true
	if out.Released, err = release(ctx, tx, o, p.At); err != nil {
		return nil, err
	}
	if pi := p.StripePaymentIntentID; pi != "" {
		if err := applyStoredRefund(ctx, tx, o, pi, p.At); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LockPaymentIntent serializes, until the transaction ends, everything done about one Stripe
// payment intent. Without it a payment and a refund report for an intent not yet linked to
// its order could each miss the other. Taking it twice in one transaction is fine.
func LockPaymentIntent(ctx context.Context, tx *gorm.DB, pi string) error {
	if pi == "" {
		return nil
	}
	err := tx.WithContext(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "stripe-payment-intent:"+pi).Error
	return translate(err)
}

// AcceptPurchaseOrder releases a pending order's enrollment or seats on credit and gives it
// an invoice number and due date. It returns ErrOrderNotPending unless the order is pending.
func AcceptPurchaseOrder(ctx context.Context, tx *gorm.DB, id uuid.UUID, poNumber string, due, now time.Time) (*PaymentOutcome, error) {
	o, err := LockOrder(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if o.Status != OrderPending {
		return &PaymentOutcome{Order: o}, ErrOrderNotPending
	}
	var seq int64
	if err := tx.WithContext(ctx).Raw(`SELECT nextval('invoice_number_seq')`).Scan(&seq).Error; err != nil {
		return nil, translate(err)
	}
	err = updateOrder(ctx, tx, o, map[string]any{
		"status": OrderOnCredit, "payment_method": PayPurchaseOrder, "po_number": poNumber,
		"invoice_number": fmt.Sprintf("INV-%d-%06d", now.Year(), seq), "invoice_due_date": due, "updated_at": now,
	})
	if err != nil {
		return nil, err
	}
	released, err := release(ctx, tx, o, now)
	if err != nil {
		return nil, err
	}
	return &PaymentOutcome{Order: o, Released: released}, nil
}

// ExpireOrder marks a pending order expired (its checkout lapsed unpaid) and cancels its
// pending enrollment. An order in any other state is left alone; changed says which.
func ExpireOrder(ctx context.Context, tx *gorm.DB, id uuid.UUID, now time.Time) (o *Order, changed bool, err error) {
	return closeUnpaid(ctx, tx, id, OrderExpired, endCheckoutExpired, now)
}

// FailOrder marks a pending order failed (an asynchronous payment failed) and cancels its
// pending enrollment. An order in any other state is left alone.
func FailOrder(ctx context.Context, tx *gorm.DB, id uuid.UUID, now time.Time) (o *Order, changed bool, err error) {
	return closeUnpaid(ctx, tx, id, OrderFailed, endPaymentFailed, now)
}

func closeUnpaid(ctx context.Context, tx *gorm.DB, id uuid.UUID, status, reason string, now time.Time) (*Order, bool, error) {
	o, err := LockOrder(ctx, tx, id)
	if err != nil {
		return nil, false, err
	}
	if o.Status != OrderPending {
		return o, false, nil
	}
	if err := updateOrder(ctx, tx, o, map[string]any{"status": status, "updated_at": now}); err != nil {
		return nil, false, err
	}
	return o, true, endEnrollmentOfOrder(ctx, tx, o.ID, EnrollmentCancelled, reason, now)
}

// RecordRefund raises the order's refunded total to total (totals only grow, so the same or an
// older report changes nothing). Reaching the full amount marks the order refunded and
// cancels its enrollment unless that was completed: a refund never touches a credential.
// Seats are not returned here; see ReturnSeats. The order must be locked by the caller.
func RecordRefund(ctx context.Context, tx *gorm.DB, o *Order, total int, now time.Time) (fullNow bool, err error) {
	if total <= o.AmountRefunded {
		return false, nil
	}
	if total > o.Amount {
		return false, ErrRefundTooLarge
	}
	cols := map[string]any{"amount_refunded": total, "updated_at": now}
	full := total == o.Amount && o.Status != OrderRefunded
	if full {
		cols["status"] = OrderRefunded
	}
	if err := updateOrder(ctx, tx, o, cols); err != nil {
		return false, err
	}
	if full && o.Kind == OrderEnrollment {
		return true, endEnrollmentOfOrder(ctx, tx, o.ID, EnrollmentCancelled, endRefunded, now)
	}
	return full, nil
}

// ApplyStripeRefund records the cumulative refunded amount Stripe reported for a payment
// intent. The report is kept, so one that arrives before the payment is applied when the
// payment is recorded. It returns the order it applied to (nil if none is known yet) and
// whether the order became fully refunded.
func ApplyStripeRefund(ctx context.Context, tx *gorm.DB, pi string, total int, now time.Time) (*Order, bool, error) {
	if err := LockPaymentIntent(ctx, tx, pi); err != nil {
		return nil, false, err
	}
	err := tx.WithContext(ctx).Exec(`INSERT INTO stripe_refund_states (payment_intent_id, amount_refunded, updated_at)
		VALUES (?, ?, ?) ON CONFLICT (payment_intent_id) DO UPDATE
		SET amount_refunded = GREATEST(stripe_refund_states.amount_refunded, EXCLUDED.amount_refunded), updated_at = EXCLUDED.updated_at`,
		pi, total, now).Error
	if err != nil {
		return nil, false, translate(err)
	}
	found, err := FindOrderByPaymentIntent(ctx, tx, pi)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	o, err := LockOrder(ctx, tx, found.ID)
	if err != nil {
		return nil, false, err
	}
	full, err := applyRefundState(ctx, tx, o, pi, now)
	return o, full, err
}

func applyStoredRefund(ctx context.Context, tx *gorm.DB, o *Order, pi string, now time.Time) error {
	_, err := applyRefundState(ctx, tx, o, pi, now)
	return err
}

func applyRefundState(ctx context.Context, tx *gorm.DB, o *Order, pi string, now time.Time) (bool, error) {
	total, err := storedRefund(ctx, tx, pi)
	if err != nil || total == 0 {
		return false, err
	}
	return RecordRefund(ctx, tx, o, min(total, o.Amount), now)
}

// storedRefund returns the refunded total Stripe reported for a payment intent, or 0.
func storedRefund(ctx context.Context, tx *gorm.DB, pi string) (int, error) {
	if pi == "" {
		return 0, nil
	}
	var total *int
	err := tx.WithContext(ctx).Raw(`SELECT amount_refunded FROM stripe_refund_states WHERE payment_intent_id = ?`, pi).Scan(&total).Error
	if err != nil || total == nil {
		return 0, translate(err)
	}
	return *total, nil
}

// release hands out what the order pays for, once: it activates the enrollment (its lifetime
// starts now) or grows the org's seat pool by the order's quantity. It reports whether it
// released anything now.
func release(ctx context.Context, tx *gorm.DB, o *Order, now time.Time) (bool, error) {
	if o.Released() {
		return false, nil
	}
	var err error
	switch o.Kind {
	case OrderEnrollment:
		err = activateEnrollment(ctx, tx, o, now)
	case OrderSeats:
		err = addSeats(ctx, tx, *o.OrgID, o.CourseCode, o.Offering, o.Quantity, now)
	}
	if err != nil {
		return false, err
	}
	return true, updateOrder(ctx, tx, o, map[string]any{"released_at": now})
}

func activateEnrollment(ctx context.Context, tx *gorm.DB, o *Order, now time.Time) error {
	course, err := FindCourse(ctx, tx, o.CourseCode)
	if err != nil {
		return err
	}
	expires := now.AddDate(0, course.EnrollmentLifetimeMonths, 0)
	// An enrollment cancelled because its checkout expired or failed comes back when the
	// payment is confirmed after all, unless the provider opened another one meanwhile.
	err = tx.Transaction(func(sp *gorm.DB) error {
		return sp.WithContext(ctx).Exec(`UPDATE enrollments
			SET status = 'active', activated_at = ?, expires_at = ?, ended_at = NULL, end_reason = NULL, updated_at = ?
			WHERE order_id = ? AND (status = 'pending_payment' OR (status = 'cancelled' AND end_reason IN (?, ?)))`,
			now, expires, now, o.ID, endCheckoutExpired, endPaymentFailed).Error
	})
	if uniqueViolation(err, "enrollments_one_open_idx") {
		return nil // paid, but the provider holds another open enrollment: an admin refunds it
	}
	return translate(err)
}

// updateOrder writes cols to the order and mirrors them into o.
func updateOrder(ctx context.Context, tx *gorm.DB, o *Order, cols map[string]any) error {
	if err := tx.WithContext(ctx).Model(&Order{}).Where("id = ?", o.ID).Updates(cols).Error; err != nil {
		return translate(err)
	}
	fresh, err := FindOrder(ctx, tx, o.ID)
	if err != nil {
		return err
	}
	*o = *fresh
	return nil
}
