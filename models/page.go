package models

import (
	"time"

	"gorm.io/gorm"
)

// Cursor is a position in a list ordered by (created_at DESC, id DESC).
type Cursor struct {
	Time time.Time `json:"t"`
	ID   string    `json:"id"`
}

// Page asks for up to Limit items after a cursor.
type Page struct {
	Limit int
	After Cursor
}

// apply narrows q to the page: newest first, keyed on (created_at, id), one extra row to
// know whether another page follows.
func (p Page) apply(q *gorm.DB, table string) *gorm.DB {
	if p.After.ID != "" {
		q = q.Where("("+table+".created_at, "+table+".id::text) < (?, ?)", p.After.Time, p.After.ID)
	}
	return q.Order(table + ".created_at DESC").Order(table + ".id DESC").Limit(p.Limit + 1)
}

// cut trims the extra row apply asked for and returns the next cursor, if any.
func cut[T any](p Page, rows []T, key func(T) Cursor) ([]T, *Cursor) {
	if len(rows) <= p.Limit {
		return rows, nil
	}
	rows = rows[:p.Limit]
	next := key(rows[len(rows)-1])
	return rows, &next
}
