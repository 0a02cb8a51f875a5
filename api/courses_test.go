package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/aalscert/aalscert/models"
)

// courseBody is the part of a course answer the tests read.
type courseBody struct {
	Code                string `json:"code"`
	Title               string `json:"title"`
	SkillsCheckRequired bool   `json:"skills_check_required"`
	CE                  struct {
		ApprovalExpires *string `json:"approval_expires"`
		Status          string  `json:"status"`
	} `json:"ce"`
	Offerings []struct {
		Kind  string `json:"kind"`
		Price struct {
			Amount   int    `json:"amount"`
			Currency string `json:"currency"`
		} `json:"price"`
		CECredits *float64 `json:"ce_credits"`
		Active    bool     `json:"active"`
	} `json:"offerings"`
	Exam struct {
		Questions   int                `json:"questions"`
		PassPercent int                `json:"pass_percent"`
		Blueprint   map[string]float64 `json:"blueprint"`
	} `json:"exam"`
}

// offering returns the offering of kind, failing if there is none.
func (c courseBody) offering(t testing.TB, kind string) (amount int, credits *float64, active bool) {
	t.Helper()
	for _, o := range c.Offerings {
		if o.Kind == kind {
			return o.Price.Amount, o.CECredits, o.Active
		}
	}
	t.Fatalf("%s has no %s offering: %+v", c.Code, kind, c.Offerings)
	return 0, nil, false
}

func (e *env) course(t testing.TB, code string) courseBody {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/v1/courses/" + code})
	if r.Code != 200 {
		t.Fatalf("GET course %s: %d %s", code, r.Code, r.Body)
	}
	var c courseBody
	r.decode(t, &c)
	return c
}

// fieldErrors returns the fields named in a validation problem.
func (r *resp) fieldErrors(t testing.TB) []string {
	t.Helper()
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	r.decode(t, &p)
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

func TestCatalogIsPublic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	e.run(t, []scenario{
		{name: "List", req: req{method: "GET", path: "/v1/courses"}, wantStatus: 200},
		{name: "One", req: req{method: "GET", path: "/v1/courses/AALS"}, wantStatus: 200},
		{name: "LowerCaseCode", req: req{method: "GET", path: "/v1/courses/acls"}, wantStatus: 200},
		{name: "Unknown", req: req{method: "GET", path: "/v1/courses/BLS"}, wantStatus: 404, wantType: "not-found"},
	})
	var list struct{ Items []courseBody }
	e.do(t, req{method: "GET", path: "/v1/courses"}).decode(t, &list)
	codes := []string{}
	for _, c := range list.Items {
		codes = append(codes, c.Code)
	}
	if !slices.Equal(codes, []string{"AALS", "ACLS"}) {
		t.Fatalf("catalog codes = %v, want [AALS ACLS]", codes)
	}
	aals, acls := list.Items[0], list.Items[1]
	if amt, credits, active := aals.offering(t, "initial"); amt != 29500 || credits == nil || *credits != 8 || !active {
		t.Errorf("AALS initial = %d cents, %v credits, active %v; want 29500, 8, true", amt, credits, active)
	}
	if amt, credits, _ := acls.offering(t, "renewal"); amt != 14900 || credits == nil || *credits != 4 {
		t.Errorf("ACLS renewal = %d cents, %v credits; want 14900, 4", amt, credits)
	}
	if aals.SkillsCheckRequired || !acls.SkillsCheckRequired {
		t.Errorf("skills check AALS %v, ACLS %v; want false, true", aals.SkillsCheckRequired, acls.SkillsCheckRequired)
	}
	if aals.CE.Status != "approved" || aals.Exam.Questions != 30 || aals.Exam.PassPercent != 84 || len(aals.Exam.Blueprint) != 5 {
		t.Errorf("AALS CE %q, exam %+v; want approved, 30 questions at 84%% over 5 domains", aals.CE.Status, aals.Exam)
	}
}

