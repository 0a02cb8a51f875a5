package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// adminOrderRoutes registers the platform admin's order desk: orders, offline payments,
// purchase orders with their invoices, and refunds. Every change is audited.
func (s *Server) adminOrderRoutes(g *echo.Group) {
	g.GET("/admin/orders", s.adminListOrders)
	g.GET("/admin/orders/:id", s.adminGetOrder)
	g.POST("/admin/orders/:id/mark-paid", s.markOrderPaid, s.idempotent)
	g.POST("/admin/orders/:id/accept-po", s.acceptPurchaseOrder, s.idempotent)
	g.GET("/admin/orders/:id/invoice", s.adminGetInvoice)
	g.POST("/admin/orders/:id/refund", s.refundOrder, s.idempotent)
}

var (
	orderStatuses = []string{models.OrderPending, models.OrderPaid, models.OrderOnCredit, models.OrderExpired,
		models.OrderFailed, models.OrderRefunded}
	orderKinds = []string{models.OrderEnrollment, models.OrderSeats}
)

// adminOrderResponse is an order with its refunds, as a platform admin sees it.
type adminOrderResponse struct {
	orderResponse
	Refunds []refundResponse `json:"refunds"`
}

// adminListOrders handles GET /v1/admin/orders?status=&kind=&course=&buyer=&org=: every order,
// newest first (platform admin).
func (s *Server) adminListOrders(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	f, err := orderFilterParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListOrders(ctx(c), s.db.Gorm, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(o models.Order) orderResponse { return newOrderResponse(&o) }))
}

// orderFilterParams reads the filters of GET /v1/admin/orders, reporting every bad one.
func orderFilterParams(c echo.Context) (models.OrderFilter, error) {
	f := models.OrderFilter{Status: c.QueryParam("status"), Kind: c.QueryParam("kind"),
		CourseCode: strings.ToUpper(strings.TrimSpace(c.QueryParam("course")))}
	ve := &models.ValidationError{}
	if f.Status != "" && !slices.Contains(orderStatuses, f.Status) {
		ve.Add("status", "must be one of "+strings.Join(orderStatuses, ", "))
	}
	if f.Kind != "" && !slices.Contains(orderKinds, f.Kind) {
		ve.Add("kind", "must be enrollment or seats")
	}
	f.BuyerID = queryUUID(c, ve, "buyer")
	f.OrgID = queryUUID(c, ve, "org")
	page, err := pageParams(c)
	var pe *models.ValidationError
	if errors.As(err, &pe) {
		ve.Fields = append(ve.Fields, pe.Fields...)
	} else if err != nil {
		return f, err
	}
	f.Page = page
	return f, ve.Err()
}

// queryUUID reads an optional UUID query parameter.
func queryUUID(c echo.Context, ve *models.ValidationError, name string) *uuid.UUID {
	v := c.QueryParam(name)
	if v == "" {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		ve.Add(name, "must be a UUID")
		return nil
	}
	return &id
}

// adminGetOrder handles GET /v1/admin/orders/{id}: one order with its refunds.
func (s *Server) adminGetOrder(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	o, err := models.FindOrder(ctx(c), s.db.Gorm, id)
	if err != nil {
		return err
	}
	refunds, err := models.ListRefunds(ctx(c), s.db.Gorm, o.ID)
	if err != nil {
		return err
	}
	out := adminOrderResponse{orderResponse: newOrderResponse(o), Refunds: make([]refundResponse, 0, len(refunds))}
	for _, r := range refunds {
		out.Refunds = append(out.Refunds, newRefundResponse(&r))
	}
	return c.JSON(http.StatusOK, out)
}

// markPaidInput is the body of POST /v1/admin/orders/{id}/mark-paid.
type markPaidInput struct {
	Reference *string `json:"reference"`
}

// markOrderPaid handles POST /v1/admin/orders/{id}/mark-paid: a platform admin records an
// offline payment (a check, a wire, a settled purchase order). The enrollment or seats are
// released unless that happened already, and the buyer gets one receipt.
func (s *Server) markOrderPaid(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in markPaidInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	ref, err := requiredText("reference", in.Reference, 200)
	if err != nil {
		return err
	}
	var after *models.Order
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		before, err := models.LockOrder(ctx(c), tx.DB, id)
		if err != nil {
			return err
		}
		beforeResp := newOrderResponse(before)
		out, err := models.MarkOrderPaid(ctx(c), tx.DB, id, models.Payment{Method: models.PayOffline, Reference: ref, At: s.now()})
		if err != nil {
			return err
		}
		after = out.Order
		if out.NewlyPaid {
			if err := s.sendReceipt(ctx(c), tx, after); err != nil {
				return err
			}
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "order.mark_paid", ObjectType: "order",
			ObjectID: id.String(), Before: beforeResp, After: newOrderResponse(after)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrderResponse(after))
}

// requiredText trims a required string field and checks its length.
func requiredText(field string, v *string, maxLen int) (string, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return "", models.Invalid(field, "is required")
	}
	t := strings.TrimSpace(*v)
	if len([]rune(t)) > maxLen {
		return "", models.Invalid(field, "must be at most "+strconv.Itoa(maxLen)+" characters")
	}
	return t, nil
}

// invoiceTermDays is how long a buyer has to pay an invoice for an accepted purchase order.
const invoiceTermDays = 30

// dueDate is the invoice due date for an acceptance at now: invoiceTermDays later, a date.
func dueDate(now time.Time) time.Time {
	y, m, d := now.UTC().AddDate(0, 0, invoiceTermDays).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
