package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aalscert/aalscert/models"
)

// TestExamAdminRoutesArePlatformAdminOnly checks every platform-admin exam route: 401 for
// an anonymous caller, 403 for a signed-in provider.
func TestExamAdminRoutesArePlatformAdminOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.storeItems(t, fixtureItem("ACLS", "ACLS-T-1", "team_dynamics"))
	learner, tok := e.user(t, "learner@h.test")
	userPath := "/v1/admin/users/" + learner.ID.String() + "/accommodation"
	routes := []req{
		{method: "GET", path: "/v1/admin/courses/ACLS/items"},
		{method: "POST", path: "/v1/admin/courses/ACLS/items", body: "course: ACLS\n", ctype: "application/yaml"},
		{method: "POST", path: "/v1/admin/items/ACLS-T-1/retire"},
		{method: "POST", path: "/v1/admin/items/ACLS-T-1/restore"},
		{method: "GET", path: "/v1/admin/courses/ACLS/item-analysis"},
		{method: "GET", path: "/v1/admin/attempts?flagged=true"},
		{method: "GET", path: userPath},
		{method: "PUT", path: userPath, body: map[string]any{"multiplier": 1.5, "reason": "x"}},
		{method: "DELETE", path: userPath},
	}
	var scenarios []scenario
	for _, r := range routes {
		anon, provider := r, r
		provider.token = tok
		scenarios = append(scenarios,
			scenario{name: "Anonymous " + r.method + " " + r.path, req: anon, wantStatus: 401, wantType: "unauthorized"},
			scenario{name: "Provider " + r.method + " " + r.path, req: provider, wantStatus: 403, wantType: "forbidden"})
	}
	e.run(t, scenarios)
	if n := e.count(t, `SELECT count(*) FROM items WHERE retired_at IS NOT NULL`); n != 0 {
		t.Errorf("%d items retired by callers who may not", n)
	}
}

// itemBody is an item as the admin listing shows it.
type itemBody struct {
	ID        string   `json:"id"`
	Domain    string   `json:"domain"`
	Correct   []string `json:"correct"`
	Rationale string   `json:"rationale"`
	Vitals    *struct {
		ETCO2 *int   `json:"etco2"`
		Text  string `json:"text"`
	} `json:"vitals"`
	RetiredAt *string `json:"retired_at"`
}

func (e *env) listItems(t *testing.T, token, query string) (ids []string, next string) {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/admin/courses/ACLS/items" + query, token: token})
	if r.Code != 200 {
		t.Fatalf("list items%s: %d %s", query, r.Code, r.Body)
	}
	var list struct {
		Items      []itemBody `json:"items"`
		NextCursor string     `json:"next_cursor"`
	}
	r.decode(t, &list)
	for _, it := range list.Items {
		ids = append(ids, it.ID)
	}
	return ids, list.NextCursor
}

func TestAdminListItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.adminToken(t)
	etco2 := 12
	withVitals := fixtureItem("ACLS", "ACLS-R-2", "rhythm_recognition")
	withVitals.Kind, withVitals.Correct = models.ItemMultiple, []string{"b", "c"}
	withVitals.Vitals = &models.Vitals{ETCO2: &etco2, Text: "ETCO2 12 mmHg"}
	retired := fixtureItem("ACLS", "ACLS-R-3", "rhythm_recognition")
	now := e.clock.Now()
	retired.RetiredAt = &now
	e.storeItems(t, fixtureItem("ACLS", "ACLS-R-1", "rhythm_recognition"), withVitals, retired,
		fixtureItem("ACLS", "ACLS-T-1", "team_dynamics"), fixtureItem("AALS", "AALS-P-1", "post_arrest_care"))

	t.Run("KeysAndRationale", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/v1/admin/courses/acls/items?domain=rhythm_recognition", token: admin})
		var list struct{ Items []itemBody }
		r.decode(t, &list)
		if len(list.Items) != 3 {
			t.Fatalf("got %d items, want the 3 rhythm items: %s", len(list.Items), r.Body)
		}
		v := list.Items[1]
		if v.ID != "ACLS-R-2" || strings.Join(v.Correct, ",") != "b,c" || v.Rationale == "" || v.Vitals == nil ||
			v.Vitals.ETCO2 == nil || *v.Vitals.ETCO2 != 12 || v.Vitals.Text != "ETCO2 12 mmHg" || v.RetiredAt != nil {
			t.Errorf("item = %+v, want ACLS-R-2 with key b,c, a rationale and its vitals", v)
		}
		if list.Items[2].RetiredAt == nil {
			t.Errorf("ACLS-R-3 has no retired_at")
		}
	})
	for _, tc := range []struct{ query, want string }{
		{"", "ACLS-R-1 ACLS-R-2 ACLS-R-3 ACLS-T-1"},
		{"?retired=false", "ACLS-R-1 ACLS-R-2 ACLS-T-1"},
		{"?retired=true", "ACLS-R-3"},
		{"?domain=team_dynamics", "ACLS-T-1"},
		{"?domain=nope", ""},
	} {
		t.Run("Filter"+tc.query, func(t *testing.T) {
			if ids, _ := e.listItems(t, admin, tc.query); strings.Join(ids, " ") != tc.want {
				t.Errorf("items%s = %v, want %s", tc.query, ids, tc.want)
			}
		})
	}
	t.Run("PagesByID", func(t *testing.T) {
		var got []string
		query := "?limit=3"
		for range 3 {
			ids, next := e.listItems(t, admin, query)
			got = append(got, ids...)
			if next == "" {
				break
			}
			query = "?limit=3&cursor=" + next
		}
		if strings.Join(got, " ") != "ACLS-R-1 ACLS-R-2 ACLS-R-3 ACLS-T-1" {
			t.Errorf("pages = %v, want every ACLS item once, by ID", got)
		}
	})
	e.run(t, []scenario{
		{name: "UnknownCourse", req: req{method: "GET", path: "/v1/admin/courses/BLS/items", token: admin}, wantStatus: 404, wantType: "not-found"},
		{name: "BadRetired", req: req{method: "GET", path: "/v1/admin/courses/ACLS/items?retired=yes", token: admin}, wantStatus: 422, wantType: "validation"},
		{name: "BadCursor", req: req{method: "GET", path: "/v1/admin/courses/ACLS/items?cursor=!!", token: admin}, wantStatus: 422, wantType: "validation"},
	})
}

