package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// memberResponse is a member of an org as its admins see it.
type memberResponse struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
}

func newMemberResponse(m models.Member) memberResponse {
	return memberResponse{UserID: m.UserID.String(), Email: m.Email, Name: m.Name, Roles: m.Roles, CreatedAt: m.CreatedAt.UTC()}
}

// membershipResponse is the caller's membership of an org.
type membershipResponse struct {
	OrgID     string    `json:"org_id"`
	OrgName   string    `json:"org_name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
}

func newMembershipResponse(m models.Membership) membershipResponse {
	return membershipResponse{OrgID: m.ID.String(), OrgName: m.Name, Roles: m.Roles, CreatedAt: m.JoinedAt.UTC()}
}

// memberAudit is a membership as the audit log records it.
type memberAudit struct {
	OrgID  string   `json:"org_id"`
	UserID string   `json:"user_id"`
	Roles  []string `json:"roles"`
}

func newMemberAudit(m *models.OrgMember) *memberAudit {
	if m == nil {
		return nil
	}
	return &memberAudit{OrgID: m.OrgID.String(), UserID: m.UserID.String(), Roles: m.Roles}
}

// validRoles returns roles without duplicates in the canonical order, or a validation error
// on field.
func validRoles(field string, roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, models.Invalid(field, "must list at least one role")
	}
	for _, r := range roles {
		if !models.IsOrgRole(r) {
			return nil, models.Invalid(field, "roles are "+strings.Join(models.OrgRoles, ", "))
		}
	}
	var out []string
	for _, r := range models.OrgRoles {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// listMembers handles GET /v1/orgs/{orgID}/members.
func (s *Server) listMembers(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListMembers(ctx(c), s.db.Gorm, models.MemberFilter{OrgID: sc.Org.ID, Page: page})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, newMemberResponse))
}

// memberRolesInput is the body of PATCH /v1/orgs/{orgID}/members/{userID}.
type memberRolesInput struct {
	Roles []string `json:"roles"`
}

// updateMember handles PATCH /v1/orgs/{orgID}/members/{userID}: an admin replaces a member's
// roles. The org keeps at least one admin.
func (s *Server) updateMember(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	userID, err := pathID(c, "userID")
	if err != nil {
		return err
	}
	var in memberRolesInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	roles, err := validRoles("roles", in.Roles)
	if err != nil {
		return err
	}
	if err := sc.Org.CheckGrantable(roles); err != nil {
		return err
	}
	var m *models.Member
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		before, after, err := models.UpdateMemberRoles(ctx(c), tx.DB, sc.Org.ID, userID, roles, s.now())
		if err != nil {
			return err
		}
		if err := s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "org_member.update_roles", ObjectType: "org_member",
			ObjectID: sc.Org.ID.String() + "/" + userID.String(), Before: newMemberAudit(before), After: newMemberAudit(after)}); err != nil {
			return err
		}
		m, err = models.FindMember(ctx(c), tx.DB, sc.Org.ID, userID)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newMemberResponse(*m))
}

// removeMember handles DELETE /v1/orgs/{orgID}/members/{userID}. The org keeps at least one
// admin.
func (s *Server) removeMember(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	userID, err := pathID(c, "userID")
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		removed, err := models.DeleteMember(ctx(c), tx.DB, sc.Org.ID, userID)
		if err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "org_member.remove", ObjectType: "org_member",
			ObjectID: sc.Org.ID.String() + "/" + userID.String(), Before: newMemberAudit(removed)})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
