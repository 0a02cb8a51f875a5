package api_test

import (
	"strings"
	"testing"

	"github.com/aalscert/aalscert/mail"
)

// aalsInitialPrice is the AALS initial price in the shipped catalog (content/), in cents.
const aalsInitialPrice = 29500

// adminToken returns the platform admin's access token.
func (e *env) adminToken(t testing.TB) string {
	t.Helper()
	return e.token(t, e.adminUser(t))
}

// enrollmentBody is the part of an enrollment answer the tests read.
type enrollmentBody struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Course string `json:"course"`
	Order  *struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Amount      int    `json:"amount"`
		Currency    string `json:"currency"`
		CheckoutURL string `json:"checkout_url"`
	} `json:"order"`
}

// enroll enrolls the user with token in the course offering and returns the answer.
func (e *env) enroll(t testing.TB, token, course, offering string) enrollmentBody {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/enrollments", token: token, body: map[string]string{"course": course, "offering": offering}})
	if r.Code != 201 {
		t.Fatalf("enroll in %s %s: %d %s", course, offering, r.Code, r.Body)
	}
	var b enrollmentBody
	r.decode(t, &b)
	return b
}

// orderBody is the part of an order answer the tests read.
type orderBody struct {
	ID             string  `json:"id"`
	Status         string  `json:"status"`
	Amount         int     `json:"amount"`
	AmountRefunded int     `json:"amount_refunded"`
	PaymentMethod  *string `json:"payment_method"`
	InvoiceNumber  *string `json:"invoice_number"`
	InvoiceDueDate *string `json:"invoice_due_date"`
}

// markPaid records an offline payment on the order as the platform admin.
func (e *env) markPaid(t testing.TB, orderID string) orderBody {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/admin/orders/" + orderID + "/mark-paid", token: e.adminToken(t),
		body: map[string]string{"reference": "check 1042"}})
	if r.Code != 200 {
		t.Fatalf("mark paid: %d %s", r.Code, r.Body)
	}
	var o orderBody
	r.decode(t, &o)
	return o
}

// mailsWithSubject returns the messages to an address whose subject contains part.
func (e *env) mailsWithSubject(t testing.TB, to, part string) []mail.Message {
	t.Helper()
	var out []mail.Message
	for _, m := range e.mails(t, to) {
		if strings.Contains(m.Subject, part) {
			out = append(out, m)
		}
	}
	return out
}
