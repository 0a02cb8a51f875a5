package main

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/models"
)

// seedBanks loads every shipped question bank and upserts its items, on every start: the
// files are the source of truth for the items they ship, so a corrected item reaches every
// deployment, while an item an admin retired stays retired (models.UpsertItems never brings
// one back). Items an admin imported that no file names are left alone.
func seedBanks(ctx context.Context, db *gorm.DB) error {
	banks, err := content.Banks()
	if err != nil {
		return err
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, b := range banks {
			if err := models.UpsertItems(ctx, tx, b.ModelItems()); err != nil {
				return fmt.Errorf("bank of %s: %w", b.Course, err)
			}
		}
		return nil
	})
}
