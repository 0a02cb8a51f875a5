package main

import (
	"context"
	"testing"
	"time"

	"github.com/aalscert/aalscert/content"
	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

// TestServeSeedsBanksKeepingRetirements starts the server on an empty database and finds
// both shipped banks in the items table, item for item; an admin retires an item, and after
// a restart it is still retired while the rest stays as the files say.
func TestServeSeedsBanksKeepingRetirements(t *testing.T) {
	t.Parallel()
	banks, err := content.Banks()
	if err != nil {
		t.Fatalf("shipped banks: %v", err)
	}
	want := map[string]int{}
	for _, b := range banks {
		want[b.Course] = len(b.ModelItems())
	}
	if len(want) != 2 || want["AALS"] < 100 || want["ACLS"] < 100 {
		t.Fatalf("shipped banks hold %v items, want AALS and ACLS with at least 100 each", want)
	}

	url := pgtest.URL(t)
	cfg, err := loadConfig(map[string]string{"DATABASE_URL": url, "AALS_DATA_DIR": t.TempDir(), "AALS_ADMIN_PASSWORD": "a long admin passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, stop := startServe(t, cfg)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(context.Background(), url, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := func() (total, live map[string]int) {
		total, live = map[string]int{}, map[string]int{}
		rows, err := db.Pool.Query(context.Background(), `SELECT course_code, count(*), count(*) FILTER (WHERE retired_at IS NULL)
			FROM items GROUP BY course_code`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var code string
			var n, l int
			if err := rows.Scan(&code, &n, &l); err != nil {
				t.Fatal(err)
			}
			total[code], live[code] = n, l
		}
		return total, live
	}
	total, _ := counts()
	if total["AALS"] != want["AALS"] || total["ACLS"] != want["ACLS"] || len(total) != 2 {
		t.Fatalf("items after the first start = %v, want %v", total, want)
	}

	retired := banks[1].ModelItems()[0].ID
	if _, _, err := models.RetireItem(context.Background(), db.Gorm, retired, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, _, stop = startServe(t, cfg)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	total, live := counts()
	if total["ACLS"] != want["ACLS"] || total["AALS"] != want["AALS"] {
		t.Errorf("items after a restart = %v, want %v", total, want)
	}
	if it, err := models.FindItem(context.Background(), db.Gorm, retired); err != nil || it.RetiredAt == nil {
		t.Errorf("%s after a restart = %+v, %v; want it still retired", retired, it, err)
	}
	if live["ACLS"] != total["ACLS"]-1-retiredInFile(banks[1]) {
		t.Errorf("live ACLS items = %d of %d, want all but the retired ones", live["ACLS"], total["ACLS"])
	}
}

// retiredInFile counts the items a bank file itself retires.
func retiredInFile(b *content.Bank) int {
	n := 0
	for _, it := range b.ModelItems() {
		if it.RetiredAt != nil {
			n++
		}
	}
	return n
}
