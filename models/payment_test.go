package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

var t0 = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

// payFixture makes a course, a buyer, an org and returns them.
func payFixture(t *testing.T, db *gorm.DB) (buyer, org uuid.UUID) {
	t.Helper()
	buyer, org = uuid.New(), uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO courses (code, title, edition, guideline_edition, description, accreditation, exam)
		  VALUES ('AALS', 'AALS', '2026', '2025', 'd', 'a', '{}') ON CONFLICT DO NOTHING`, nil},
		{`INSERT INTO offerings (course_code, kind, price_cents) VALUES ('AALS', 'initial', 29500), ('AALS', 'renewal', 19500) ON CONFLICT DO NOTHING`, nil},
		{`INSERT INTO users (id, email, password_hash, name) VALUES (?, ?, 'x', 'B')`, []any{buyer, buyer.String() + "@example.org"}},
		{`INSERT INTO orgs (id, name, created_by) VALUES (?, 'Mercy', ?)`, []any{org, buyer}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	return buyer, org
}

func newEnrollmentOrder(t *testing.T, db *gorm.DB, buyer uuid.UUID) (*models.Enrollment, *models.Order) {
	t.Helper()
	o := &models.Order{Kind: models.OrderEnrollment, BuyerID: buyer, CourseCode: "AALS", Offering: "initial",
		Quantity: 1, UnitAmount: 29500, Amount: 29500, Currency: "usd"}
	e := &models.Enrollment{UserID: buyer, CourseCode: "AALS", Offering: "initial"}
	if err := models.CreateEnrollment(context.Background(), db, e, o); err != nil {
		t.Fatal(err)
	}
	return e, o
}

func enrollmentStatus(t *testing.T, db *gorm.DB, id uuid.UUID) string {
	t.Helper()
	e, err := models.FindEnrollment(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	return e.Status
}

func TestMarkOrderPaidReleasesOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	buyer, _ := payFixture(t, db)
	e, o := newEnrollmentOrder(t, db, buyer)
	out, err := models.MarkOrderPaid(ctx, db, o.ID, models.Payment{Method: models.PayOffline, Reference: "check 1", At: t0})
	if err != nil || !out.NewlyPaid || !out.Released || out.Order.Status != models.OrderPaid {
		t.Fatalf("first payment = %+v, %v", out, err)
	}
	if got := enrollmentStatus(t, db, e.ID); got != models.EnrollmentActive {
		t.Errorf("enrollment = %s, want active", got)
	}
	if _, err := models.MarkOrderPaid(ctx, db, o.ID, models.Payment{Method: models.PayOffline, At: t0}); !errors.Is(err, models.ErrOrderAlreadyPaid) {
		t.Errorf("second payment = %v, want ErrOrderAlreadyPaid", err)
	}
	fresh, _ := models.FindEnrollment(ctx, db, e.ID)
	if want := t0.AddDate(0, 12, 0); fresh.ExpiresAt == nil || !fresh.ExpiresAt.Equal(want) {
		t.Errorf("enrollment expires %v, want %v", fresh.ExpiresAt, want)
	}
}

func TestPurchaseOrderThenPaymentReleasesSeatsOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	buyer, org := payFixture(t, db)
	o := &models.Order{Kind: models.OrderSeats, BuyerID: buyer, OrgID: &org, CourseCode: "AALS", Offering: "initial",
		Quantity: 10, UnitAmount: 29500, Amount: 295000, Currency: "usd"}
	if err := models.CreateOrder(ctx, db, o); err != nil {
		t.Fatal(err)
	}
	out, err := models.AcceptPurchaseOrder(ctx, db, o.ID, "PO 4471", t0.AddDate(0, 0, 30), t0)
	if err != nil || !out.Released || out.Order.Status != models.OrderOnCredit || out.Order.InvoiceNumber == nil {
		t.Fatalf("accept PO = %+v, %v", out, err)
	}
	if _, err := models.AcceptPurchaseOrder(ctx, db, o.ID, "PO 4471", t0, t0); !errors.Is(err, models.ErrOrderNotPending) {
		t.Errorf("second accept = %v, want ErrOrderNotPending", err)
	}
	paid, err := models.MarkOrderPaid(ctx, db, o.ID, models.Payment{Method: models.PayOffline, Reference: "wire 9", At: t0})
	if err != nil || paid.Released || !paid.NewlyPaid || *paid.Order.PaymentMethod != models.PayPurchaseOrder {
		t.Fatalf("settle = %+v, %v", paid, err)
	}
	pools, _ := models.ListSeatPools(ctx, db, org)
	if len(pools) != 1 || pools[0].Total != 10 {
		t.Fatalf("pools = %+v, want 10 seats once", pools)
	}
	if err := models.ReturnSeats(ctx, db, org, "AALS", "initial", 11, t0); !errors.Is(err, models.ErrSeatsInUse) {
		t.Errorf("return 11 of 10 = %v, want ErrSeatsInUse", err)
	}
}

func TestRefundBeforePaymentReleasesNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	buyer, _ := payFixture(t, db)
	e, o := newEnrollmentOrder(t, db, buyer)
	if got, _, err := models.ApplyStripeRefund(ctx, db, "pi_1", 29500, t0); err != nil || got != nil {
		t.Fatalf("early refund = %v, %v; want kept for later", got, err)
	}
	out, err := models.MarkOrderPaid(ctx, db, o.ID, models.Payment{Method: models.PayCard, StripePaymentIntentID: "pi_1", At: t0})
	if err != nil || out.NewlyPaid || out.Released || out.Order.Status != models.OrderRefunded || out.Order.AmountRefunded != 29500 {
		t.Fatalf("payment after refund = %+v, %v", out, err)
	}
	if got := enrollmentStatus(t, db, e.ID); got != models.EnrollmentCancelled {
		t.Errorf("enrollment = %s, want cancelled", got)
	}
}

func TestPartialThenFullRefund(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	buyer, _ := payFixture(t, db)
	e, o := newEnrollmentOrder(t, db, buyer)
	if _, err := models.MarkOrderPaid(ctx, db, o.ID, models.Payment{Method: models.PayCard, StripePaymentIntentID: "pi_2", At: t0}); err != nil {
		t.Fatal(err)
	}
	got, full, err := models.ApplyStripeRefund(ctx, db, "pi_2", 10000, t0)
	if err != nil || full || got.Status != models.OrderPaid || got.AmountRefunded != 10000 {
		t.Fatalf("partial = %+v full=%v %v", got, full, err)
	}
	if s := enrollmentStatus(t, db, e.ID); s != models.EnrollmentActive {
		t.Errorf("partial refund changed the enrollment to %s", s)
	}
	// An older, smaller report changes nothing.
	if got, _, _ := models.ApplyStripeRefund(ctx, db, "pi_2", 5000, t0); got.AmountRefunded != 10000 {
		t.Errorf("older report lowered the refunded total to %d", got.AmountRefunded)
	}
	if got, full, err := models.ApplyStripeRefund(ctx, db, "pi_2", 29500, t0); err != nil || !full || got.Status != models.OrderRefunded {
		t.Fatalf("full = %+v %v %v", got, full, err)
	}
	if s := enrollmentStatus(t, db, e.ID); s != models.EnrollmentCancelled {
		t.Errorf("full refund left the enrollment %s", s)
	}
}

func TestConcurrentPaymentsReleaseOnce(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	buyer, org := payFixture(t, d.Gorm)
	o := &models.Order{Kind: models.OrderSeats, BuyerID: buyer, OrgID: &org, CourseCode: "AALS", Offering: "initial",
		Quantity: 7, UnitAmount: 100, Amount: 700, Currency: "usd"}
	if err := models.CreateOrder(ctx, d.Gorm, o); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	newly := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Gorm.Transaction(func(tx *gorm.DB) error {
				out, err := models.MarkOrderPaid(ctx, tx, o.ID, models.Payment{Method: models.PayCard, StripePaymentIntentID: "pi_c", At: t0})
				if err == nil && out.NewlyPaid {
					mu.Lock()
					newly++
					mu.Unlock()
				}
				return err
			})
			if err != nil && !errors.Is(err, models.ErrOrderAlreadyPaid) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	pools, _ := models.ListSeatPools(ctx, d.Gorm, org)
	if newly != 1 || len(pools) != 1 || pools[0].Total != 7 {
		t.Fatalf("newly paid %d times, pools %+v; want once and 7 seats", newly, pools)
	}
}

func TestOneOpenEnrollmentPerCourse(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	buyer, _ := payFixture(t, d.Gorm)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &models.Order{Kind: models.OrderEnrollment, BuyerID: buyer, CourseCode: "AALS", Offering: "initial",
				Quantity: 1, UnitAmount: 1, Amount: 1, Currency: "usd"}
			errs[i] = models.CreateEnrollment(context.Background(), d.Gorm, &models.Enrollment{UserID: buyer, CourseCode: "AALS", Offering: "initial"}, o)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, models.ErrEnrollmentOpen):
			t.Errorf("unexpected error %v", err)
		}
	}
	var n, orders int
	d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM enrollments`).Scan(&n)
	d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM orders`).Scan(&orders)
	if ok != 1 || n != 1 || orders != 1 {
		t.Fatalf("created %d (rows %d, orders %d), want exactly one of each", ok, n, orders)
	}
}

// TestPaymentAndRefundReportInterleaved holds the first of a payment and a full refund report
// for one new payment intent open while the second runs, in both orders: the refund is
// applied either way and the enrollment ends cancelled.
func TestPaymentAndRefundReportInterleaved(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	pay := func(o *models.Order, pi string) func(*gorm.DB) error {
		return func(tx *gorm.DB) error {
			_, err := models.MarkOrderPaid(ctx, tx, o.ID, models.Payment{Method: models.PayCard, StripePaymentIntentID: pi, At: t0})
			return err
		}
	}
	refund := func(o *models.Order, pi string) func(*gorm.DB) error {
		return func(tx *gorm.DB) error {
			_, _, err := models.ApplyStripeRefund(ctx, tx, pi, o.Amount, t0)
			return err
		}
	}
	for _, order := range []string{"PaymentFirst", "RefundFirst"} {
		t.Run(order, func(t *testing.T) {
			buyer, _ := payFixture(t, d.Gorm)
			e, o := newEnrollmentOrder(t, d.Gorm, buyer)
			pi := "pi_" + uuid.NewString()
			first, second := pay(o, pi), refund(o, pi)
			if order == "RefundFirst" {
				first, second = second, first
			}
			tx1 := d.Gorm.Begin()
			if err := first(tx1); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- d.Gorm.Transaction(second) }()
			// Let the second run as far as it can: to its end, or to a lock wait.
			waitUntil(t, func() bool {
				select {
				case err := <-done:
					done <- err
					return true
				default:
				}
				var waiting int
				d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&waiting)
				return waiting > 0
			})
			if err := tx1.Commit().Error; err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got, _ := models.FindOrder(ctx, d.Gorm, o.ID)
			if got.Status != models.OrderRefunded || enrollmentStatus(t, d.Gorm, e.ID) != models.EnrollmentCancelled {
				t.Fatalf("order %s, enrollment %s; want refunded and cancelled", got.Status, enrollmentStatus(t, d.Gorm, e.ID))
			}
		})
	}
}

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
