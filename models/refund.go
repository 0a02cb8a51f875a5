package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Refund methods: through Stripe, or recorded for money returned outside the service.
const (
	RefundCard    = "card"
	RefundOffline = "offline"
)

// Refund is money an admin returned on an order. Seats is the number of seats it returned to
// the program (seat orders only).
type Refund struct {
	ID             uuid.UUID
	OrderID        uuid.UUID
	Amount         int
	Seats          int
	Method         string
	StripeRefundID *string
	Reason         string
	CreatedBy      *uuid.UUID
	CreatedAt      time.Time
}

// CreateRefund inserts r, assigning an ID if it has none. Write it in the transaction that
// records the refund on its order (RecordRefund), so the two commit together.
func CreateRefund(ctx context.Context, db *gorm.DB, r *Refund) error {
	if r.ID == uuid.Nil {
		r.ID = uuid.New()
	}
	return translate(db.WithContext(ctx).Create(r).Error)
}

// ListRefunds returns the order's refunds, oldest first (an order has a handful at most).
func ListRefunds(ctx context.Context, db *gorm.DB, orderID uuid.UUID) ([]Refund, error) {
	var rows []Refund
	err := db.WithContext(ctx).Where("order_id = ?", orderID).Order("created_at, id").Find(&rows).Error
	return rows, translate(err)
}
