package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// The pages Stripe Checkout sends the buyer back to, rendered inside layout.html.
func init() {
	pageTemplates["checkout_success"] = parsePage("checkout_success.html")
	pageTemplates["checkout_cancel"] = parsePage("checkout_cancel.html")
}

// checkoutPageRoutes registers the pages Stripe Checkout returns the buyer to. They show no
// order details: anyone can open them, and only the webhook confirms a payment.
func (s *Server) checkoutPageRoutes(e *echo.Echo) {
	e.GET("/checkout/success", s.checkoutSuccessPage)
	e.GET("/checkout/cancel", s.checkoutCancelPage)
}

// checkoutSuccessPage handles GET /checkout/success?order=…. The buyer has paid (or started
// an asynchronous payment); the payment counts once Stripe's webhook confirms it.
func (s *Server) checkoutSuccessPage(c echo.Context) error {
	return s.renderPage(c, http.StatusOK, "checkout_success", pageData{Title: "Thank you — we are confirming your payment"})
}

// checkoutCancelPage handles GET /checkout/cancel?order=…. The buyer left Checkout unpaid.
func (s *Server) checkoutCancelPage(c echo.Context) error {
	return s.renderPage(c, http.StatusOK, "checkout_cancel", pageData{Title: "Payment cancelled"})
}