func TestRetireAndRestoreItem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.adminToken(t)
	e.storeItems(t, fixtureItem("ACLS", "ACLS-T-1", "team_dynamics"), fixtureItem("ACLS", "ACLS-T-2", "team_dynamics"))
	live := func() string {
		items, err := models.ListLiveItems(context.Background(), e.db.Gorm, "ACLS")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		return strings.Join(ids, " ")
	}
	e.run(t, []scenario{
		{name: "Retire", req: req{method: "POST", path: "/v1/admin/items/ACLS-T-1/retire", token: admin}, wantStatus: 200},
		{name: "RetireAgain", req: req{method: "POST", path: "/v1/admin/items/ACLS-T-1/retire", token: admin}, wantStatus: 409, wantType: "item-retired"},
		{name: "RestoreLive", req: req{method: "POST", path: "/v1/admin/items/ACLS-T-2/restore", token: admin}, wantStatus: 409, wantType: "item-not-retired"},
		{name: "Unknown", req: req{method: "POST", path: "/v1/admin/items/ACLS-NOPE/retire", token: admin}, wantStatus: 404, wantType: "not-found"},
	})
	if got := live(); got != "ACLS-T-2" {
		t.Fatalf("live items after retiring ACLS-T-1 = %q, want ACLS-T-2 only", got)
	}
	t.Run("SeedingKeepsItRetired", func(t *testing.T) {
		if err := models.UpsertItems(context.Background(), e.db.Gorm, []models.Item{fixtureItem("ACLS", "ACLS-T-1", "team_dynamics")}); err != nil {
			t.Fatal(err)
		}
		if got := live(); got != "ACLS-T-2" {
			t.Fatalf("live items after seeding again = %q, want ACLS-T-1 still retired", got)
		}
	})
	e.run(t, []scenario{
		{name: "Restore", req: req{method: "POST", path: "/v1/admin/items/ACLS-T-1/restore", token: admin}, wantStatus: 200},
	})
	if got := live(); got != "ACLS-T-1 ACLS-T-2" {
		t.Fatalf("live items after restoring = %q, want both", got)
	}
	var actions []string
	rows, err := e.db.Pool.Query(context.Background(), `SELECT action || ':' || (before->>'retired_at' IS NULL)::text || ':' || (after->>'retired_at' IS NULL)::text
		FROM audit_log WHERE object_type = 'item' AND object_id = 'ACLS-T-1' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		actions = append(actions, a)
	}
	if got := strings.Join(actions, " "); got != "item.retire:true:false item.restore:false:true" {
		t.Errorf("audit = %s, want the retirement and the restoration with before and after", got)
	}
}

// bankYAML is an ACLS bank file of the given items, each written as YAML under items.
func bankYAML(course string, items ...string) string {
	return "course: " + course + "\nreview_status: sample content for review by the program's clinical faculty\nitems:\n" + strings.Join(items, "")
}

// yamlItem is a valid single-best-answer item in YAML.
func yamlItem(id, domain string) string {
	return fmt.Sprintf(`  - id: %s
    domain: %s
    kind: single
    stem: "A monitored patient in pulseless VT after one shock: what next?"
    options:
      - {id: a, text: Resume compressions at once}
      - {id: b, text: Check the pulse for 30 seconds}
      - {id: c, text: Intubate before anything else}
    correct: [a]
    rationale: Compressions resume right after the shock.
`, id, domain)
}

func TestImportItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.adminToken(t)
	e.storeItems(t, fixtureItem("ACLS", "ACLS-OLD-1", "team_dynamics"), fixtureItem("AALS", "AALS-X-1", "post_arrest_care"))
	retired := fixtureItem("ACLS", "ACLS-RET-1", "team_dynamics")
	now := e.clock.Now()
	retired.RetiredAt = &now
	e.storeItems(t, retired)
	path := "/v1/admin/courses/ACLS/items"

	t.Run("BadFileChangesNothingAndNamesEveryProblem", func(t *testing.T) {
		bad := bankYAML("ACLS",
			yamlItem("ACLS-NEW-1", "rhythm_recognition"),
			strings.Replace(yamlItem("ACLS-NEW-2", "rhythm_recognition"), "correct: [a]", "correct: [z]", 1),
			yamlItem("ACLS-NEW-3", "no_such_domain"),
			yamlItem("ACLS-NEW-1", "team_dynamics"))
		r := e.do(t, req{method: "POST", path: path, token: admin, body: bad, ctype: "application/yaml"})
		var p struct{ Errors []models.FieldError }
		r.decode(t, &p)
		var fields []string
		for _, f := range p.Errors {
			fields = append(fields, f.Field)
		}
		if r.Code != 422 || r.problemType() != "validation" || strings.Join(fields, " ") != "items[1].correct items[2].domain items[3].id" {
			t.Fatalf("got %d %s %v, want 422 validation on items[1].correct, items[2].domain, items[3].id", r.Code, r.problemType(), fields)
		}
		if n := e.count(t, `SELECT count(*) FROM items WHERE id LIKE 'ACLS-NEW-%'`); n != 0 {
			t.Fatalf("a bad file imported %d items", n)
		}
	})
	t.Run("ItemOfAnotherCourse", func(t *testing.T) {
		file := bankYAML("ACLS", yamlItem("ACLS-NEW-1", "rhythm_recognition"), yamlItem("AALS-X-1", "team_dynamics"))
		r := e.do(t, req{method: "POST", path: path, token: admin, body: file, ctype: "application/yaml"})
		var p struct{ Errors []models.FieldError }
		r.decode(t, &p)
		// The file's own check names the prefix; the other course's item is never touched.
		if r.Code != 422 || len(p.Errors) == 0 || p.Errors[0].Field != "items[1].id" {
			t.Fatalf("got %d %s, want 422 on items[1].id", r.Code, r.Body)
		}
		if n := e.count(t, `SELECT count(*) FROM items WHERE id = 'AALS-X-1' AND course_code = 'AALS' AND domain = 'post_arrest_care'`); n != 1 {
			t.Fatalf("the AALS item changed")
		}
	})
	e.run(t, []scenario{
		{name: "OtherCoursesFile", req: req{method: "POST", path: path, token: admin, body: bankYAML("AALS", yamlItem("AALS-NEW-1", "post_arrest_care")), ctype: "application/yaml"}, wantStatus: 422, wantType: "validation"},
		{name: "NotABankFile", req: req{method: "POST", path: path, token: admin, body: "- just\n- a list\n", ctype: "application/yaml"}, wantStatus: 400, wantType: "malformed-request"},
		{name: "NotYAML", req: req{method: "POST", path: path, token: admin, body: "course: [unclosed\n", ctype: "application/yaml"}, wantStatus: 400, wantType: "malformed-request"},
		{name: "Empty", req: req{method: "POST", path: path, token: admin, body: " ", ctype: "application/yaml"}, wantStatus: 400, wantType: "malformed-request"},
		{name: "CSV", req: req{method: "POST", path: path, token: admin, body: "id,domain\n", ctype: "text/csv"}, wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "UnknownCourse", req: req{method: "POST", path: "/v1/admin/courses/BLS/items", token: admin, body: bankYAML("BLS"), ctype: "application/yaml"}, wantStatus: 404, wantType: "not-found"},
	})

	var first struct {
		Created, Updated, Unchanged, Total int
		Shortfalls                         []struct {
			Domain       string
			Live, Needed int
		}
	}
	t.Run("GoodYAML", func(t *testing.T) {
		changed := strings.Replace(yamlItem("ACLS-OLD-1", "team_dynamics"), "Compressions resume", "Compressions always resume", 1)
		file := bankYAML("ACLS", yamlItem("ACLS-NEW-1", "rhythm_recognition"), yamlItem("ACLS-NEW-2", "shockable_pathway"),
			changed, yamlItem("ACLS-RET-1", "team_dynamics"))
		r := e.do(t, req{method: "POST", path: path, token: admin, body: file, ctype: "application/x-yaml"})
		if r.Code != 200 {
			t.Fatalf("import: %d %s", r.Code, r.Body)
		}
		r.decode(t, &first)
		if first.Created != 2 || first.Updated != 2 || first.Unchanged != 0 || first.Total != 4 {
			t.Fatalf("import = %+v, want 2 created, 2 updated of 4", first)
		}
		// Four items are far from a bank: every domain falls short of three per drawn item.
		if len(first.Shortfalls) != 7 || first.Shortfalls[0].Domain != "airway_ventilation" || first.Shortfalls[0].Needed != 9 {
			t.Errorf("shortfalls = %+v, want all 7 ACLS domains, airway_ventilation needing 9", first.Shortfalls)
		}
		if n := e.count(t, `SELECT count(*) FROM items WHERE id = 'ACLS-RET-1' AND retired_at IS NOT NULL AND stem LIKE 'A monitored%'`); n != 1 {
			t.Errorf("the retired item was brought back, or not updated")
		}
		if n := e.count(t, `SELECT count(*) FROM items WHERE id = 'ACLS-OLD-1' AND rationale = 'Compressions always resume right after the shock.'`); n != 1 {
			t.Errorf("ACLS-OLD-1 was not updated from the file")
		}
		if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'item.import' AND object_id = 'ACLS' AND jsonb_array_length(after->'item_ids') = 4`); n != 1 {
			t.Errorf("import audited %d times with its 4 item IDs, want once", n)
		}
	})
	t.Run("SameFileAsJSONChangesNothing", func(t *testing.T) {
		var items []map[string]any
		for _, id := range []string{"ACLS-NEW-1", "ACLS-NEW-2"} {
			domain := map[string]string{"ACLS-NEW-1": "rhythm_recognition", "ACLS-NEW-2": "shockable_pathway"}[id]
			items = append(items, map[string]any{"id": id, "domain": domain, "kind": "single",
				"stem": "A monitored patient in pulseless VT after one shock: what next?",
				"options": []map[string]string{{"id": "a", "text": "Resume compressions at once"},
					{"id": "b", "text": "Check the pulse for 30 seconds"}, {"id": "c", "text": "Intubate before anything else"}},
				"correct": []string{"a"}, "rationale": "Compressions resume right after the shock."})
		}
		body, _ := json.Marshal(map[string]any{"course": "ACLS", "review_status": "sample", "items": items})
		r := e.do(t, req{method: "POST", path: path, token: admin, body: body})
		var res struct{ Created, Updated, Unchanged, Total int }
		r.decode(t, &res)
		if r.Code != 200 || res.Created != 0 || res.Updated != 0 || res.Unchanged != 2 || res.Total != 2 {
			t.Fatalf("JSON import = %d %s, want 2 unchanged", r.Code, r.Body)
		}
	})
	t.Run("JSONWithUnknownField", func(t *testing.T) {
		body := `{"course": "ACLS", "review_status": "sample", "items": [{"id": "ACLS-NEW-9", "domian": "team_dynamics"}]}`
		r := e.do(t, req{method: "POST", path: path, token: admin, body: body})
		if r.Code != 422 || !strings.Contains(string(r.Body), `"items[0].domian"`) {
			t.Fatalf("got %d %s, want 422 naming items[0].domian", r.Code, r.Body)
		}
	})
}

// TestImportShippedBank imports the shipped ACLS bank file through the route, as YAML: every
// item is created and no domain falls short; importing it again changes nothing.
func TestImportShippedBank(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin := e.adminToken(t)
	file, err := os.ReadFile(filepath.Join("..", "content", "banks", "acls.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Created, Updated, Unchanged, Total int
		Shortfalls                         []any
	}
	var first, second result
	e.do(t, req{method: "POST", path: "/v1/admin/courses/ACLS/items", token: admin, body: file, ctype: "application/yaml"}).decode(t, &first)
	e.do(t, req{method: "POST", path: "/v1/admin/courses/ACLS/items", token: admin, body: file, ctype: "application/yaml"}).decode(t, &second)
	if first.Total < 100 || first.Created != first.Total || len(first.Shortfalls) != 0 {
		t.Fatalf("first import = %+v, want every item created and no shortfall", first)
	}
	if second.Unchanged != first.Total || second.Created != 0 || second.Updated != 0 {
		t.Fatalf("second import = %+v, want all %d unchanged", second, first.Total)
	}
	if n := e.count(t, `SELECT count(*) FROM items WHERE course_code = 'ACLS'`); n != first.Total {
		t.Errorf("ACLS items = %d, want %d", n, first.Total)
	}
}
