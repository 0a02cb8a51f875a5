package api

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// orgRoutes registers orgs, their members, member invitations, API keys, and the platform
// admin's approval of orgs. Every route with {orgID} goes through orgAccess (authz.go).
func (s *Server) orgRoutes(g *echo.Group) {
	g.POST("/orgs", s.createOrg, s.idempotent)
	g.GET("/orgs", s.listOrgs)
	g.GET("/orgs/:orgID", s.getOrg)
	g.PATCH("/orgs/:orgID", s.updateOrg)

	g.GET("/orgs/:orgID/members", s.listMembers)
	g.PATCH("/orgs/:orgID/members/:userID", s.updateMember)
	g.DELETE("/orgs/:orgID/members/:userID", s.removeMember)

	g.POST("/orgs/:orgID/member-invitations", s.createMemberInvitation, s.idempotent)
	g.GET("/orgs/:orgID/member-invitations", s.listMemberInvitations)
	g.DELETE("/orgs/:orgID/member-invitations/:invitationID", s.revokeMemberInvitation)
	g.POST("/org-invitations/accept", s.acceptMemberInvitation)

	g.POST("/orgs/:orgID/api-keys", s.createAPIKey)
	g.GET("/orgs/:orgID/api-keys", s.listAPIKeys)
	g.DELETE("/orgs/:orgID/api-keys/:keyID", s.revokeAPIKey)

	g.GET("/admin/orgs", s.adminListOrgs)
	g.POST("/admin/orgs/:orgID/approve", s.approveOrg)
}

// orgResponse is an org as the API shows it, with the caller's roles in it.
type orgResponse struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Approved   bool       `json:"approved"`
	ApprovedAt *time.Time `json:"approved_at"`
	CreatedAt  time.Time  `json:"created_at"`
	MyRoles    []string   `json:"my_roles"`
}

func newOrgResponse(o *models.Org, myRoles []string) orgResponse {
	if myRoles == nil {
		myRoles = []string{}
	}
	return orgResponse{ID: o.ID.String(), Name: o.Name, Approved: o.Approved(), ApprovedAt: utcPtr(o.ApprovedAt),
		CreatedAt: o.CreatedAt.UTC(), MyRoles: myRoles}
}

// orgInput is the body of POST /v1/orgs and PATCH /v1/orgs/{orgID}.
type orgInput struct {
	Name *string `json:"name"`
}

// validOrgName returns the trimmed name or a validation error.
func validOrgName(name *string) (string, error) {
	if name == nil {
		return "", models.Invalid("name", "is required")
	}
	n := strings.TrimSpace(*name)
	if n == "" || utf8.RuneCountInString(n) > 200 {
		return "", models.Invalid("name", "must be 1 to 200 characters")
	}
	return n, nil
}

// createOrg handles POST /v1/orgs: any signed-in user creates an org and becomes its admin.
func (s *Server) createOrg(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	var in orgInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	name, err := validOrgName(in.Name)
	if err != nil {
		return err
	}
	now := s.now()
	o := &models.Org{Name: name, CreatedBy: u.ID, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateOrg(ctx(c), s.db.Gorm, o); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newOrgResponse(o, []string{models.RoleAdmin}))
}

// listOrgs handles GET /v1/orgs: the orgs the caller belongs to.
func (s *Server) listOrgs(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListMemberships(ctx(c), s.db.Gorm, models.MembershipFilter{UserID: u.ID, Page: page})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(m models.Membership) orgResponse {
		return newOrgResponse(&m.Org, m.Roles)
	}))
}

// getOrg handles GET /v1/orgs/{orgID}: any member, and the org's API keys.
func (s *Server) getOrg(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleMember, models.RoleVerifier)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(sc.Org, sc.Roles))
}

// updateOrg handles PATCH /v1/orgs/{orgID}: an admin renames the org.
func (s *Server) updateOrg(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	var in orgInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	name, err := validOrgName(in.Name)
	if err != nil {
		return err
	}
	var after *models.Org
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if after, err = models.UpdateOrg(ctx(c), tx.DB, sc.Org.ID, models.OrgUpdate{Name: &name}, s.now()); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "org.update", ObjectType: "org", ObjectID: sc.Org.ID.String(),
			Before: newOrgResponse(sc.Org, nil), After: newOrgResponse(after, nil)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(after, sc.Roles))
}

// adminListOrgs handles GET /v1/admin/orgs?approved=: every org, for platform admins.
func (s *Server) adminListOrgs(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	f := models.OrgFilter{}
	switch a := c.QueryParam("approved"); a {
	case "":
	case "true", "false":
		approved := a == "true"
		f.Approved = &approved
	default:
		return models.Invalid("approved", "must be true or false")
	}
	var err error
	if f.Page, err = pageParams(c); err != nil {
		return err
	}
	rows, next, err := models.ListOrgs(ctx(c), s.db.Gorm, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(o models.Org) orgResponse { return newOrgResponse(&o, nil) }))
}

// approveOrg handles POST /v1/admin/orgs/{orgID}/approve: a platform admin lets the org have
// verifiers, instructors and API keys.
func (s *Server) approveOrg(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "orgID")
	if err != nil {
		return err
	}
	var after *models.Org
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if after, err = models.ApproveOrg(ctx(c), tx.DB, id, admin.ID, s.now()); err != nil {
			return err
		}
		before := newOrgResponse(after, nil)
		before.Approved, before.ApprovedAt = false, nil
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "org.approve", ObjectType: "org", ObjectID: id.String(),
			Before: before, After: newOrgResponse(after, nil)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(after, nil))
}

// utcPtr returns t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
