package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/models"
)

// acceptPOInput is the body of POST /v1/admin/orders/{id}/accept-po.
type acceptPOInput struct {
	PONumber *string `json:"po_number"`
}

// acceptPurchaseOrder handles POST /v1/admin/orders/{id}/accept-po: a platform admin accepts
// a pending order on the buyer's purchase order. The enrollment or seats are released at once
// on credit, and an invoice is issued, stored and emailed to the buyer; mark-paid settles it.
func (s *Server) acceptPurchaseOrder(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in acceptPOInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	po, err := requiredText("po_number", in.PONumber, 100)
	if err != nil {
		return err
	}
	now := s.now()
	var after *models.Order
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		before, err := models.LockOrder(ctx(c), tx.DB, id)
		if err != nil {
			return err
		}
		beforeResp := newOrderResponse(before)
		out, err := models.AcceptPurchaseOrder(ctx(c), tx.DB, id, po, dueDate(now), now)
		if err != nil {
			return err
		}
		after = out.Order
		if err := s.issueInvoice(ctx(c), tx, after, now); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "order.accept_po", ObjectType: "order",
			ObjectID: id.String(), Before: beforeResp, After: newOrderResponse(after)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrderResponse(after))
}

// adminGetInvoice handles GET /v1/admin/orders/{id}/invoice: the invoice PDF of any order
// accepted on a purchase order (platform admin).
func (s *Server) adminGetInvoice(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return s.sendInvoice(c, id)
}

// sendInvoice answers with the order's invoice PDF, or 404 if it has none.
func (s *Server) sendInvoice(c echo.Context, orderID uuid.UUID) error {
	number, pdf, err := models.FindInvoicePDF(ctx(c), s.db.Gorm, orderID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.pdf"`, number))
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

// issueInvoice renders the invoice of an order just accepted on a purchase order, stores it
// on the order and emails it to the buyer, all in tx.
func (s *Server) issueInvoice(ctx context.Context, tx models.Tx, o *models.Order, now time.Time) error {
	buyer, err := models.FindUser(ctx, tx.DB, o.BuyerID)
	if err != nil {
		return err
	}
	doc, err := invoiceDocFor(ctx, tx, o, buyer, now)
	if err != nil {
		return err
	}
	pdf, err := renderInvoice(doc)
	if err != nil {
		return err
	}
	if err := models.SetInvoicePDF(ctx, tx.DB, o.ID, pdf); err != nil {
		return err
	}
	return s.sendMail(ctx, tx, outgoing{
		To: buyer.Email, UserID: &buyer.ID, Template: "invoice",
		Data: map[string]any{
			"Name": buyer.Name, "InvoiceNumber": doc.Number, "PONumber": doc.PONumber, "OrderID": doc.OrderID,
			"Description": doc.Item, "Quantity": doc.Quantity, "Amount": formatMoney(doc.Amount, doc.Currency),
			"DueDate": doc.Due.Format("January 2, 2006"), "ForOrg": doc.OrgName != "", "OrgName": doc.OrgName,
		},
		Attachments: []mail.Attachment{{Filename: doc.Number + ".pdf", ContentType: "application/pdf", Data: pdf}},
	})
}

// invoiceDocFor gathers what the invoice of o shows.
func invoiceDocFor(ctx context.Context, tx models.Tx, o *models.Order, buyer *models.User, now time.Time) (invoiceDoc, error) {
	course, err := models.FindCourse(ctx, tx.DB, o.CourseCode)
	if err != nil {
		return invoiceDoc{}, err
	}
	d := invoiceDoc{
		OrderID: o.ID.String(), Issued: now, BuyerName: buyer.Name, BuyerEmail: buyer.Email,
		Item:     fmt.Sprintf("%s — %s %s", course.Title, o.Offering, courseItem(o)),
		Quantity: o.Quantity, UnitAmount: o.UnitAmount, Amount: o.Amount - o.AmountRefunded, Currency: o.Currency,
	}
	if o.InvoiceNumber == nil || o.PONumber == nil || o.InvoiceDueDate == nil {
		return d, fmt.Errorf("order %s has no invoice number, PO or due date", o.ID)
	}
	d.Number, d.PONumber, d.Due = *o.InvoiceNumber, *o.PONumber, *o.InvoiceDueDate
	if o.OrgID != nil {
		org, err := models.FindOrg(ctx, tx.DB, *o.OrgID)
		if err != nil {
			return d, err
		}
		d.OrgName = org.Name
	}
	return d, nil
}
