package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/billing"
	"github.com/aalscert/aalscert/models"
)

// enrollmentRoutes registers enrollments, and with them everything that is bought: org seat
// purchases, the buyer's orders and the platform admin's order desk.
func (s *Server) enrollmentRoutes(g *echo.Group) {
	g.POST("/enrollments", s.createEnrollment, s.idempotent)
	g.GET("/enrollments", s.listEnrollments)
	g.GET("/enrollments/:id", s.getEnrollment)
	s.seatPurchaseRoutes(g)
	s.orderRoutes(g)
	s.adminOrderRoutes(g)
}

// enrollmentResponse is an enrollment as its owner sees it, with the order that pays for it
// (null when an org seat paid).
type enrollmentResponse struct {
	ID          uuid.UUID     `json:"id"`
	Status      string        `json:"status"`
	Course      string        `json:"course"`
	Offering    string        `json:"offering"`
	OrgID       *uuid.UUID    `json:"org_id"`
	ActivatedAt *time.Time    `json:"activated_at"`
	ExpiresAt   *time.Time    `json:"expires_at"`
	CompletedAt *time.Time    `json:"completed_at"`
	EndedAt     *time.Time    `json:"ended_at"`
	EndReason   *string       `json:"end_reason"`
	CreatedAt   time.Time     `json:"created_at"`
	Order       *orderSummary `json:"order"`
}

func newEnrollmentResponse(e *models.Enrollment, o *models.Order, checkoutURL string) enrollmentResponse {
	r := enrollmentResponse{
		ID: e.ID, Status: e.Status, Course: e.CourseCode, Offering: e.Offering, OrgID: e.OrgID,
		ActivatedAt: utcPtr(e.ActivatedAt), ExpiresAt: utcPtr(e.ExpiresAt), CompletedAt: utcPtr(e.CompletedAt),
		EndedAt: utcPtr(e.EndedAt), EndReason: e.EndReason, CreatedAt: e.CreatedAt.UTC(),
	}
	if o != nil {
		r.Order = newOrderSummary(o, checkoutURL)
	}
	return r
}

// enrollmentInput is the body of POST /v1/enrollments.
type enrollmentInput struct {
	Course   *string `json:"course"`
	Offering *string `json:"offering"`
}

// createEnrollment handles POST /v1/enrollments: a provider enrolls in an offering and gets
// an order at today's price, with a Checkout URL when card payments are configured, or
// waiting for an offline payment otherwise.
func (s *Server) createEnrollment(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	var in enrollmentInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	ve := &models.ValidationError{}
	course, off, err := s.offeringFor(c, ve, in.Course, in.Offering)
	if err != nil {
		return err
	}
	e, o, checkoutURL, err := s.enroll(c, u, course, off)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newEnrollmentResponse(e, o, checkoutURL))
}

// enroll enrolls u in the offering with an order at today's price, after the renewal
// eligibility rules for a renewal, and starts Checkout when card payments are configured
// (checkoutURL is "" otherwise). The renewal page (renew_page.go) enrolls through it too. It
// returns ErrEnrollmentOpen if u already has an open enrollment in the course.
func (s *Server) enroll(c echo.Context, u *models.User, course *models.Course, off *models.Offering) (e *models.Enrollment, o *models.Order, checkoutURL string, err error) {
	now := s.now().Truncate(time.Microsecond) // as stored, so GET answers the same
	if off.Kind == models.OfferingRenewal {
		if err := models.CheckRenewalEligibility(ctx(c), s.db.Gorm, u.ID, course, s.today()); err != nil {
			return nil, nil, "", err
		}
	}
	e = &models.Enrollment{UserID: u.ID, CourseCode: course.Code, Offering: off.Kind, CreatedAt: now, UpdatedAt: now}
	o = newOrder(models.OrderEnrollment, u.ID, nil, off, 1, now)
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.CreateEnrollment(ctx(c), tx.DB, e, o); err != nil {
			return err
		}
		if err := models.LockHolderName(ctx(c), tx.DB, u.ID, now); err != nil {
			return err
		}
		checkoutURL, err = s.startCheckout(ctx(c), tx, o, course, u.Email)
		return err
	})
	if err != nil {
		return nil, nil, "", err
	}
	return e, o, checkoutURL, nil
}

// listEnrollments handles GET /v1/enrollments: the caller's enrollments, newest first.
func (s *Server) listEnrollments(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListEnrollments(ctx(c), s.db.Gorm, models.EnrollmentFilter{UserID: u.ID, Page: page})
	if err != nil {
		return err
	}
	var ids []uuid.UUID
	for _, e := range rows {
		if e.OrderID != nil {
			ids = append(ids, *e.OrderID)
		}
	}
	orders, err := models.FindOrdersByID(ctx(c), s.db.Gorm, ids)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(e models.Enrollment) enrollmentResponse {
		return newEnrollmentResponse(&e, orderOf(e, orders), "")
	}))
}

