package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/billing"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

var t0 = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

// buyerWithOrder stores a course, a buyer and a pending enrollment order of 29500 cents.
func buyerWithOrder(t *testing.T, db *gorm.DB) (*models.Enrollment, *models.Order) {
	t.Helper()
	buyer := uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO courses (code, title, edition, guideline_edition, description, accreditation, exam)
		  VALUES ('AALS', 'AALS', '2026', '2025', 'd', 'a', '{}') ON CONFLICT DO NOTHING`, nil},
		{`INSERT INTO offerings (course_code, kind, price_cents) VALUES ('AALS', 'initial', 29500) ON CONFLICT DO NOTHING`, nil},
		{`INSERT INTO users (id, email, password_hash, name) VALUES (?, ?, 'x', 'B')`, []any{buyer, buyer.String() + "@example.org"}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	o := &models.Order{Kind: models.OrderEnrollment, BuyerID: buyer, CourseCode: "AALS", Offering: "initial",
		Quantity: 1, UnitAmount: 29500, Amount: 29500, Currency: "usd"}
	e := &models.Enrollment{UserID: buyer, CourseCode: "AALS", Offering: "initial"}
	if err := models.CreateEnrollment(context.Background(), db, e, o); err != nil {
		t.Fatal(err)
	}
	return e, o
}

// ev builds a verified-looking event around object.
func ev(t *testing.T, id, typ, object string) stripe.Event {
	t.Helper()
	var e stripe.Event
	if err := json.Unmarshal(event(id, typ, billing.APIVersion, object), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func sessionFor(order uuid.UUID, id, status, pi string) string {
	return fmt.Sprintf(`{"id":%q,"object":"checkout.session","payment_status":%q,"payment_intent":%s,"client_reference_id":%q,"metadata":{"order_id":%q}}`,
		id, status, jsonOrNull(pi), order, order)
}

func jsonOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return fmt.Sprintf("%q", s)
}

func handle(t *testing.T, db *gorm.DB, e stripe.Event) *billing.Outcome {
	t.Helper()
	out, err := billing.HandleEvent(context.Background(), db, e, t0)
	if err != nil {
		t.Fatalf("HandleEvent(%s %s): %v", e.ID, e.Type, err)
	}
	return out
}

func recordedOrder(t *testing.T, db *gorm.DB, eventID string) (found bool, orderID *uuid.UUID) {
	t.Helper()
	var rows []struct{ OrderID *uuid.UUID }
	if err := db.Raw(`SELECT order_id FROM stripe_events WHERE id = ?`, eventID).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return false, nil
	}
	return true, rows[0].OrderID
}

func TestHandleEventRecordsAndIgnores(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	_, o := buyerWithOrder(t, db)
	cases := []struct {
		name, typ, object string
		wantOrder         bool
		wantIgnored       string
	}{
		{"OtherType", "customer.created", `{"id":"cus_1","object":"customer"}`, false, "event type not handled"},
		{"WrongObject", "checkout.session.completed", `{"id":"ch_1","object":"charge"}`, false, "not a Checkout Session"},
		{"UnknownOrder", "checkout.session.completed", sessionFor(uuid.New(), "cs_u", "paid", "pi_u"), false, "no order of ours"},
		{"MalformedOrderID", "checkout.session.expired", strings.ReplaceAll(sessionFor(o.ID, "cs_m", "unpaid", ""), o.ID.String(), "order-42"), false, "no order of ours"},
		{"MalformedPaymentIntent", "charge.refunded", `{"id":"ch_2","object":"charge","payment_intent":"pi 1","amount_refunded":5}`, false, "malformed payment intent"},
		{"ChargeWithoutPaymentIntent", "charge.refunded", `{"id":"ch_3","object":"charge","amount_refunded":5}`, false, "no payment intent"},
		{"Unpaid", "checkout.session.completed", sessionFor(o.ID, "cs_1", "unpaid", ""), true, "still processing"},
	}
	for i, tc := range cases {
		id := fmt.Sprintf("evt_ignored_%d", i)
		out := handle(t, db, ev(t, id, tc.typ, tc.object))
		if out.Duplicate || out.NewlyPaid || !strings.Contains(out.Ignored, tc.wantIgnored) {
			t.Errorf("%s: outcome %+v, want ignored %q", tc.name, out, tc.wantIgnored)
		}
		found, orderID := recordedOrder(t, db, id)
		if !found || (orderID != nil) != tc.wantOrder {
			t.Errorf("%s: recorded %v with order %v, want recorded (with order: %v)", tc.name, found, orderID, tc.wantOrder)
		}
	}
	if got, _ := models.FindOrder(context.Background(), db, o.ID); got.Status != models.OrderPending {
		t.Errorf("order = %s, want still pending", got.Status)
	}
}

func TestHandleEventOncePerID(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	_, o := buyerWithOrder(t, db)
	paid := ev(t, "evt_paid", "checkout.session.completed", sessionFor(o.ID, "cs_1", "paid", "pi_1"))
	if out := handle(t, db, paid); !out.NewlyPaid || out.Order.Status != models.OrderPaid {
		t.Fatalf("first delivery = %+v, want newly paid", out)
	}
	if out := handle(t, db, paid); !out.Duplicate || out.NewlyPaid {
		t.Fatalf("second delivery = %+v, want duplicate", out)
	}
	// The same payment under another event ID (async success after completed) is no error.
	late := ev(t, "evt_late", "checkout.session.async_payment_succeeded", sessionFor(o.ID, "cs_1", "paid", "pi_1"))
	if out := handle(t, db, late); out.Duplicate || out.NewlyPaid || out.Ignored != "order already paid" {
		t.Fatalf("late delivery = %+v, want ignored as already paid", out)
	}
	// A second, different payment for a paid order is flagged for a refund, not applied.
	again := ev(t, "evt_again", "checkout.session.completed", sessionFor(o.ID, "cs_2", "paid", "pi_2"))
	if out := handle(t, db, again); out.NewlyPaid || !strings.Contains(out.Ignored, "pi_2 needs a refund") {
		t.Fatalf("second payment = %+v, want flagged for a refund", out)
	}
	if got, _ := models.FindOrder(context.Background(), db, o.ID); *got.StripePaymentIntentID != "pi_1" {
		t.Errorf("payment intent = %s, want pi_1", *got.StripePaymentIntentID)
	}
}

// The event's row commits or rolls back with its effect: a delivery whose transaction fails
// is applied in full by the retry.
func TestHandleEventRollsBackWithItsEffect(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	e, o := buyerWithOrder(t, d.Gorm)
	paid := ev(t, "evt_retry", "checkout.session.completed", sessionFor(o.ID, "cs_1", "paid", "pi_1"))
	boom := errors.New("receipt failed")
	err := d.Gorm.Transaction(func(tx *gorm.DB) error {
		if out := handle(t, tx, paid); !out.NewlyPaid {
			t.Fatalf("first delivery = %+v", out)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if found, _ := recordedOrder(t, d.Gorm, "evt_retry"); found {
		t.Fatal("the event stayed recorded after its transaction rolled back")
	}
	var out *billing.Outcome
	if err := d.Gorm.Transaction(func(tx *gorm.DB) error { out = handle(t, tx, paid); return nil }); err != nil {
		t.Fatal(err)
	}
	if out.Duplicate || !out.NewlyPaid {
		t.Fatalf("retry = %+v, want applied", out)
	}
	if got, _ := models.FindEnrollment(context.Background(), d.Gorm, e.ID); got.Status != models.EnrollmentActive {
		t.Errorf("enrollment = %s, want active", got.Status)
	}
}

func TestHandleEventSessionRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("ExpiryOfAnOlderSessionLeavesTheOrder", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		_, o := buyerWithOrder(t, db)
		if err := models.SetCheckoutSession(ctx, db, o.ID, "cs_new"); err != nil {
			t.Fatal(err)
		}
		out := handle(t, db, ev(t, "evt_old", "checkout.session.expired", sessionFor(o.ID, "cs_old", "unpaid", "")))
		if out.Order.Status != models.OrderPending || out.Ignored == "" {
			t.Fatalf("old session's expiry = %+v, want the order left pending", out)
		}
		out = handle(t, db, ev(t, "evt_new", "checkout.session.expired", sessionFor(o.ID, "cs_new", "unpaid", "")))
		if out.Order.Status != models.OrderExpired {
			t.Fatalf("current session's expiry = %+v, want expired", out)
		}
	})
	t.Run("NoPaymentRequiredIsPaid", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		_, o := buyerWithOrder(t, db)
		out := handle(t, db, ev(t, "evt_free", "checkout.session.completed", sessionFor(o.ID, "cs_free", "no_payment_required", "")))
		if !out.NewlyPaid || out.Order.Status != models.OrderPaid {
			t.Fatalf("100%% promotion = %+v, want paid", out)
		}
	})
	t.Run("FullRefundOfDiscountedPaymentIsFull", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		e, o := buyerWithOrder(t, db)
		handle(t, db, ev(t, "evt_pay", "checkout.session.completed", sessionFor(o.ID, "cs_d", "paid", "pi_d")))
		out := handle(t, db, ev(t, "evt_ref", "charge.refunded", `{"id":"ch_d","object":"charge","payment_intent":"pi_d","amount":14750,"amount_refunded":14750,"refunded":true}`))
		if out.Order.Status != models.OrderRefunded || out.Order.AmountRefunded != 29500 {
			t.Fatalf("full refund of a half-price payment = %+v, want the order refunded", out.Order)
		}
		if got, _ := models.FindEnrollment(ctx, db, e.ID); got.Status != models.EnrollmentCancelled {
			t.Errorf("enrollment = %s, want cancelled", got.Status)
		}
	})
	t.Run("EventTimeIsWhenItHappened", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Tx(t)
		_, o := buyerWithOrder(t, db)
		e := ev(t, "evt_old_pay", "checkout.session.completed", sessionFor(o.ID, "cs_t", "paid", "pi_t"))
		e.Created = t0.Add(-48 * time.Hour).Unix() // delivered two days late
		out := handle(t, db, e)
		if want := t0.Add(-48 * time.Hour); out.Order.PaidAt == nil || !out.Order.PaidAt.Equal(want) {
			t.Fatalf("paid at %v, want %v", out.Order.PaidAt, want)
		}
	})
}
