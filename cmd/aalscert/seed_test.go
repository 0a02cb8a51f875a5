package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aalscert/aalscert/internal/pgtest"
	"github.com/aalscert/aalscert/models"
)

// TestServeSeedsCatalogOnceKeepingAdminEdits starts the server on an empty database, finds
// AALS and ACLS in the public catalog, lets an admin edit one, and starts again: the edit
// stays.
func TestServeSeedsCatalogOnceKeepingAdminEdits(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	cfg, err := loadConfig(map[string]string{"DATABASE_URL": url, "AALS_DATA_DIR": t.TempDir(), "AALS_ADMIN_PASSWORD": "a long admin passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	base, _, stop := startServe(t, cfg)
	type catalog struct {
		Items []struct {
			Code      string `json:"code"`
			Title     string `json:"title"`
			Offerings []struct {
				Kind  string `json:"kind"`
				Price struct {
					Amount int `json:"amount"`
				} `json:"price"`
			} `json:"offerings"`
		} `json:"items"`
	}
	var list catalog
	getJSON(t, base+"/v1/courses", &list)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.Items[0].Code != "AALS" || list.Items[1].Code != "ACLS" || len(list.Items[0].Offerings) != 2 {
		t.Fatalf("catalog after first start = %+v, want AALS and ACLS with two offerings each", list.Items)
	}

	db, err := models.Open(context.Background(), url, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	title, price := "AALS (edited)", 31000
	_, _, err = models.UpdateCourse(context.Background(), db.Gorm, "AALS", models.CourseUpdate{Title: &title,
		Offerings: map[string]models.OfferingUpdate{models.OfferingInitial: {PriceCents: &price}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	base, _, stop = startServe(t, cfg)
	list = catalog{}
	getJSON(t, base+"/v1/courses", &list)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	aals := list.Items[0]
	if len(list.Items) != 2 || aals.Title != title || aals.Offerings[0].Kind != "initial" || aals.Offerings[0].Price.Amount != price {
		t.Fatalf("catalog after restart = %+v, want the admin's title and price kept", list.Items)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d, want 200", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
