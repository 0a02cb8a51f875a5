package models

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"time"

	"gorm.io/gorm"
)

// SigningKey is an issuer or API signing key. PrivateEnc is sealed with the master key.
type SigningKey struct {
	KID        string `gorm:"column:kid;primaryKey"`
	Purpose    string
	Alg        string
	PrivateEnc []byte
	PublicJWK  json.RawMessage `gorm:"column:public_jwk;type:jsonb"`
	Active     bool
	CreatedAt  time.Time
	RetiredAt  *time.Time
}

// Key purposes. Each kind of token is signed with keys of its own purpose only.
const (
	KeyAccess     = "access"
	KeyCredential = "credential"
	KeyReceipt    = "receipt"
)

// ListSigningKeys returns the keys of a purpose, newest first.
func ListSigningKeys(ctx context.Context, db *gorm.DB, purpose string) ([]SigningKey, error) {
	var keys []SigningKey
	err := db.WithContext(ctx).Where("purpose = ?", purpose).Order("created_at DESC").Find(&keys).Error
	return keys, translate(err)
}

// LockSigningKeys takes, until the transaction ends, the advisory lock that serializes every
// change to the keys of a purpose (creation at start, rotation).
func LockSigningKeys(ctx context.Context, tx *gorm.DB, purpose string) error {
	h := fnv.New64a()
	h.Write([]byte("signing_key:" + purpose))
	return translate(tx.WithContext(ctx).Exec("SELECT pg_advisory_xact_lock(?)", int64(h.Sum64())).Error)
}

// EnsureSigningKey returns the keys of a purpose, creating one with create if there is none.
// An advisory lock per purpose makes servers starting together create exactly one.
func EnsureSigningKey(ctx context.Context, db *DB, purpose string, create func() (SigningKey, error)) ([]SigningKey, error) {
	var keys []SigningKey
	err := db.InTx(ctx, func(tx Tx) error {
		if err := LockSigningKeys(ctx, tx.DB, purpose); err != nil {
			return err
		}
		var err error
		if keys, err = ListSigningKeys(ctx, tx.DB, purpose); err != nil || len(keys) > 0 {
			return err
		}
		k, err := create()
		if err != nil {
			return err
		}
		k.Purpose, k.Active = purpose, true
		if err := tx.DB.Create(&k).Error; err != nil {
			return translate(err)
		}
		keys = []SigningKey{k}
		return nil
	})
	return keys, err
}
