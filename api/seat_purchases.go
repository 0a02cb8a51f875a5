package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// seatPurchaseRoutes registers an org's seat purchases and seat pools (org admins).
func (s *Server) seatPurchaseRoutes(g *echo.Group) {
	g.POST("/orgs/:orgID/seat-purchases", s.createSeatPurchase, s.idempotent)
	g.GET("/orgs/:orgID/seat-purchases", s.listSeatPurchases)
	g.GET("/orgs/:orgID/seats", s.listSeatPools)
}

// Ways an org pays for seats.
const (
	seatPaymentCard          = "card"
	seatPaymentPurchaseOrder = "purchase_order"
	maxSeatsPerPurchase      = 10000
)

// seatPurchaseResponse is one seat purchase: its ID is its order's.
type seatPurchaseResponse struct {
	ID        uuid.UUID     `json:"id"`
	OrgID     uuid.UUID     `json:"org_id"`
	Course    string        `json:"course"`
	Offering  string        `json:"offering"`
	Quantity  int           `json:"quantity"`
	CreatedAt time.Time     `json:"created_at"`
	Order     *orderSummary `json:"order"`
}

func newSeatPurchaseResponse(o *models.Order, checkoutURL string) seatPurchaseResponse {
	return seatPurchaseResponse{ID: o.ID, OrgID: *o.OrgID, Course: o.CourseCode, Offering: o.Offering,
		Quantity: o.Quantity, CreatedAt: o.CreatedAt.UTC(), Order: newOrderSummary(o, checkoutURL)}
}

// seatPoolResponse is the org's seats of one course offering.
type seatPoolResponse struct {
	Course    string `json:"course"`
	Offering  string `json:"offering"`
	Total     int    `json:"total"`
	Used      int    `json:"used"`
	Available int    `json:"available"`
}

// seatPurchaseInput is the body of POST /v1/orgs/{orgID}/seat-purchases.
type seatPurchaseInput struct {
	Course   *string `json:"course"`
	Offering *string `json:"offering"`
	Quantity *int    `json:"quantity"`
	Payment  *string `json:"payment"` // card (default) or purchase_order
}

// validate checks the fields that need no catalog and returns the payment way.
func (in seatPurchaseInput) validate(ve *models.ValidationError) string {
	switch {
	case in.Quantity == nil:
		ve.Add("quantity", "is required")
	case *in.Quantity < 1 || *in.Quantity > maxSeatsPerPurchase:
		ve.Add("quantity", "must be 1 to 10000")
	}
	if in.Payment == nil {
		return seatPaymentCard
	}
	if *in.Payment != seatPaymentCard && *in.Payment != seatPaymentPurchaseOrder {
		ve.Add("payment", "must be card or purchase_order")
	}
	return *in.Payment
}

// createSeatPurchase handles POST /v1/orgs/{orgID}/seat-purchases: an org admin buys seats,
// by card through Checkout, or on a purchase order a platform admin then accepts.
func (s *Server) createSeatPurchase(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	var in seatPurchaseInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	ve := &models.ValidationError{}
	payment := in.validate(ve)
	course, off, err := s.offeringFor(c, ve, in.Course, in.Offering)
	if err != nil {
		return err
	}
	if payment == seatPaymentCard && !s.billing.Enabled() {
		p := problem(http.StatusUnprocessableEntity, "card-payments-unavailable",
			"card payments are not configured; buy the seats with payment purchase_order")
		p.Title = "Card payments unavailable"
		return p
	}
	now := s.now().Truncate(time.Microsecond) // as stored, so GET answers the same
	o := newOrder(models.OrderSeats, sc.user().ID, &sc.Org.ID, off, *in.Quantity, now)
	var checkoutURL string
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.CreateOrder(ctx(c), tx.DB, o); err != nil {
			return err
		}
		if payment == seatPaymentCard {
			if checkoutURL, err = s.startCheckout(ctx(c), tx, o, course, sc.user().Email); err != nil {
				return err
			}
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "seat_purchase.create", ObjectType: "order",
			ObjectID: o.ID.String(), After: newOrderResponse(o)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newSeatPurchaseResponse(o, checkoutURL))
}

// listSeatPurchases handles GET /v1/orgs/{orgID}/seat-purchases: the org's seat purchases,
// newest first (admin).
func (s *Server) listSeatPurchases(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListOrders(ctx(c), s.db.Gorm, models.OrderFilter{OrgID: &sc.Org.ID, Kind: models.OrderSeats, Page: page})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(o models.Order) seatPurchaseResponse {
		return newSeatPurchaseResponse(&o, "")
	}))
}

// listSeatPools handles GET /v1/orgs/{orgID}/seats: the org's seats per course offering
// (admin). An org has a handful of pools, so the list is not paged.
func (s *Server) listSeatPools(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	pools, err := models.ListSeatPools(ctx(c), s.db.Gorm, sc.Org.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(pools, nil, func(p models.SeatPool) seatPoolResponse {
		return seatPoolResponse{Course: p.CourseCode, Offering: p.Offering, Total: p.Total, Used: p.Used, Available: p.Available()}
	}))
}
