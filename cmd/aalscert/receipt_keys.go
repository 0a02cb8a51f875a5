package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// receiptKeyAlg is the algorithm of receipt signing keys: receipts are read by machines and
// people checking a credentialing file, never by Open Badges wallets, so the small, fast
// EdDSA serves whatever AALS_VC_ALG says.
const receiptKeyAlg = credential.AlgEdDSA

// receiptKeys loads the keys that sign org verification receipts, generating the first on a
// new database. They are made, sealed and published like credential keys (kid URLs under
// /keys/) but are a purpose of their own: a receipt never verifies as a credential, and a
// credential key never signs a receipt.
func receiptKeys(ctx context.Context, db *models.DB, kr *masterkey.Keyring, publicURL string, now func() time.Time) (*api.IssuerKeys, error) {
	rows, err := models.EnsureSigningKey(ctx, db, models.KeyReceipt, func() (models.SigningKey, error) {
		return newCredentialKeyRow(kr, publicURL, receiptKeyAlg, now())
	})
	if err != nil {
		return nil, fmt.Errorf("receipt keys: %w", err)
	}
	keys, err := loadCredentialKeys(rows, kr)
	if err != nil {
		return nil, fmt.Errorf("receipt keys: %w", err)
	}
	return keys, nil
}
