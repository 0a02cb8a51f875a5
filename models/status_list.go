package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"
)

// Status purposes of the lists.
const (
	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"
)

// StatusList is one Bitstring status list: its entries are the credentials placed in it, and
// an entry is set while its credential is in the purpose's status.
type StatusList struct {
	ID        int
	Purpose   string
	Size      int
	PermKey   []byte
	Allocated int
	Version   int64
	ChangedAt time.Time
	CreatedAt time.Time
}

// statusSlot is a credential's place in a list.
type statusSlot struct {
	List  int
	Index int
}

// allocateSlot places one more credential in the open list of the purpose, opening a new list
// when every list of it is full. The n-th placement in a list gets index slot(key, size, n),
// a keyed permutation, so no index is handed out twice. The list row stays locked until tx
// ends, so placements in a list are serialized; a rolled-back transaction gives its
// placement back.
func allocateSlot(tx *gorm.DB, purpose string, rules IssueRules, rng io.Reader) (statusSlot, error) {
	for range 2 {
		var rows []struct {
			ID      int
			Size    int
			PermKey []byte
			N       int
		}
		err := tx.Raw(`UPDATE status_lists SET allocated = allocated + 1
			WHERE id = (SELECT id FROM status_lists WHERE purpose = ? AND allocated < size ORDER BY id LIMIT 1 FOR UPDATE)
				AND allocated < size
			RETURNING id, size, perm_key, allocated - 1 AS n`, purpose).Scan(&rows).Error
		if err != nil {
			return statusSlot{}, translate(err)
		}
		if len(rows) == 1 {
			r := rows[0]
			i, err := rules.SlotIndex(r.PermKey, r.Size, r.N)
			if err != nil {
				return statusSlot{}, err
			}
			return statusSlot{List: r.ID, Index: i}, nil
		}
		if err := openStatusList(tx, purpose, rules.ListSize, rng); err != nil {
			return statusSlot{}, err
		}
	}
	return statusSlot{}, fmt.Errorf("no open %s status list", purpose)
}

// openStatusList adds an empty list of the purpose with a new permutation key.
func openStatusList(tx *gorm.DB, purpose string, size int, rng io.Reader) error {
	if rng == nil {
		rng = rand.Reader
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(rng, key); err != nil {
		return fmt.Errorf("status list key: %w", err)
	}
	return translate(tx.Exec(`INSERT INTO status_lists (purpose, size, perm_key) VALUES (?, ?, ?)`,
		purpose, size, key).Error)
}

// FindStatusList returns the list, or ErrNotFound.
func FindStatusList(ctx context.Context, db *gorm.DB, id int) (*StatusList, error) {
	var l StatusList
	if err := db.WithContext(ctx).First(&l, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &l, nil
}

// StatusListEntries returns the list with the indexes of its set entries: the revoked
// credentials of a revocation list, the suspended ones of a suspension list. It reads in one
// statement, so the indexes and the version agree.
func StatusListEntries(ctx context.Context, db *gorm.DB, id int) (*StatusList, []int, error) {
	var l StatusList
	var set []int
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One snapshot for the list row and its entries.
		if err := tx.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").Error; err != nil {
			return err
		}
		if err := tx.First(&l, "id = ?", id).Error; err != nil {
			return err
		}
		switch l.Purpose {
		case PurposeRevocation:
			return tx.Raw(`SELECT revocation_index FROM credentials WHERE revocation_list = ? AND status = 'revoked'`, id).Scan(&set).Error
		case PurposeSuspension:
			return tx.Raw(`SELECT suspension_index FROM credentials WHERE suspension_list = ? AND status = 'suspended'`, id).Scan(&set).Error
		}
		return fmt.Errorf("status list %d: unknown purpose %q", id, l.Purpose)
	})
	if err != nil {
		return nil, nil, translate(err)
	}
	return &l, set, nil
}

// touchStatusList records a change of an entry of the list: a new version, changed at at.
func touchStatusList(tx *gorm.DB, id int, at time.Time) error {
	return translate(tx.Exec(`UPDATE status_lists SET version = version + 1, changed_at = ? WHERE id = ?`, at, id).Error)
}

// ErrPublicURLChanged is returned when AALS_PUBLIC_URL differs from the URL recorded at the
// first issuance.
var ErrPublicURLChanged = errors.New("AALS_PUBLIC_URL differs from the public URL recorded at the first issuance")

// RecordPublicURL records url as the issuer's public URL if none is recorded yet (the first
// issuance), in tx. An empty url records nothing.
func RecordPublicURL(ctx context.Context, tx *gorm.DB, url string, at time.Time) error {
	if url == "" {
		return nil
	}
	return translate(tx.WithContext(ctx).Exec(`INSERT INTO issuer_settings (public_url, recorded_at) VALUES (?, ?)
		ON CONFLICT (id) DO NOTHING`, url, at).Error)
}

// CheckPublicURL returns an error wrapping ErrPublicURLChanged, naming both URLs, if a public
// URL was recorded and url is another; nil if they agree or none is recorded yet.
func CheckPublicURL(ctx context.Context, db *gorm.DB, url string) error {
	var rows []string
	if err := db.WithContext(ctx).Raw(`SELECT public_url FROM issuer_settings`).Scan(&rows).Error; err != nil {
		return translate(err)
	}
	if len(rows) == 1 && rows[0] != url {
		return fmt.Errorf("%w: credentials were issued under %s, and every one of them names it as its issuer "+
			"and status list host; start with AALS_PUBLIC_URL=%s (not %s)", ErrPublicURLChanged, rows[0], rows[0], url)
	}
	return nil
}
