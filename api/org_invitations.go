package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// invitationResponse is an invitation to join an org. It never carries the token.
type invitationResponse struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"org_id"`
	Email      string     `json:"email"`
	Roles      []string   `json:"roles"`
	Status     string     `json:"status"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func newInvitationResponse(i models.MemberInvitation, now time.Time) invitationResponse {
	return invitationResponse{ID: i.ID.String(), OrgID: i.OrgID.String(), Email: i.Email, Roles: i.Roles,
		Status: i.Status(now), ExpiresAt: i.ExpiresAt.UTC(), AcceptedAt: utcPtr(i.AcceptedAt),
		RevokedAt: utcPtr(i.RevokedAt), CreatedAt: i.CreatedAt.UTC()}
}

// invitationInput is the body of POST /v1/orgs/{orgID}/member-invitations.
type invitationInput struct {
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

func (in invitationInput) validate() (string, []string, error) {
	v := &models.ValidationError{}
	email := models.NormalizeEmail(in.Email)
	if msg := emailAddressProblem(email); msg != "" {
		v.Add("email", msg)
	}
	roles, err := validRoles("roles", in.Roles)
	if ve, ok := err.(*models.ValidationError); ok {
		v.Fields = append(v.Fields, ve.Fields...)
	}
	return email, roles, v.Err()
}

// createMemberInvitation handles POST /v1/orgs/{orgID}/member-invitations: an admin invites
// an address to join with roles, by email.
func (s *Server) createMemberInvitation(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	var in invitationInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	email, roles, err := in.validate()
	if err != nil {
		return err
	}
	if err := sc.Org.CheckGrantable(roles); err != nil {
		return err
	}
	now := s.now()
	inv := &models.MemberInvitation{OrgID: sc.Org.ID, Email: email, Roles: roles, InvitedBy: sc.user().ID,
		ExpiresAt: now.Add(models.MemberInvitationTTL), CreatedAt: now}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		secret, err := models.CreateMemberInvitation(ctx(c), tx.DB, inv)
		if err != nil {
			return err
		}
		if err := s.sendInvitation(c, tx, sc, inv, secret); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "org_member_invitation.create", ObjectType: "org_member_invitation",
			ObjectID: inv.ID.String(), After: newInvitationResponse(*inv, now)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newInvitationResponse(*inv, now))
}

// sendInvitation emails the invitation link, within the transaction that created it.
func (s *Server) sendInvitation(c echo.Context, tx models.Tx, sc *orgScope, inv *models.MemberInvitation, secret string) error {
	var to *uuid.UUID
	if u, err := models.FindUserByEmail(ctx(c), tx.DB, inv.Email); err == nil {
		to = &u.ID
	} else if !models.IsNotFound(err) {
		return err
	}
	return s.sendMail(ctx(c), tx, outgoing{
		To: inv.Email, UserID: to, Template: "org_invitation", Secrets: []string{secret},
		Data: map[string]any{
			"OrgName": sc.Org.Name, "InviterName": sc.user().Name, "Roles": readableRoles(inv.Roles),
			"Link": s.cfg.AppURL + "/org-invitations/" + secret, "ExpiresIn": "7 days",
		},
	})
}

// readableRoles lists roles for a sentence: "admin", "verifier and member",
// "admin, verifier and member".
func readableRoles(roles []string) string {
	switch len(roles) {
	case 0:
		return ""
	case 1:
		return roles[0]
	}
	return strings.Join(roles[:len(roles)-1], ", ") + " and " + roles[len(roles)-1]
}

// listMemberInvitations handles GET /v1/orgs/{orgID}/member-invitations.
func (s *Server) listMemberInvitations(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListMemberInvitations(ctx(c), s.db.Gorm, models.MemberInvitationFilter{OrgID: &sc.Org.ID, Page: page})
	if err != nil {
		return err
	}
	now := s.now()
	return c.JSON(http.StatusOK, newList(rows, next, func(i models.MemberInvitation) invitationResponse {
		return newInvitationResponse(i, now)
	}))
}

// revokeMemberInvitation handles DELETE /v1/orgs/{orgID}/member-invitations/{invitationID}:
// the link stops working.
func (s *Server) revokeMemberInvitation(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := pathID(c, "invitationID")
	if err != nil {
		return err
	}
	now := s.now()
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		inv, err := models.RevokeMemberInvitation(ctx(c), tx.DB, sc.Org.ID, id, now)
		if err != nil {
			return err
		}
		before := newInvitationResponse(*inv, now)
		before.Status, before.RevokedAt = models.InvitationPending, nil
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "org_member_invitation.revoke", ObjectType: "org_member_invitation",
			ObjectID: id.String(), Before: before, After: newInvitationResponse(*inv, now)})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// acceptInput is the body of POST /v1/org-invitations/accept.
type acceptInput struct {
	Token string `json:"token"`
}

// acceptMemberInvitation handles POST /v1/org-invitations/accept: the signed-in user, whose
// verified address the invitation was sent to, joins the org. An invitation works once.
func (s *Server) acceptMemberInvitation(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	var in acceptInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Token) == "" {
		return models.Invalid("token", "is required")
	}
	m, err := models.AcceptMemberInvitation(ctx(c), s.db.Gorm, in.Token, u, s.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newMembershipResponse(*m))
}
