package api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/aalscert/aalscert/models"
)

// TestUploadedCardCountsForRenewalOnceVerified follows a provider's outside card from upload
// to the renewal check: pending is not enough, verified is, rejected never is.
func TestUploadedCardCountsForRenewalOnceVerified(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedCourses(t)
	ctx := context.Background()
	admin := e.token(t, e.adminUser(t))
	acls, err := models.FindCourse(ctx, e.db.Gorm, "ACLS")
	if err != nil {
		t.Fatal(err)
	}
	check := func(u *models.User) error {
		return models.CheckRenewalEligibility(ctx, e.db.Gorm, u.ID, acls, e.clock.Now())
	}

	holder, tok := e.user(t, "holder@example.org")
	if err := check(holder); !errors.Is(err, models.ErrRenewalNoCredential) {
		t.Fatalf("before any upload: %v, want renewal-no-credential", err)
	}
	// The clock reads 2026-11-21; a card valid through 2027-01-31 is inside its 90-day window.
	c := e.uploadCard(t, tok, map[string]string{"expires_on": "2027-01-31"})
	if err := check(holder); !errors.Is(err, models.ErrRenewalUnverified) {
		t.Fatalf("with a pending card: %v, want renewal-unverified", err)
	}
	if r := e.do(t, req{method: "POST", path: "/v1/admin/external-credentials/" + c.ID + "/verify", token: admin}); r.Code != 200 {
		t.Fatalf("verify: %d %s", r.Code, r.Body)
	}
	if err := check(holder); err != nil {
		t.Fatalf("with a verified card: %v, want eligible", err)
	}

	// A card of another course does not count, nor does a rejected one.
	other, otherTok := e.user(t, "other@example.org")
	aals := e.uploadCard(t, otherTok, map[string]string{"course": "AALS", "expires_on": "2027-01-31"})
	rejected := e.uploadCard(t, otherTok, map[string]string{"expires_on": "2027-01-31"})
	for path, body := range map[string]any{
		"/v1/admin/external-credentials/" + aals.ID + "/verify":     nil,
		"/v1/admin/external-credentials/" + rejected.ID + "/reject": map[string]any{"reason": "not legible"},
	} {
		if r := e.do(t, req{method: "POST", path: path, token: admin, body: body}); r.Code != 200 {
			t.Fatalf("%s: %d %s", path, r.Code, r.Body)
		}
	}
	if err := check(other); !errors.Is(err, models.ErrRenewalNoCredential) {
		t.Fatalf("with an AALS card and a rejected ACLS card: %v, want renewal-no-credential", err)
	}
	if err := models.CheckRenewalEligibility(ctx, e.db.Gorm, uuid.New(), acls, e.clock.Now()); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("unknown user: %v, want a refusal", err)
	}
}
