package api

import (
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// Org authorization. Every route under /v1/orgs/{orgID} starts with orgAccess, and nothing
// else decides who may act in an org. The rules:
//
//   - The caller is a signed-in user who is a member of the org, or an API key of the org.
//     Anyone else (a non-member, a key of another org, an unknown or malformed ID) gets the
//     same 404 not-found, so the answer never reveals whether the org exists. Platform
//     admins are no exception: they act on orgs through /v1/admin.
//   - A member holds the roles stored for them and `member`; an admin holds every role. An
//     API key holds `verifier` only, and only with the `verify` scope: it acts as a verifier
//     of its own org and nothing else.
//   - A route names the roles that may call it; holding any one of them is enough. A caller
//     in the org who holds none gets 403 forbidden.
//   - `verifier` and `instructor` vouch for other people, so they count only once a platform
//     admin approved the org: a caller who qualifies only through one of them in an
//     unapproved org gets 403 org-not-approved.
//
// A handler for a route that acts on an object inside the org (a member, a key, a cohort)
// must still look that object up within scope.Org, so an ID from another org is not found.

// orgScope is a caller that orgAccess let into an org.
type orgScope struct {
	Org    *models.Org
	Caller *principal
	Roles  []string // the roles stored for the member; [verifier] for an API key
}

// orgAccess parses :orgID, loads the org together with the caller's membership, and returns
// the scope if the caller holds one of anyOf there (see the rules above). Typical calls:
//
//	s.orgAccess(c, models.RoleAdmin)                       // admin routes
//	s.orgAccess(c, models.RoleVerifier)                    // verifier routes, API keys allowed
//	s.orgAccess(c, models.RoleMember, models.RoleVerifier) // every member and the org's keys
func (s *Server) orgAccess(c echo.Context, anyOf ...string) (*orgScope, error) {
	p := caller(c)
	if p == nil {
		return nil, problem(http.StatusUnauthorized, "unauthorized", "sign in or use an API key")
	}
	sc, err := s.loadOrgScope(c, p)
	if err != nil {
		return nil, err
	}
	if err := sc.allow(anyOf); err != nil {
		return nil, err
	}
	return sc, nil
}

// loadOrgScope finds the org of :orgID as the caller sees it, in one query.
func (s *Server) loadOrgScope(c echo.Context, p *principal) (*orgScope, error) {
	orgID, err := uuid.Parse(c.Param("orgID"))
	if err != nil {
		return nil, orgNotFound()
	}
	if p.APIKey != nil {
		if p.APIKey.OrgID != orgID {
			return nil, orgNotFound()
		}
		org, err := models.FindOrg(ctx(c), s.db.Gorm, orgID)
		if err != nil {
			return nil, hideNotFound(err)
		}
		return &orgScope{Org: org, Caller: p, Roles: []string{models.RoleVerifier}}, nil
	}
	m, err := models.FindMembership(ctx(c), s.db.Gorm, orgID, p.User.ID)
	if err != nil {
		return nil, hideNotFound(err)
	}
	return &orgScope{Org: &m.Org, Caller: p, Roles: m.Roles}, nil
}

// allow returns nil if the caller holds one of anyOf, counting roles that need approval only
// in an approved org.
func (sc *orgScope) allow(anyOf []string) error {
	blocked := false
	for _, need := range anyOf {
		if !sc.holds(need) {
			continue
		}
		if models.RoleNeedsApproval(need) && !sc.Org.Approved() {
			blocked = true
			continue
		}
		return nil
	}
	if blocked {
		return models.ErrOrgNotApproved
	}
	return problem(http.StatusForbidden, "forbidden", "your role in this organization does not allow this")
}

// holds reports whether the caller holds role in the org.
func (sc *orgScope) holds(role string) bool {
	if k := sc.Caller.APIKey; k != nil {
		return role == models.RoleVerifier && slices.Contains(k.Scopes, models.ScopeVerify)
	}
	return role == models.RoleMember || models.HasRole(sc.Roles, role)
}

// user returns the signed-in member, or nil for an API key.
func (sc *orgScope) user() *models.User { return sc.Caller.User }

// orgNotFound is the one answer for an org the caller may not see.
func orgNotFound() error {
	return problem(http.StatusNotFound, "not-found", "no such organization")
}

func hideNotFound(err error) error {
	if models.IsNotFound(err) {
		return orgNotFound()
	}
	return err
}

// pathID parses the path parameter name as a UUID; a malformed ID is simply not found.
func pathID(c echo.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, problem(http.StatusNotFound, "not-found", "no such resource")
	}
	return id, nil
}
