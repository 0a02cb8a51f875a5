package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Order kinds, statuses and payment methods.
const (
	OrderEnrollment = "enrollment"
	OrderSeats      = "seats"

	OrderPending  = "pending"
	OrderPaid     = "paid"
	OrderOnCredit = "on_credit"
	OrderExpired  = "expired"
	OrderFailed   = "failed"
	OrderRefunded = "refunded"

	PayCard          = "card"
	PayOffline       = "offline"
	PayPurchaseOrder = "purchase_order"
)

// Order is what someone is asked to pay: one enrollment, or Quantity seats for an org.
// Amount is fixed when the order is made.
type Order struct {
	ID                      uuid.UUID
	Kind                    string
	BuyerID                 uuid.UUID
	OrgID                   *uuid.UUID
	CourseCode              string
	Offering                string
	Quantity                int
	UnitAmount              int
	Amount                  int
	Currency                string
	Status                  string
	PaymentMethod           *string
	AmountRefunded          int
	ReleasedAt              *time.Time
	PaidAt                  *time.Time
	PaymentReference        *string
	PONumber                *string `gorm:"column:po_number"`
	InvoiceNumber           *string
	InvoiceDueDate          *time.Time `gorm:"type:date"`
	InvoicePDF              []byte     `gorm:"column:invoice_pdf"`
	StripeCheckoutSessionID *string
	StripePaymentIntentID   *string
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// Released reports whether the order's enrollment or seats were handed out.
func (o *Order) Released() bool { return o.ReleasedAt != nil }

// Errors of orders.
var (
	ErrOrderAlreadyPaid   = NewError("order-already-paid", ErrConflict, "this order is already paid")
	ErrOrderNotPayable    = NewError("order-not-payable", ErrConflict, "this order can no longer be paid")
	ErrOrderNotPending    = NewError("order-not-pending", ErrConflict, "only an order waiting for payment can be accepted on a purchase order")
	ErrRefundTooLarge     = NewError("refund-too-large", ErrInvalid, "the refund is larger than what was paid and not yet refunded")
	ErrOrderNotRefundable = NewError("order-not-refundable", ErrConflict, "only a paid order can be refunded")
)

// CreateOrder inserts o, assigning its ID.
func CreateOrder(ctx context.Context, db *gorm.DB, o *Order) error {
	if o.ID == uuid.Nil {
		o.ID = uuid.New()
	}
	if o.Status == "" {
		o.Status = OrderPending
	}
	return translate(db.WithContext(ctx).Omit("InvoicePDF").Create(o).Error)
}

// FindOrder returns the order, or ErrNotFound. The invoice PDF is not loaded.
func FindOrder(ctx context.Context, db *gorm.DB, id uuid.UUID) (*Order, error) {
	var o Order
	if err := db.WithContext(ctx).Omit("invoice_pdf").First(&o, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &o, nil
}

// LockOrder returns the order locked FOR UPDATE (inside a transaction), or ErrNotFound.
func LockOrder(ctx context.Context, db *gorm.DB, id uuid.UUID) (*Order, error) {
	var o Order
	err := db.WithContext(ctx).Raw(`SELECT * FROM orders WHERE id = ? FOR UPDATE`, id).Scan(&o).Error
	if err != nil {
		return nil, translate(err)
	}
	if o.ID == uuid.Nil {
		return nil, ErrNotFound
	}
	return &o, nil
}

// FindOrderByPaymentIntent returns the order paid with a Stripe payment intent, or ErrNotFound.
func FindOrderByPaymentIntent(ctx context.Context, db *gorm.DB, pi string) (*Order, error) {
	var o Order
	if err := db.WithContext(ctx).Omit("invoice_pdf").First(&o, "stripe_payment_intent_id = ?", pi).Error; err != nil {
		return nil, translate(err)
	}
	return &o, nil
}

// SetCheckoutSession records the Stripe Checkout Session made for the order.
func SetCheckoutSession(ctx context.Context, db *gorm.DB, id uuid.UUID, sessionID string) error {
	return translate(db.WithContext(ctx).Model(&Order{}).Where("id = ?", id).
		Updates(map[string]any{"stripe_checkout_session_id": sessionID, "updated_at": gorm.Expr("now()")}).Error)
}

// OrderFilter narrows ListOrders; zero fields do not filter.
type OrderFilter struct {
	Status     string
	Kind       string
	CourseCode string
	BuyerID    *uuid.UUID
	OrgID      *uuid.UUID
	Page       Page
}

// ListOrders returns orders newest first, and the cursor of the next page.
func ListOrders(ctx context.Context, db *gorm.DB, f OrderFilter) ([]Order, *Cursor, error) {
	q := db.WithContext(ctx).Model(&Order{}).Omit("invoice_pdf")
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.CourseCode != "" {
		q = q.Where("course_code = ?", f.CourseCode)
	}
	if f.BuyerID != nil {
		q = q.Where("buyer_id = ?", *f.BuyerID)
	}
	if f.OrgID != nil {
		q = q.Where("org_id = ?", *f.OrgID)
	}
	if f.Page.Limit == 0 {
		f.Page.Limit = 50
	}
	var rows []Order
	if err := f.Page.apply(q, "orders").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(o Order) Cursor { return Cursor{Time: o.CreatedAt, ID: o.ID.String()} })
	return rows, next, nil
}

// FindOrdersByID returns the orders with the given IDs, keyed by ID; missing ones are absent.
// The invoice PDFs are not loaded.
func FindOrdersByID(ctx context.Context, db *gorm.DB, ids []uuid.UUID) (map[uuid.UUID]Order, error) {
	out := make(map[uuid.UUID]Order, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Order
	if err := db.WithContext(ctx).Omit("invoice_pdf").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, translate(err)
	}
	for _, o := range rows {
		out[o.ID] = o
	}
	return out, nil
}

// SetInvoicePDF stores the invoice document of the order.
func SetInvoicePDF(ctx context.Context, db *gorm.DB, id uuid.UUID, pdf []byte) error {
	return translate(db.WithContext(ctx).Model(&Order{}).Where("id = ?", id).
		Updates(map[string]any{"invoice_pdf": pdf, "updated_at": gorm.Expr("now()")}).Error)
}

// FindInvoicePDF returns the order's invoice number and document. It returns ErrNotFound if
// the order does not exist or has no invoice.
func FindInvoicePDF(ctx context.Context, db *gorm.DB, id uuid.UUID) (number string, pdf []byte, err error) {
	var row struct {
		InvoiceNumber *string
		InvoicePDF    []byte `gorm:"column:invoice_pdf"`
	}
	err = db.WithContext(ctx).Model(&Order{}).Select("invoice_number, invoice_pdf").Where("id = ?", id).Take(&row).Error
	if err != nil {
		return "", nil, translate(err)
	}
	if row.InvoiceNumber == nil || len(row.InvoicePDF) == 0 {
		return "", nil, ErrNotFound
	}
	return *row.InvoiceNumber, row.InvoicePDF, nil
}
