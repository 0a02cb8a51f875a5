package api

import (
	"errors"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/aalscert/aalscert/models"
)

// TestOrgScopeAllow checks the role rules of orgAccess on their own, including those no route
// exercises yet (verifier and instructor routes of unapproved orgs).
func TestOrgScopeAllow(t *testing.T) {
	t.Parallel()
	now := time.Now()
	approved := &models.Org{ApprovedAt: &now}
	pending := &models.Org{}
	user := &principal{User: &models.User{}}
	key := &principal{APIKey: &models.APIKey{Scopes: pq.StringArray{models.ScopeVerify}}}
	scopeless := &principal{APIKey: &models.APIKey{}}
	const ok, forbidden, notApproved = "ok", "forbidden", "org-not-approved"
	for _, tc := range []struct {
		name   string
		org    *models.Org
		caller *principal
		roles  []string
		anyOf  []string
		want   string
	}{
		{"AdminHoldsEveryRole", approved, user, []string{"admin"}, []string{"instructor"}, ok},
		{"AdminRoute", approved, user, []string{"admin"}, []string{"admin"}, ok},
		{"MemberIsNotAdmin", approved, user, []string{"member"}, []string{"admin"}, forbidden},
		{"VerifierIsNotAdmin", approved, user, []string{"verifier"}, []string{"admin"}, forbidden},
		{"EveryUserIsMember", approved, user, []string{"verifier"}, []string{"member"}, ok},
		{"Verifier", approved, user, []string{"verifier"}, []string{"verifier"}, ok},
		{"VerifierNeedsApproval", pending, user, []string{"verifier"}, []string{"verifier"}, notApproved},
		{"AdminVerifyingNeedsApproval", pending, user, []string{"admin"}, []string{"verifier"}, notApproved},
		{"InstructorNeedsApproval", pending, user, []string{"instructor"}, []string{"instructor"}, notApproved},
		{"MemberRouteNeedsNoApproval", pending, user, []string{"member"}, []string{"member", "verifier"}, ok},
		{"AnyOneRoleSuffices", approved, user, []string{"instructor"}, []string{"verifier", "instructor"}, ok},
		{"KeyIsVerifier", approved, key, []string{"verifier"}, []string{"verifier"}, ok},
		{"KeyIsNotMember", approved, key, []string{"verifier"}, []string{"member"}, forbidden},
		{"KeyIsNotAdmin", approved, key, []string{"verifier"}, []string{"admin"}, forbidden},
		{"KeyWithoutScope", approved, scopeless, []string{"verifier"}, []string{"verifier"}, forbidden},
		{"KeyOfPendingOrg", pending, key, []string{"verifier"}, []string{"verifier"}, notApproved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := &orgScope{Org: tc.org, Caller: tc.caller, Roles: tc.roles}
			got := ok
			if err := sc.allow(tc.anyOf); err != nil {
				got = toProblem(err).Code
			}
			if got != tc.want {
				t.Errorf("allow(%v) with roles %v = %s, want %s", tc.anyOf, tc.roles, got, tc.want)
			}
		})
	}
	var p *Problem
	if err := (&orgScope{Org: approved, Caller: user, Roles: []string{"member"}}).allow([]string{"admin"}); !errors.As(err, &p) || p.Status != 403 {
		t.Errorf("forbidden error = %v, want a 403 problem", err)
	}
}
