package main

import (
	"context"
	"testing"
	"time"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// TestReceiptKeyIsItsOwn proves the receipt key is made once, sealed, EdDSA, and never one of
// the credential keys: a receipt cannot pass as a credential, nor a credential as a receipt.
func TestReceiptKeyIsItsOwn(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	kr, _ := masterkey.Parse(masterkey.Generate())
	ctx := context.Background()
	creds, err := credentialKeys(ctx, db, kr, testPublicURL, credential.AlgRS256, quiet, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	first, err := receiptKeys(ctx, db, kr, testPublicURL, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	again, err := receiptKeys(ctx, db, kr, testPublicURL, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	rk := first.Signer.Key()
	if again.Signer.Key().KID != rk.KID || len(again.Published) != 1 {
		t.Errorf("second start made another receipt key: %s, %d published", again.Signer.Key().KID, len(again.Published))
	}
	if rk.Alg != credential.AlgEdDSA || rk.KID == creds.Signer.Key().KID {
		t.Errorf("receipt key = %s %s, credential key %s", rk.Alg, rk.KID, creds.Signer.Key().KID)
	}
	rows, err := models.ListSigningKeys(ctx, db.Gorm, models.KeyReceipt)
	if err != nil || len(rows) != 1 || rows[0].KID != rk.KID {
		t.Fatalf("receipt key rows = %+v, %v", rows, err)
	}
	signVerifies(t, first.Signer, first.Published)
	tok, err := first.Signer.Sign(map[string]any{"iss": testPublicURL + "/issuer"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := credential.NewVerifier(creds.Published...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifySignature(tok); err == nil {
		t.Error("a receipt verifies with the credential keys")
	}
}

// TestKeysRotateAddsAReceiptKey: `aalscert keys rotate` adds a receipt key too; the next start
// signs receipts with it while the old one stays published, and credential keys are untouched
// by the receipt rotation.
func TestKeysRotateAddsAReceiptKey(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	kr, _ := masterkey.Parse(masterkey.Generate())
	ctx := context.Background()
	first, err := receiptKeys(ctx, db, kr, testPublicURL, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := rotateSigningKey(ctx, db, kr, models.KeyReceipt, testPublicURL, receiptKeyAlg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	next, err := receiptKeys(ctx, db, kr, testPublicURL, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if next.Signer.Key().KID != kid || kid == first.Signer.Key().KID || len(next.Published) != 2 {
		t.Fatalf("after rotate: signer %s (new %s, old %s), %d published", next.Signer.Key().KID, kid, first.Signer.Key().KID, len(next.Published))
	}
	signVerifies(t, next.Signer, next.Published)
	if creds, err := models.ListSigningKeys(ctx, db.Gorm, models.KeyCredential); err != nil || len(creds) != 0 {
		t.Errorf("credential keys after a receipt rotation = %d, %v; want none", len(creds), err)
	}
}
