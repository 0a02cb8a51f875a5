package api_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aalscert/aalscert/models"
)

func TestAccommodations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.adminToken(t)
	learner, learnerTok := e.user(t, "learner@h.test")
	path := "/v1/admin/users/" + learner.ID.String() + "/accommodation"
	grant := map[string]any{"multiplier": 1.5, "reason": "Documented reading accommodation"}

	e.run(t, []scenario{
		{name: "NoneYet", req: req{method: "GET", path: path, token: admin}, wantStatus: 404, wantType: "not-found"},
		{name: "DeleteNone", req: req{method: "DELETE", path: path, token: admin}, wantStatus: 404, wantType: "not-found"},
		{name: "Anonymous", req: req{method: "PUT", path: path, body: grant}, wantStatus: 401, wantType: "unauthorized"},
		{name: "NotAdmin", req: req{method: "PUT", path: path, token: learnerTok, body: grant}, wantStatus: 403, wantType: "forbidden"},
		{name: "NotAdminReads", req: req{method: "GET", path: path, token: learnerTok}, wantStatus: 403, wantType: "forbidden"},
		{name: "NotAdminDeletes", req: req{method: "DELETE", path: path, token: learnerTok}, wantStatus: 403, wantType: "forbidden"},
		{name: "MultiplierOne", req: req{method: "PUT", path: path, token: admin, body: map[string]any{"multiplier": 1, "reason": "x"}}, wantStatus: 422, wantType: "validation"},
		{name: "MultiplierOverFour", req: req{method: "PUT", path: path, token: admin, body: map[string]any{"multiplier": 4.05, "reason": "x"}}, wantStatus: 422, wantType: "validation"},
		{name: "MultiplierOffStep", req: req{method: "PUT", path: path, token: admin, body: map[string]any{"multiplier": 1.33, "reason": "x"}}, wantStatus: 422, wantType: "validation"},
		{name: "NoReason", req: req{method: "PUT", path: path, token: admin, body: map[string]any{"multiplier": 1.5, "reason": "  "}}, wantStatus: 422, wantType: "validation"},
		{name: "UnknownField", req: req{method: "PUT", path: path, token: admin, body: map[string]any{"multiplier": 1.5, "reason": "x", "until": "2027-01-01"}}, wantStatus: 400, wantType: "malformed-request"},
		{name: "UnknownUser", req: req{method: "PUT", path: "/v1/admin/users/00000000-0000-4000-8000-000000000001/accommodation", token: admin, body: grant}, wantStatus: 404, wantType: "not-found"},
		{name: "Grant", req: req{method: "PUT", path: path, token: admin, body: grant}, wantStatus: 200},
		{name: "Read", req: req{method: "GET", path: path, token: admin}, wantStatus: 200},
		{name: "Replace", req: req{method: "PUT", path: path, token: admin, body: map[string]any{"multiplier": 2, "reason": "Updated plan"}}, wantStatus: 200},
	})

	t.Run("EveryBadFieldAtOnce", func(t *testing.T) {
		r := e.do(t, req{method: "PUT", path: path, token: admin, body: map[string]any{"multiplier": 0.5}})
		var p struct{ Errors []models.FieldError }
		r.decode(t, &p)
		if r.Code != 422 || len(p.Errors) != 2 || p.Errors[0].Field != "multiplier" || p.Errors[1].Field != "reason" {
			t.Fatalf("got %d %+v, want 422 naming multiplier and reason", r.Code, p.Errors)
		}
	})
	t.Run("LaterAttemptsUseIt", func(t *testing.T) {
		m, err := models.TimeMultiplier(context.Background(), e.db.Gorm, learner.ID)
		if err != nil || m != 2 {
			t.Fatalf("TimeMultiplier = %v, %v; want 2", m, err)
		}
	})
	t.Run("AuditedBeforeAndAfter", func(t *testing.T) {
		var before, after []byte
		err := e.db.Pool.QueryRow(context.Background(), `SELECT before, after FROM audit_log
			WHERE action = 'accommodation.set' AND object_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, learner.ID.String()).Scan(&before, &after)
		if err != nil {
			t.Fatal(err)
		}
		var b, a struct{ Multiplier float64 }
		if json.Unmarshal(before, &b) != nil || json.Unmarshal(after, &a) != nil || b.Multiplier != 1.5 || a.Multiplier != 2 {
			t.Fatalf("audit before %s after %s, want 1.5 then 2", before, after)
		}
		if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'accommodation.set' AND before IS NULL`); n != 1 {
			t.Errorf("%d grants audited without a before, want the first one", n)
		}
	})
	t.Run("Withdraw", func(t *testing.T) {
		e.run(t, []scenario{
			{name: "Delete", req: req{method: "DELETE", path: path, token: admin}, wantStatus: 204},
			{name: "Gone", req: req{method: "GET", path: path, token: admin}, wantStatus: 404, wantType: "not-found"},
		})
		if m, err := models.TimeMultiplier(context.Background(), e.db.Gorm, learner.ID); err != nil || m != 1 {
			t.Fatalf("TimeMultiplier after withdrawal = %v, %v; want 1", m, err)
		}
		if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'accommodation.delete' AND object_id = $1 AND before IS NOT NULL AND after IS NULL`, learner.ID.String()); n != 1 {
			t.Errorf("withdrawals audited = %d, want 1", n)
		}
	})
}
