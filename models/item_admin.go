package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Errors of item administration.
var (
	ErrItemRetired    = NewError("item-retired", ErrConflict, "item is already retired")
	ErrItemNotRetired = NewError("item-not-retired", ErrConflict, "item is not retired")
)

// ItemFilter narrows ListItems; zero fields do not filter.
type ItemFilter struct {
	CourseCode string
	Domain     string
	Retired    *bool
	Page       Page // ordered by ID; the cursor's ID is the last item's
}

// ListItems returns the course's items in ID order, retired ones too unless the filter says
// otherwise, and the cursor of the next page.
func ListItems(ctx context.Context, db *gorm.DB, f ItemFilter) ([]Item, *Cursor, error) {
	q := db.WithContext(ctx).Where("course_code = ?", f.CourseCode)
	if f.Domain != "" {
		q = q.Where("domain = ?", f.Domain)
	}
	if f.Retired != nil {
		q = q.Where(map[bool]string{true: "retired_at IS NOT NULL", false: "retired_at IS NULL"}[*f.Retired])
	}
	if f.Page.After.ID != "" {
		q = q.Where("id > ?", f.Page.After.ID)
	}
	var rows []Item
	if err := q.Order("id").Limit(f.Page.Limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(it Item) Cursor { return Cursor{ID: it.ID} })
	return rows, next, nil
}

// FindItem returns the item, retired or not, or ErrNotFound.
func FindItem(ctx context.Context, db *gorm.DB, id string) (*Item, error) {
	var it Item
	if err := db.WithContext(ctx).First(&it, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &it, nil
}

// RetireItem retires the item, so it is never drawn again; attempts that used it keep it.
// It returns the item before and after, ErrItemRetired if it was retired already, and
// ErrNotFound if there is no such item.
func RetireItem(ctx context.Context, db *gorm.DB, id string, now time.Time) (before, after *Item, err error) {
	return setItemRetired(ctx, db, id, &now, now)
}

// RestoreItem puts a retired item back into the pool forms are drawn from. It returns the
// item before and after, ErrItemNotRetired if it was live, and ErrNotFound if there is no
// such item.
func RestoreItem(ctx context.Context, db *gorm.DB, id string, now time.Time) (before, after *Item, err error) {
	return setItemRetired(ctx, db, id, nil, now)
}

func setItemRetired(ctx context.Context, db *gorm.DB, id string, retiredAt *time.Time, now time.Time) (before, after *Item, err error) {
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var it Item
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&it, "id = ?", id).Error; err != nil {
			return translate(err)
		}
		switch {
		case retiredAt != nil && it.RetiredAt != nil:
			return ErrItemRetired
		case retiredAt == nil && it.RetiredAt == nil:
			return ErrItemNotRetired
		}
		b := it
		before = &b
		it.RetiredAt, it.UpdatedAt = retiredAt, now
		after = &it
		return translate(tx.Model(&Item{}).Where("id = ?", id).
			Updates(map[string]any{"retired_at": retiredAt, "updated_at": now}).Error)
	})
	return before, after, err
}

// ItemImport is the outcome of ImportItems.
type ItemImport struct {
	Created   int // new items
	Updated   int // items whose content changed
	Unchanged int // items already as the file states them
}

// ImportItems inserts or updates the course's items in one transaction and counts what
// changed. An item with RetiredAt set is retired (or stays retired), but a retired item
// stays retired whatever the import says: only RestoreItem brings one back. It returns a
// ValidationError naming items[i].id for each ID that belongs to another course or comes
// twice, and then changes nothing.
func ImportItems(ctx context.Context, db *gorm.DB, course string, items []Item) (ItemImport, error) {
	var out ItemImport
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.ID
		}
		var existing []struct{ ID, CourseCode string }
		if err := tx.Raw(`SELECT id, course_code FROM items WHERE id IN ? FOR UPDATE`, ids).Scan(&existing).Error; err != nil {
			return translate(err)
		}
		courseOf := make(map[string]string, len(existing))
		for _, e := range existing {
			courseOf[e.ID] = e.CourseCode
		}
		var ve ValidationError
		seen := make(map[string]bool, len(items))
		for i, it := range items {
			if c, ok := courseOf[it.ID]; ok && c != course {
				ve.Add(fmt.Sprintf("items[%d].id", i), "belongs to course "+c)
			}
			if seen[it.ID] {
				ve.Add(fmt.Sprintf("items[%d].id", i), "is repeated")
			}
			seen[it.ID] = true
			items[i].CourseCode = course
		}
		if err := ve.Err(); err != nil {
			return err
		}
		changed, err := upsertItems(ctx, tx, items)
		if err != nil {
			return err
		}
		out.Created = len(items) - len(existing)
		out.Updated = int(changed) - out.Created
		out.Unchanged = len(items) - out.Created - out.Updated
		return nil
	})
	return out, err
}

// CountLiveItems returns how many items of the course may be drawn, per domain.
func CountLiveItems(ctx context.Context, db *gorm.DB, course string) (map[string]int, error) {
	var rows []struct {
		Domain string
		N      int
	}
	err := db.WithContext(ctx).Raw(`SELECT domain, count(*) AS n FROM items
		WHERE course_code = ? AND retired_at IS NULL GROUP BY domain`, course).Scan(&rows).Error
	if err != nil {
		return nil, translate(err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Domain] = r.N
	}
	return out, nil
}