func TestCECreditsShownOnlyWhileApprovalValid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin := e.token(t, e.adminUser(t))
	today := e.clock.Now().Format("2006-01-02") // 2026-11-21
	for _, tc := range []struct {
		expires, wantStatus string
		wantCredits         bool
	}{
		{today, "approved", true}, // the expiry day counts in full
		{"2026-11-20", "lapsed", false},
		{"2027-06-30", "approved", true},
	} {
		t.Run(tc.expires, func(t *testing.T) {
			r := e.do(t, req{method: "PATCH", path: "/v1/admin/courses/AALS", token: admin,
				body: map[string]any{"ce": map[string]any{"approval_expires": tc.expires}}})
			if r.Code != 200 {
				t.Fatalf("PATCH = %d %s", r.Code, r.Body)
			}
			c := e.course(t, "AALS")
			_, credits, _ := c.offering(t, "initial")
			if c.CE.Status != tc.wantStatus || (credits != nil) != tc.wantCredits {
				t.Fatalf("CE status %q, credits %v; want %q, shown %v", c.CE.Status, credits, tc.wantStatus, tc.wantCredits)
			}
		})
	}
}

func TestAdminUpdatesCourse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	admin := e.token(t, e.adminUser(t))
	_, provider := e.user(t, "provider@example.org")
	path := "/v1/admin/courses/AALS"
	price := func(cents any) map[string]any {
		return map[string]any{"offerings": map[string]any{"initial": map[string]any{"price_cents": cents}}}
	}
	e.run(t, []scenario{
		{name: "Anonymous", req: req{method: "PATCH", path: path, body: price(31000)}, wantStatus: 401, wantType: "unauthorized"},
		{name: "NotAdmin", req: req{method: "PATCH", path: path, token: provider, body: price(31000)}, wantStatus: 403, wantType: "forbidden"},
		{name: "UnknownCourse", req: req{method: "PATCH", path: "/v1/admin/courses/BLS", token: admin, body: price(31000)}, wantStatus: 404, wantType: "not-found"},
		{name: "UnknownField", req: req{method: "PATCH", path: path, token: admin, body: map[string]any{"price": 1}}, wantStatus: 400, wantType: "malformed-request"},
		{name: "UnknownOffering", req: req{method: "PATCH", path: path, token: admin, body: map[string]any{"offerings": map[string]any{"refresher": map[string]any{}}}}, wantStatus: 400, wantType: "malformed-request"},
		{name: "Empty", req: req{method: "PATCH", path: path, token: admin, body: map[string]any{}}, wantStatus: 422, wantType: "validation"},
		{name: "NegativePrice", req: req{method: "PATCH", path: path, token: admin, body: price(-5)}, wantStatus: 422, wantType: "validation"},
	})

	t.Run("EveryBadFieldAtOnce", func(t *testing.T) {
		r := e.do(t, req{method: "PATCH", path: path, token: admin, body: map[string]any{
			"title":     " ",
			"exam":      map[string]any{"pass_percent": 0, "blueprint": map[string]any{"monitoring_deterioration": 0.5, "post_arrest_care": 0.4}},
			"offerings": map[string]any{"renewal": map[string]any{"price_cents": -1, "ce_credits": 4.25}},
		}})
		if r.Code != 422 || r.problemType() != "validation" {
			t.Fatalf("status %d type %q, want 422 validation", r.Code, r.problemType())
		}
		got := r.fieldErrors(t)
		for _, want := range []string{"title", "exam.pass_percent", "exam.blueprint", "offerings.renewal.price_cents", "offerings.renewal.ce_credits"} {
			if !slices.Contains(got, want) {
				t.Errorf("field errors %v lack %s", got, want)
			}
		}
		if c := e.course(t, "AALS"); c.Title != "Advanced Anesthesia Life Support" {
			t.Errorf("title = %q after a refused change", c.Title)
		}
	})
	t.Run("BadDate", func(t *testing.T) {
		r := e.do(t, req{method: "PATCH", path: path, token: admin, body: map[string]any{"ce": map[string]any{"approval_expires": "31/12/2029"}}})
		if got := r.fieldErrors(t); r.Code != 422 || !slices.Equal(got, []string{"ce.approval_expires"}) {
			t.Fatalf("status %d, fields %v; want 422 [ce.approval_expires]", r.Code, got)
		}
	})

	t.Run("PriceSettingsAndAudit", func(t *testing.T) {
		r := e.do(t, req{method: "PATCH", path: path, token: admin, body: map[string]any{
			"title":          "Advanced Anesthesia Life Support (2026)",
			"exam":           map[string]any{"attempts": 2},
			"renewal_window": map[string]any{"after_days": 45},
			"offerings":      map[string]any{"initial": map[string]any{"price_cents": 31000}, "renewal": map[string]any{"active": false}},
		}})
		if r.Code != 200 {
			t.Fatalf("PATCH = %d %s", r.Code, r.Body)
		}
		c := e.course(t, "AALS")
		amt, _, _ := c.offering(t, "initial")
		_, _, renewalActive := c.offering(t, "renewal")
		if amt != 31000 || renewalActive || c.Title != "Advanced Anesthesia Life Support (2026)" {
			t.Fatalf("after PATCH: initial %d, renewal active %v, title %q", amt, renewalActive, c.Title)
		}
		course, _ := models.FindCourse(context.Background(), e.db.Gorm, "AALS")
		if course.Exam.Attempts != 2 || course.Exam.Questions != 30 || course.RenewalWindowAfterDays != 45 || course.RenewalWindowBeforeDays != 90 {
			t.Errorf("stored exam %+v, window %d/%d; want attempts 2 of 30 questions, window 90/45",
				course.Exam, course.RenewalWindowBeforeDays, course.RenewalWindowAfterDays)
		}
		var before, after json.RawMessage
		err := e.db.Pool.QueryRow(context.Background(),
			`SELECT before, after FROM audit_log WHERE action = 'course.update' AND object_id = 'AALS' ORDER BY id DESC LIMIT 1`).Scan(&before, &after)
		if err != nil {
			t.Fatalf("no audit row: %v", err)
		}
		var b, a courseBody
		_ = json.Unmarshal(before, &b)
		_ = json.Unmarshal(after, &a)
		if ba, _, _ := b.offering(t, "initial"); ba != 29500 {
			t.Errorf("audit before price = %d, want 29500", ba)
		}
		if aa, _, _ := a.offering(t, "initial"); aa != 31000 {
			t.Errorf("audit after price = %d, want 31000", aa)
		}
	})
}

func TestPriceChangeLeavesExistingOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ctx := context.Background()
	buyer, _ := e.user(t, "buyer@example.org")
	off, err := models.FindOffering(ctx, e.db.Gorm, "ACLS", models.OfferingInitial)
	if err != nil {
		t.Fatal(err)
	}
	o := &models.Order{Kind: models.OrderEnrollment, BuyerID: buyer.ID, CourseCode: "ACLS", Offering: off.Kind,
		Quantity: 1, UnitAmount: off.PriceCents, Amount: off.PriceCents, Currency: off.Currency}
	if err := models.CreateOrder(ctx, e.db.Gorm, o); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, req{method: "PATCH", path: "/v1/admin/courses/ACLS", token: e.token(t, e.adminUser(t)),
		body: map[string]any{"offerings": map[string]any{"initial": map[string]any{"price_cents": 25900}}}})
	if r.Code != 200 {
		t.Fatalf("PATCH = %d %s", r.Code, r.Body)
	}
	got, err := models.FindOrder(ctx, e.db.Gorm, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Amount != 19900 || got.UnitAmount != 19900 {
		t.Fatalf("order amount = %d (unit %d) after the price change, want 19900", got.Amount, got.UnitAmount)
	}
	if now, _ := models.FindOffering(ctx, e.db.Gorm, "ACLS", models.OfferingInitial); now.PriceCents != 25900 {
		t.Fatalf("offering price = %d, want 25900", now.PriceCents)
	}
}
