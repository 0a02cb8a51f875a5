package models

import (
	"context"
	"time"

	"github.com/lib/pq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Item kinds.
const (
	ItemSingle   = "single"
	ItemMultiple = "multiple"
)

// ItemOption is one answer choice of an item.
type ItemOption struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Vitals is the monitor panel an item may show, with a text alternative for screen readers.
type Vitals struct {
	HR                 *int   `json:"hr,omitempty"`
	BP                 string `json:"bp,omitempty"`
	SpO2               *int   `json:"spo2,omitempty"`
	ETCO2              *int   `json:"etco2,omitempty"`
	Rhythm             string `json:"rhythm,omitempty"`
	PeakAirwayPressure *int   `json:"peak_airway_pressure,omitempty"`
	Text               string `json:"text"`
}

// Item is a bank item. Correct and Rationale never reach a learner.
type Item struct {
	ID         string `gorm:"primaryKey"`
	CourseCode string
	Domain     string
	Kind       string
	Stem       string
	Vitals     *Vitals        `gorm:"serializer:json;type:jsonb"`
	Options    []ItemOption   `gorm:"serializer:json;type:jsonb"`
	Correct    pq.StringArray `gorm:"type:text[]"`
	Rationale  string
	RetiredAt  *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ListLiveItems returns the course's items that may be drawn (not retired), by ID.
func ListLiveItems(ctx context.Context, db *gorm.DB, course string) ([]Item, error) {
	var items []Item
	err := db.WithContext(ctx).Where("course_code = ? AND retired_at IS NULL", course).Order("id").Find(&items).Error
	return items, translate(err)
}

// FindItems returns the items with the given IDs (retired ones too), keyed by ID.
func FindItems(ctx context.Context, db *gorm.DB, ids []string) (map[string]Item, error) {
	var items []Item
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&items).Error; err != nil {
		return nil, translate(err)
	}
	out := make(map[string]Item, len(items))
	for _, it := range items {
		out[it.ID] = it
	}
	return out, nil
}

// UpsertItems inserts items or updates them by ID, in one statement. An item's course never
// changes, an item already as stated is left untouched, and a retired item stays retired
// (RetireItem and RestoreItem alone change that): the shipped banks are seeded on every
// start without bringing back what an admin retired.
func UpsertItems(ctx context.Context, db *gorm.DB, items []Item) error {
	_, err := upsertItems(ctx, db, items)
	return err
}

// upsertItems inserts items or updates them by ID in one statement, and returns how many
// rows it inserted or changed. An item's course never changes, an update that would change
// nothing is skipped (so updated_at means "content last changed"), and a retired item stays
// retired: only RestoreItem brings one back.
func upsertItems(ctx context.Context, db *gorm.DB, items []Item) (int64, error) {
	if len(items) == 0 {
		return 0, nil
	}
	res := db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "id"}},
		DoUpdates: append(clause.AssignmentColumns([]string{"domain", "kind", "stem", "vitals", "options", "correct", "rationale", "updated_at"}),
			clause.Assignment{Column: clause.Column{Name: "retired_at"}, Value: gorm.Expr("COALESCE(items.retired_at, excluded.retired_at)")}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "items.course_code = excluded.course_code"},
			clause.Expr{SQL: `(items.domain, items.kind, items.stem, items.vitals, items.options, items.correct, items.rationale, items.retired_at IS NOT NULL)
				IS DISTINCT FROM (excluded.domain, excluded.kind, excluded.stem, excluded.vitals, excluded.options, excluded.correct, excluded.rationale, items.retired_at IS NOT NULL OR excluded.retired_at IS NOT NULL)`},
		}},
	}).Create(&items)
	return res.RowsAffected, translate(res.Error)
}
