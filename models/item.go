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
// changes; a retired item stays retired unless RetiredAt is cleared on purpose.
func UpsertItems(ctx context.Context, db *gorm.DB, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	err := db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"domain", "kind", "stem", "vitals", "options", "correct", "rationale", "retired_at", "updated_at"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "items.course_code = excluded.course_code"}}},
	}).Create(&items).Error
	return translate(err)
}
