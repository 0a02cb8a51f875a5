package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aalscert/aalscert/api"
	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// newCredentialKeyRow generates a credential signing key of alg for publicURL: its kid is the
// thumbprint URL, its private key PKCS #8 sealed with the master key, its public JWK stored
// in the clear for publishing.
func newCredentialKeyRow(kr *masterkey.Keyring, publicURL, alg string, now time.Time) (models.SigningKey, error) {
	priv, err := credential.GenerateKey(alg)
	if err != nil {
		return models.SigningKey{}, err
	}
	k, err := credential.NewKey(publicURL, priv)
	if err != nil {
		return models.SigningKey{}, err
	}
	der, err := credential.MarshalPrivateKey(priv)
	if err != nil {
		return models.SigningKey{}, err
	}
	jwk, err := credential.PublicJWK(k.Public())
	if err != nil {
		return models.SigningKey{}, err
	}
	pub, err := json.Marshal(jwk)
	if err != nil {
		return models.SigningKey{}, err
	}
	return models.SigningKey{
		KID: k.KID, Alg: k.Alg, PublicJWK: pub, CreatedAt: now.UTC(),
		PrivateEnc: kr.Seal(der, keyAAD(k.KID)),
	}, nil
}

// credentialKeys loads the credential signing keys, generating the first (of alg) on a new
// database. The newest active key signs whatever its algorithm; every key stays published.
// When the signing key's algorithm is not alg (AALS_VC_ALG changed since it was made), it
// logs a warning: the next `aalscert keys rotate` makes a key of alg.
func credentialKeys(ctx context.Context, db *models.DB, kr *masterkey.Keyring, publicURL, alg string, log *slog.Logger, now func() time.Time) (*api.IssuerKeys, error) {
	rows, err := models.EnsureSigningKey(ctx, db, models.KeyCredential, func() (models.SigningKey, error) {
		return newCredentialKeyRow(kr, publicURL, alg, now())
	})
	if err != nil {
		return nil, fmt.Errorf("credential keys: %w", err)
	}
	keys, err := loadCredentialKeys(rows, kr)
	if err != nil {
		return nil, err
	}
	if got := keys.Signer.Key().Alg; got != alg {
		log.Warn("the credential signing key's algorithm differs from AALS_VC_ALG; run `aalscert keys rotate` to sign with a key of AALS_VC_ALG",
			"kid", keys.Signer.Key().KID, "key_alg", got, "vc_alg", alg)
	}
	return keys, nil
}

// loadCredentialKeys opens rows (newest first): the newest active key signs, all are published.
func loadCredentialKeys(rows []models.SigningKey, kr *masterkey.Keyring) (*api.IssuerKeys, error) {
	out := &api.IssuerKeys{Published: make([]credential.PublicKey, 0, len(rows))}
	for _, r := range rows {
		der, err := kr.Open(r.PrivateEnc, keyAAD(r.KID))
		if err != nil {
			return nil, fmt.Errorf("credential key %s: %w (is AALS_MASTER_KEY the key it was made with?)", r.KID, err)
		}
		priv, err := credential.ParsePrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("credential key %s: %w", r.KID, err)
		}
		k := credential.Key{KID: r.KID, Alg: r.Alg, Private: priv}
		if out.Signer == nil && r.Active {
			if out.Signer, err = credential.NewSigner(k); err != nil {
				return nil, fmt.Errorf("credential key %s: %w", r.KID, err)
			}
		}
		out.Published = append(out.Published, k.Public())
	}
	if out.Signer == nil {
		return nil, fmt.Errorf("credential keys: no active key")
	}
	return out, nil
}

// rotateCredentialKey adds a credential signing key of alg, which signs from the next start
// of each server on. Old keys are kept, active and published, so credentials they signed
// still verify. It returns the new key's kid.
func rotateCredentialKey(ctx context.Context, db *models.DB, kr *masterkey.Keyring, publicURL, alg string, now time.Time) (string, error) {
	return rotateSigningKey(ctx, db, kr, models.KeyCredential, publicURL, alg, now)
}

// rotateSigningKey adds a published signing key of purpose (credential or receipt) and alg,
// newest of its purpose, so it signs from the next start of each server on; the older ones
// stay published. It returns the new key's kid.
func rotateSigningKey(ctx context.Context, db *models.DB, kr *masterkey.Keyring, purpose, publicURL, alg string, now time.Time) (string, error) {
	row, err := newCredentialKeyRow(kr, publicURL, alg, now)
	if err != nil {
		return "", err
	}
	row.Purpose, row.Active = purpose, true
	err = db.InTx(ctx, func(tx models.Tx) error {
		if err := models.LockSigningKeys(ctx, tx.DB, purpose); err != nil {
			return err
		}
		// Keep created_at strictly increasing, so the new key is the newest even if the
		// clock stepped back since the last one was made.
		rows, err := models.ListSigningKeys(ctx, tx.DB, purpose)
		if err != nil {
			return err
		}
		row.CreatedAt = row.CreatedAt.Truncate(time.Microsecond)
		if len(rows) > 0 && !row.CreatedAt.After(rows[0].CreatedAt) {
			row.CreatedAt = rows[0].CreatedAt.Add(time.Microsecond)
		}
		return tx.DB.Create(&row).Error
	})
	if err != nil {
		return "", fmt.Errorf("rotate %s key: %w", purpose, err)
	}
	return row.KID, nil
}

// keysRotate runs `aalscert keys rotate`: it adds a credential signing key of AALS_VC_ALG and
// a receipt signing key, and prints their kids.
func keysRotate(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := models.CheckSchema(ctx, db); err != nil {
		return err
	}
	kr, err := cfg.ensureKeyring(log)
	if err != nil {
		return err
	}
	kid, err := rotateCredentialKey(ctx, db, kr, cfg.PublicURL, cfg.VCAlg, time.Now())
	if err != nil {
		return err
	}
	receiptKID, err := rotateSigningKey(ctx, db, kr, models.KeyReceipt, cfg.PublicURL, receiptKeyAlg, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "new %s credential signing key: %s\nnew %s receipt signing key: %s\n"+
		"(servers sign with them from their next start; old keys stay published)\n", cfg.VCAlg, kid, receiptKeyAlg, receiptKID)
	return nil
}
