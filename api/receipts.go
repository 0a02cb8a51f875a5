package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/aalscert/aalscert/models"
)

// sendReceipt emails the buyer a receipt for a paid order (amount, course, date, order ID),
// in the transaction that recorded the payment: one payment, one receipt.
func (s *Server) sendReceipt(ctx context.Context, tx models.Tx, o *models.Order) error {
	buyer, err := models.FindUser(ctx, tx.DB, o.BuyerID)
	if err != nil {
		return err
	}
	course, err := models.FindCourse(ctx, tx.DB, o.CourseCode)
	if err != nil {
		return err
	}
	data := map[string]any{
		"Name": buyer.Name, "OrderID": o.ID.String(), "Quantity": o.Quantity,
		"Description": fmt.Sprintf("%s — %s %s", course.Title, o.Offering, courseItem(o)),
		"Amount":      formatMoney(o.Amount, o.Currency), "Method": paymentMethodName(o),
		"ForOrg": o.OrgID != nil, "OrgName": "",
	}
	if o.PaidAt != nil {
		data["Date"] = o.PaidAt.UTC().Format("January 2, 2006")
	}
	if o.OrgID != nil {
		org, err := models.FindOrg(ctx, tx.DB, *o.OrgID)
		if err != nil {
			return err
		}
		data["OrgName"] = org.Name
	}
	return s.sendMail(ctx, tx, outgoing{To: buyer.Email, UserID: &buyer.ID, Template: "receipt", Data: data})
}

func courseItem(o *models.Order) string {
	if o.Kind == models.OrderSeats {
		return "seats"
	}
	return "enrollment"
}

func paymentMethodName(o *models.Order) string {
	if o.PaymentMethod == nil {
		return "—"
	}
	return map[string]string{models.PayCard: "card", models.PayOffline: "offline payment",
		models.PayPurchaseOrder: "purchase order"}[*o.PaymentMethod]
}

// formatMoney renders integer cents as an amount, e.g. 29500 usd → "USD 295.00".
func formatMoney(cents int, currency string) string {
	return fmt.Sprintf("%s %d.%02d", strings.ToUpper(currency), cents/100, cents%100)
}
