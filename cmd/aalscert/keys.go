package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/aalscert/aalscert/authtoken"
	"github.com/aalscert/aalscert/masterkey"
	"github.com/aalscert/aalscert/models"
)

// accessTokenTTL is the lifetime of an access token; refresh tokens renew it.
const accessTokenTTL = 15 * time.Minute

func keyAAD(kid string) []byte { return []byte("signing_key:" + kid) }

// accessIssuer loads the access-token keys, generating the first on a new database, and
// returns an issuer that signs with the newest.
func accessIssuer(ctx context.Context, db *models.DB, kr *masterkey.Keyring, publicURL string, now func() time.Time) (*authtoken.Issuer, error) {
	rows, err := models.EnsureSigningKey(ctx, db, models.KeyAccess, func() (models.SigningKey, error) {
		k := authtoken.NewKey()
		return models.SigningKey{
			KID: k.KID, Alg: "EdDSA", PublicJWK: k.PublicJWK(), CreatedAt: now().UTC(),
			PrivateEnc: kr.Seal(k.Private.Seed(), keyAAD(k.KID)),
		}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("access-token keys: %w", err)
	}
	keys := make([]authtoken.Key, 0, len(rows))
	for _, r := range rows {
		seed, err := kr.Open(r.PrivateEnc, keyAAD(r.KID))
		if err != nil {
			return nil, fmt.Errorf("access-token key %s: %w (is AALS_MASTER_KEY the key it was made with?)", r.KID, err)
		}
		keys = append(keys, authtoken.Key{KID: r.KID, Private: ed25519.NewKeyFromSeed(seed)})
	}
	return authtoken.NewIssuer(publicURL, accessTokenTTL, now, keys...)
}
