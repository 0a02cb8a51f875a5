package billing_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/billing"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/internal/stripetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recorder is a proxy in front of stripe-mock that keeps every request it forwards, so a
// test can check what was sent while stripe-mock checks that Stripe would accept it.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path string
	Header       http.Header
	Form         url.Values
}

func newRecorder(t *testing.T) (*recorder, string) {
	t.Helper()
	target, err := url.Parse(stripetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form})
		rec.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request reached Stripe")
	}
	return r.reqs[len(r.reqs)-1]
}

func newClient(apiURL string) *billing.Client {
	return billing.New(billing.Config{
		SecretKey: "sk_test_aalscert", WebhookSecret: "whsec_aalscert", APIURL: apiURL,
		SuccessURL: "https://app.example/checkout/success?order={ORDER_ID}",
		CancelURL:  "https://app.example/checkout/cancel?order={ORDER_ID}",
	})
}

func TestCreateCheckoutSession(t *testing.T) {
	t.Parallel()
	rec, apiURL := newRecorder(t)
	c := newClient(apiURL)
	order := uuid.New()
	id, u, err := c.CreateCheckoutSession(context.Background(), billing.CheckoutRequest{
		OrderID: order, Email: "pat@example.org", Name: "AALS — initial certification",
		UnitAmount: 29500, Currency: "usd", Quantity: 3,
	})
	if err != nil {
		t.Fatalf("CreateCheckoutSession: %v", err)
	}
	if !strings.HasPrefix(id, "cs_") || u == "" {
		t.Errorf("session = %q, %q; want a cs_ ID and a URL", id, u)
	}
	got := rec.last(t)
	if got.Method != "POST" || got.Path != "/v1/checkout/sessions" {
		t.Errorf("request = %s %s, want POST /v1/checkout/sessions", got.Method, got.Path)
	}
	o := order.String()
	for k, want := range map[string]string{
		"mode":                                          "payment",
		"line_items[0][price_data][currency]":           "usd",
		"line_items[0][price_data][unit_amount]":        "29500",
		"line_items[0][price_data][product_data][name]": "AALS — initial certification",
		"line_items[0][quantity]":                       "3",
		"client_reference_id":                           o,
		"metadata[order_id]":                            o,
		"payment_intent_data[metadata][order_id]":       o,
		"customer_email":                                "pat@example.org",
		"allow_promotion_codes":                         "true",
		"success_url":                                   "https://app.example/checkout/success?order=" + o,
		"cancel_url":                                    "https://app.example/checkout/cancel?order=" + o,
	} {
		if v := got.Form.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	for h, want := range map[string]string{
		"Idempotency-Key": "checkout-" + o,
		"Authorization":   "Bearer sk_test_aalscert",
		"Stripe-Version":  billing.APIVersion,
	} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
}

func TestRefund(t *testing.T) {
	t.Parallel()
	rec, apiURL := newRecorder(t)
	c := newClient(apiURL)
	id, err := c.Refund(context.Background(), "pi_123", 10000, "refund-7")
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if !strings.HasPrefix(id, "re_") {
		t.Errorf("refund ID = %q, want re_…", id)
	}
	got := rec.last(t)
	if got.Path != "/v1/refunds" || got.Form.Get("payment_intent") != "pi_123" || got.Form.Get("amount") != "10000" {
		t.Errorf("request = %s %v, want payment_intent pi_123 and amount 10000", got.Path, got.Form)
	}
	if k := got.Header.Get("Idempotency-Key"); k != "refund-7" {
		t.Errorf("Idempotency-Key = %q, want refund-7", k)
	}
	if _, err := c.Refund(context.Background(), "pi_123", 500, ""); err != nil {
		t.Fatal(err)
	}
	if k := rec.last(t).Header.Get("Idempotency-Key"); k != "refund-pi_123-500" {
		t.Errorf("derived Idempotency-Key = %q, want refund-pi_123-500", k)
	}
}

func TestStripeErrorsAreUnavailable(t *testing.T) {
	t.Parallel()
	// Stripe refusing the call (a 4xx is not retried, so the test does not wait).
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"No such payment_intent: 'pi_gone'"}}`)
	}))
	t.Cleanup(refusing.Close)
	c := newClient(refusing.URL)
	if _, _, err := c.CreateCheckoutSession(context.Background(), billing.CheckoutRequest{OrderID: uuid.New(), Name: "x", UnitAmount: 1, Currency: "usd", Quantity: 1}); !errors.Is(err, billing.ErrUnavailable) {
		t.Errorf("checkout error = %v, want ErrUnavailable", err)
	}
	_, err := c.Refund(context.Background(), "pi_gone", 1, "k")
	if !errors.Is(err, billing.ErrUnavailable) || !strings.Contains(err.Error(), "No such payment_intent") {
		t.Errorf("refund error = %v, want ErrUnavailable with Stripe's cause", err)
	}
	if strings.Contains(err.Error(), "sk_test") {
		t.Errorf("error leaks the secret key: %v", err)
	}
}

func TestDisabledClient(t *testing.T) {
	t.Parallel()
	var nilClient *billing.Client
	off := billing.New(billing.Config{})
	if nilClient.Enabled() || off.Enabled() {
		t.Fatal("a nil client or one without a key is enabled")
	}
	if _, _, err := off.CreateCheckoutSession(context.Background(), billing.CheckoutRequest{}); !errors.Is(err, billing.ErrUnavailable) {
		t.Errorf("checkout without a key = %v, want ErrUnavailable", err)
	}
	if _, err := off.Refund(context.Background(), "pi_1", 1, "k"); !errors.Is(err, billing.ErrUnavailable) {
		t.Errorf("refund without a key = %v, want ErrUnavailable", err)
	}
	if _, err := nilClient.VerifyEvent([]byte(`{}`), "t=1,v1=00"); !errors.Is(err, billing.ErrInvalidSignature) {
		t.Errorf("verify on a nil client = %v, want ErrInvalidSignature", err)
	}
	if !newClient("http://127.0.0.1:1").Enabled() {
		t.Error("a client with a key is disabled")
	}
}
