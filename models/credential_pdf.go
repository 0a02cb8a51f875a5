package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// CreateCredentialPDF stores the certificate of a credential unless one is stored already:
// a certificate is rendered once, and a second writer (the job and a holder's download at
// the same moment) leaves the first in place. It reports whether pdf was stored.
func CreateCredentialPDF(ctx context.Context, db *gorm.DB, credentialID uuid.UUID, pdf []byte, now time.Time) (bool, error) {
	res := db.WithContext(ctx).Exec(`INSERT INTO credential_pdfs (credential_id, pdf, created_at) VALUES (?, ?, ?)
		ON CONFLICT (credential_id) DO NOTHING`, credentialID, pdf, now)
	return res.RowsAffected == 1, translate(res.Error)
}

// FindCredentialPDF returns the stored certificate of a credential, or ErrNotFound if none
// is stored yet.
func FindCredentialPDF(ctx context.Context, db *gorm.DB, credentialID uuid.UUID) ([]byte, error) {
	var rows [][]byte
	if err := db.WithContext(ctx).Raw(`SELECT pdf FROM credential_pdfs WHERE credential_id = ?`, credentialID).
		Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return rows[0], nil
}

// MarkCredentialNotified records that the holder was emailed their new credential, once: it
// reports true only to the caller that set notified_at, so in a transaction that also queues
// the email a retried or repeated job sends it once.
func MarkCredentialNotified(ctx context.Context, db *gorm.DB, credentialID uuid.UUID, now time.Time) (bool, error) {
	res := db.WithContext(ctx).Exec(`UPDATE credentials SET notified_at = ? WHERE id = ? AND notified_at IS NULL`, now, credentialID)
	return res.RowsAffected == 1, translate(res.Error)
}
