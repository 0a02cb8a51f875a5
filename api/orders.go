package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// orderRoutes registers the signed-in buyer's own orders.
func (s *Server) orderRoutes(g *echo.Group) {
	g.GET("/orders", s.listMyOrders)
	g.GET("/orders/:id", s.getMyOrder)
	g.GET("/orders/:id/invoice", s.getMyInvoice)
}

// orderSummary is the short form of an order inside an enrollment or a seat purchase.
// CheckoutURL is only in the answer that created the Checkout Session.
type orderSummary struct {
	ID             uuid.UUID `json:"id"`
	Status         string    `json:"status"`
	Amount         int       `json:"amount"`
	AmountRefunded int       `json:"amount_refunded"`
	Currency       string    `json:"currency"`
	PaymentMethod  *string   `json:"payment_method"`
	CheckoutURL    string    `json:"checkout_url,omitempty"`
}

func newOrderSummary(o *models.Order, checkoutURL string) *orderSummary {
	return &orderSummary{ID: o.ID, Status: o.Status, Amount: o.Amount, AmountRefunded: o.AmountRefunded,
		Currency: o.Currency, PaymentMethod: o.PaymentMethod, CheckoutURL: checkoutURL}
}

// orderResponse is an order as its buyer and platform admins see it.
type orderResponse struct {
	ID                      uuid.UUID  `json:"id"`
	Kind                    string     `json:"kind"`
	BuyerID                 uuid.UUID  `json:"buyer_id"`
	OrgID                   *uuid.UUID `json:"org_id"`
	Course                  string     `json:"course"`
	Offering                string     `json:"offering"`
	Quantity                int        `json:"quantity"`
	UnitAmount              int        `json:"unit_amount"`
	Amount                  int        `json:"amount"`
	AmountRefunded          int        `json:"amount_refunded"`
	Currency                string     `json:"currency"`
	Status                  string     `json:"status"`
	PaymentMethod           *string    `json:"payment_method"`
	PaymentReference        *string    `json:"payment_reference"`
	PONumber                *string    `json:"po_number"`
	InvoiceNumber           *string    `json:"invoice_number"`
	InvoiceDueDate          *string    `json:"invoice_due_date"`
	StripeCheckoutSessionID *string    `json:"stripe_checkout_session_id"`
	StripePaymentIntentID   *string    `json:"stripe_payment_intent_id"`
	ReleasedAt              *time.Time `json:"released_at"`
	PaidAt                  *time.Time `json:"paid_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func newOrderResponse(o *models.Order) orderResponse {
	r := orderResponse{
		ID: o.ID, Kind: o.Kind, BuyerID: o.BuyerID, OrgID: o.OrgID, Course: o.CourseCode, Offering: o.Offering,
		Quantity: o.Quantity, UnitAmount: o.UnitAmount, Amount: o.Amount, AmountRefunded: o.AmountRefunded,
		Currency: o.Currency, Status: o.Status, PaymentMethod: o.PaymentMethod, PaymentReference: o.PaymentReference,
		PONumber: o.PONumber, InvoiceNumber: o.InvoiceNumber, StripeCheckoutSessionID: o.StripeCheckoutSessionID,
		StripePaymentIntentID: o.StripePaymentIntentID, ReleasedAt: utcPtr(o.ReleasedAt), PaidAt: utcPtr(o.PaidAt),
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
	}
	if o.InvoiceDueDate != nil {
		d := o.InvoiceDueDate.Format(time.DateOnly)
		r.InvoiceDueDate = &d
	}
	return r
}

// listMyOrders handles GET /v1/orders: the signed-in user's orders as buyer, newest first.
func (s *Server) listMyOrders(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListOrders(ctx(c), s.db.Gorm, models.OrderFilter{BuyerID: &u.ID, Page: page})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(o models.Order) orderResponse { return newOrderResponse(&o) }))
}

// getMyOrder handles GET /v1/orders/{id}: one of the caller's orders.
func (s *Server) getMyOrder(c echo.Context) error {
	o, err := s.findBuyerOrder(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrderResponse(o))
}

// getMyInvoice handles GET /v1/orders/{id}/invoice: the invoice PDF of one of the caller's
// orders (accepted on a purchase order).
func (s *Server) getMyInvoice(c echo.Context) error {
	o, err := s.findBuyerOrder(c)
	if err != nil {
		return err
	}
	return s.sendInvoice(c, o.ID)
}

// findBuyerOrder returns the order of :id if the caller bought it. Anyone else, platform
// admins included (they have /v1/admin/orders), gets the same 404 as for no order.
func (s *Server) findBuyerOrder(c echo.Context) (*models.Order, error) {
	u, err := requireUser(c)
	if err != nil {
		return nil, err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	o, err := models.FindOrder(ctx(c), s.db.Gorm, id)
	if err != nil {
		return nil, err
	}
	if o.BuyerID != u.ID {
		return nil, models.ErrNotFound
	}
	return o, nil
}
