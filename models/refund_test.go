package models_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

func TestRefundsAndInvoices(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	buyer, _ := payFixture(t, db)
	_, o := newEnrollmentOrder(t, db, buyer)

	for i, amount := range []int{1000, 2500} {
		r := &models.Refund{OrderID: o.ID, Amount: amount, Method: models.RefundOffline, CreatedBy: &buyer, CreatedAt: t0.AddDate(0, 0, i)}
		if err := models.CreateRefund(ctx, db, r); err != nil || r.ID == uuid.Nil {
			t.Fatalf("create refund = %v, ID %s", err, r.ID)
		}
	}
	// In a savepoint, so the refused insert leaves the test's transaction usable.
	err := db.Transaction(func(sp *gorm.DB) error {
		return models.CreateRefund(ctx, sp, &models.Refund{OrderID: o.ID, Amount: 0, Method: models.RefundOffline})
	})
	if !errors.Is(err, models.ErrInvalid) {
		t.Errorf("refund of 0 = %v, want ErrInvalid", err)
	}
	refunds, err := models.ListRefunds(ctx, db, o.ID)
	if err != nil || len(refunds) != 2 || refunds[0].Amount != 1000 || refunds[1].Amount != 2500 {
		t.Fatalf("refunds = %+v, %v; want 1000 then 2500", refunds, err)
	}

	if _, _, err := models.FindInvoicePDF(ctx, db, o.ID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("invoice before acceptance = %v, want ErrNotFound", err)
	}
	if _, err := models.AcceptPurchaseOrder(ctx, db, o.ID, "PO 1", t0.AddDate(0, 0, 30), t0); err != nil {
		t.Fatal(err)
	}
	if err := models.SetInvoicePDF(ctx, db, o.ID, []byte("%PDF-1.3 x")); err != nil {
		t.Fatal(err)
	}
	number, pdf, err := models.FindInvoicePDF(ctx, db, o.ID)
	if err != nil || number == "" || !bytes.Equal(pdf, []byte("%PDF-1.3 x")) {
		t.Errorf("invoice = %q %q %v", number, pdf, err)
	}

	byID, err := models.FindOrdersByID(ctx, db, []uuid.UUID{o.ID, uuid.New()})
	if err != nil || len(byID) != 1 || byID[o.ID].Status != models.OrderOnCredit || byID[o.ID].InvoicePDF != nil {
		t.Errorf("orders by ID = %+v, %v; want the one, without its PDF", byID, err)
	}
	if got, err := models.FindOrdersByID(ctx, db, nil); err != nil || len(got) != 0 {
		t.Errorf("no IDs = %v, %v", got, err)
	}
}

func TestLockHolderNameKeepsTheFirstLock(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	buyer, _ := payFixture(t, db)
	for _, at := range []int{0, 5} {
		if err := models.LockHolderName(ctx, db, buyer, t0.AddDate(0, 0, at)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := models.FindUser(ctx, db, buyer)
	if err != nil || u.NameLockedAt == nil || !u.NameLockedAt.Equal(t0) {
		t.Fatalf("name locked at %v (%v), want %v", u.NameLockedAt, err, t0)
	}
}
