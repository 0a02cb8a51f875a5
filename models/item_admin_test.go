package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

func testItem(course, id, stem string) models.Item {
	return models.Item{ID: id, CourseCode: course, Domain: "all", Kind: models.ItemSingle, Stem: stem, Rationale: "r",
		Options: []models.ItemOption{{ID: "a", Text: "A"}, {ID: "b", Text: "B"}}, Correct: []string{"a"}}
}

func TestImportItems(t *testing.T) {
	t.Parallel()
	db := pgtest.Tx(t)
	ctx := context.Background()
	c, other := courseFixture(t, db, 90, 30), courseFixture(t, db, 90, 30)
	id := func(code, name string) string { return code + "-" + name }
	if err := models.UpsertItems(ctx, db, []models.Item{testItem(c.Code, id(c.Code, "1"), "one"), testItem(c.Code, id(c.Code, "2"), "two"),
		testItem(other.Code, id(other.Code, "1"), "theirs")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := models.RetireItem(ctx, db, id(c.Code, "2"), courseNow); err != nil {
		t.Fatal(err)
	}

	t.Run("CountsWhatChanged", func(t *testing.T) {
		res, err := models.ImportItems(ctx, db, c.Code, []models.Item{testItem(c.Code, id(c.Code, "1"), "one"),
			testItem(c.Code, id(c.Code, "2"), "two, reworded"), testItem(c.Code, id(c.Code, "3"), "three")})
		if err != nil || res != (models.ItemImport{Created: 1, Updated: 1, Unchanged: 1}) {
			t.Fatalf("import = %+v, %v; want 1 created, 1 updated, 1 unchanged", res, err)
		}
		it, err := models.FindItem(ctx, db, id(c.Code, "2"))
		if err != nil || it.Stem != "two, reworded" || it.RetiredAt == nil {
			t.Fatalf("item 2 = %+v, %v; want reworded and still retired", it, err)
		}
	})
	t.Run("AnotherCoursesItemOrARepeatChangesNothing", func(t *testing.T) {
		_, err := models.ImportItems(ctx, db, c.Code, []models.Item{testItem(c.Code, id(c.Code, "4"), "four"),
			testItem(c.Code, id(other.Code, "1"), "mine now"), testItem(c.Code, id(c.Code, "4"), "four again")})
		var ve *models.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Field != "items[1].id" || ve.Fields[1].Field != "items[2].id" {
			t.Fatalf("err = %v, want validation errors on items[1].id and items[2].id", err)
		}
		if _, err := models.FindItem(ctx, db, id(c.Code, "4")); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("item 4 was imported from a bad file: %v", err)
		}
		if it, _ := models.FindItem(ctx, db, id(other.Code, "1")); it.CourseCode != other.Code || it.Stem != "theirs" {
			t.Errorf("the other course's item = %+v, want it unchanged", it)
		}
	})
	t.Run("RetiredInTheFileRetires", func(t *testing.T) {
		gone := testItem(c.Code, id(c.Code, "1"), "one")
		gone.RetiredAt = &courseNow
		if _, err := models.ImportItems(ctx, db, c.Code, []models.Item{gone}); err != nil {
			t.Fatal(err)
		}
		live, err := models.CountLiveItems(ctx, db, c.Code)
		if err != nil || live["all"] != 1 {
			t.Fatalf("live items = %v, %v; want item 3 alone", live, err)
		}
	})
}
