package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// WatchlistEntry is a provider an org watches, by NPI or by credential code. UserID is the
// holder once known; events of the holder's credentials reach the org.
type WatchlistEntry struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	NPI       *string `gorm:"column:npi"`
	Code      *string
	UserID    *uuid.UUID
	AddedBy   *uuid.UUID
	CreatedAt time.Time
}

// TableName names the table.
func (WatchlistEntry) TableName() string { return "watchlist" }

// ErrWatchlistCodeUnknown is a watchlist entry by a code no credential has.
var ErrWatchlistCodeUnknown = NewError("credential-not-found", ErrInvalid, "no credential has this verification code")

// CreateWatchlistEntry adds e to its org's watchlist, resolving the holder from the NPI (a
// user who entered it) or the code (the credential's holder). An entry for the same NPI or
// code already on the list is returned instead, with created false, so adding twice is
// harmless.
func CreateWatchlistEntry(ctx context.Context, db *gorm.DB, e *WatchlistEntry) (created bool, err error) {
	db = db.WithContext(ctx)
	var holder []uuid.UUID
	switch {
	case e.Code != nil:
		if err := db.Raw(`SELECT user_id FROM credentials WHERE code = ?`, *e.Code).Scan(&holder).Error; err != nil {
			return false, translate(err)
		}
		if len(holder) == 0 {
			return false, ErrWatchlistCodeUnknown
		}
	case e.NPI != nil:
		if err := db.Raw(`SELECT id FROM users WHERE npi = ?`, *e.NPI).Scan(&holder).Error; err != nil {
			return false, translate(err)
		}
	}
	if len(holder) > 0 {
		e.UserID = &holder[0]
	}
	// ON CONFLICT DO NOTHING rather than catching the violation: the statement stays valid
	// inside a caller's transaction.
	var inserted []uuid.UUID
	if err := db.Raw(`INSERT INTO watchlist (id, org_id, npi, code, user_id, added_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		e.ID, e.OrgID, e.NPI, e.Code, e.UserID, e.AddedBy, e.CreatedAt).Scan(&inserted).Error; err != nil {
		return false, translate(err)
	}
	if len(inserted) == 1 {
		return true, nil
	}
	q := db.Where("org_id = ?", e.OrgID)
	if e.Code != nil {
		q = q.Where("code = ?", *e.Code)
	} else {
		q = q.Where("npi = ?", *e.NPI)
	}
	var existing WatchlistEntry
	if err := q.Take(&existing).Error; err != nil {
		return false, translate(err)
	}
	*e = existing
	return false, nil
}

// ListWatchlist returns a page of an org's watchlist, newest first.
func ListWatchlist(ctx context.Context, db *gorm.DB, orgID uuid.UUID, p Page) ([]WatchlistEntry, *Cursor, error) {
	var rows []WatchlistEntry
	q := p.apply(db.WithContext(ctx).Model(&WatchlistEntry{}).Where("org_id = ?", orgID), "watchlist")
	if err := q.Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(p, rows, func(e WatchlistEntry) Cursor { return Cursor{Time: e.CreatedAt, ID: e.ID.String()} })
	return rows, next, nil
}

// DeleteWatchlistEntry removes an entry of the org's watchlist; an entry of another org is
// ErrNotFound.
func DeleteWatchlistEntry(ctx context.Context, db *gorm.DB, orgID, id uuid.UUID) error {
	res := db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).Delete(&WatchlistEntry{})
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}