// getEnrollment handles GET /v1/enrollments/{id}: one of the caller's enrollments. Anyone
// else's is not found.
func (s *Server) getEnrollment(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	e, err := models.FindEnrollment(ctx(c), s.db.Gorm, id)
	if err != nil {
		return err
	}
	if e.UserID != u.ID {
		return models.ErrNotFound
	}
	var o *models.Order
	if e.OrderID != nil {
		if o, err = models.FindOrder(ctx(c), s.db.Gorm, *e.OrderID); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, newEnrollmentResponse(e, o, ""))
}

func orderOf(e models.Enrollment, orders map[uuid.UUID]models.Order) *models.Order {
	if e.OrderID == nil {
		return nil
	}
	if o, ok := orders[*e.OrderID]; ok {
		return &o
	}
	return nil
}

var offeringKinds = []string{models.OfferingInitial, models.OfferingRenewal}

// offeringFor checks the course and offering fields of a purchase and returns them from the
// catalog. Field errors are added to ve, and returned together with any ve already holds;
// an offering no longer for sale is ErrOfferingUnavailable.
func (s *Server) offeringFor(c echo.Context, ve *models.ValidationError, course, offering *string) (*models.Course, *models.Offering, error) {
	code, kind := "", ""
	switch {
	case course == nil || strings.TrimSpace(*course) == "":
		ve.Add("course", "is required")
	default:
		code = strings.ToUpper(strings.TrimSpace(*course))
	}
	switch {
	case offering == nil:
		ve.Add("offering", "is required")
	case !slices.Contains(offeringKinds, *offering):
		ve.Add("offering", "must be initial or renewal")
	default:
		kind = *offering
	}
	var found *models.Course
	if code != "" {
		var err error
		found, err = models.FindCourse(ctx(c), s.db.Gorm, code)
		if models.IsNotFound(err) {
			ve.Add("course", "no such course")
		} else if err != nil {
			return nil, nil, err
		}
	}
	if err := ve.Err(); err != nil {
		return nil, nil, err
	}
	for i := range found.Offerings {
		if off := &found.Offerings[i]; off.Kind == kind {
			if !off.Active {
				return nil, nil, models.ErrOfferingUnavailable
			}
			return found, off, nil
		}
	}
	return nil, nil, models.Invalid("offering", "this course has no "+kind+" offering")
}

// newOrder is an order for quantity units of off at its price now; a later price change
// never alters it.
func newOrder(kind string, buyer uuid.UUID, org *uuid.UUID, off *models.Offering, quantity int, now time.Time) *models.Order {
	return &models.Order{
		Kind: kind, BuyerID: buyer, OrgID: org, CourseCode: off.CourseCode, Offering: off.Kind,
		Quantity: quantity, UnitAmount: off.PriceCents, Amount: off.PriceCents * quantity, Currency: off.Currency,
		Status: models.OrderPending, CreatedAt: now, UpdatedAt: now,
	}
}

// startCheckout opens a Stripe Checkout Session for the order when card payments are
// configured, records it on the order in tx, and returns its URL ("" without Stripe). A
// Stripe failure is returned, so the caller's transaction rolls back.
func (s *Server) startCheckout(ctx context.Context, tx models.Tx, o *models.Order, course *models.Course, email string) (string, error) {
	if !s.billing.Enabled() {
		return "", nil
	}
	id, url, err := s.billing.CreateCheckoutSession(ctx, billing.CheckoutRequest{
		OrderID: o.ID, Email: email, Name: checkoutName(course, o),
		UnitAmount: int64(o.UnitAmount), Currency: o.Currency, Quantity: int64(o.Quantity),
	})
	if err != nil {
		return "", paymentProviderError(err)
	}
	if err := models.SetCheckoutSession(ctx, tx.DB, o.ID, id); err != nil {
		return "", err
	}
	o.StripeCheckoutSessionID = &id
	return url, nil
}

// checkoutName is the line item a buyer sees on Checkout, e.g. "AALS — initial certification".
func checkoutName(course *models.Course, o *models.Order) string {
	name := fmt.Sprintf("%s — %s certification", course.Code, o.Offering)
	if o.Kind == models.OrderSeats {
		name += " seat"
	}
	return name
}

// paymentProviderRetrySeconds is how long a client waits before retrying when Stripe failed.
const paymentProviderRetrySeconds = 30

// paymentProviderError turns a failed Stripe call into a 503 the client may retry.
func paymentProviderError(err error) error {
	if !errors.Is(err, billing.ErrUnavailable) {
		return fmt.Errorf("payment provider: %w", err)
	}
	p := problem(http.StatusServiceUnavailable, billing.ErrUnavailable.Code, billing.ErrUnavailable.Msg)
	p.Title = "Payment provider unavailable"
	p.Headers = retryAfter(paymentProviderRetrySeconds)
	return p
}
