package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

const invitationPageTitle = "Join an organization"

// orgInvitationPage handles GET /org-invitations/{token}: what the invitation is for and a
// sign-in form to accept it. It only peeks at the invitation.
func (s *Server) orgInvitationPage(c echo.Context) error {
	d, _ := s.invitationPageData(c)
	return s.renderPage(c, http.StatusOK, "org_invitation", d)
}

// invitationPageData fills the page for the invitation in the path; ok is false if it is
// not open.
func (s *Server) invitationPageData(c echo.Context) (pageData, bool) {
	d := pageData{Title: invitationPageTitle, State: pageInvalid}
	token := c.Param("token")
	inv, org, err := models.PeekMemberInvitation(ctx(c), s.db.Gorm, token, s.now())
	if err != nil {
		return d, false
	}
	d.State, d.Token, d.Email, d.OrgName, d.Roles = pageForm, token, inv.Email, org.Name, readableRoles(inv.Roles)
	return d, true
}

// submitOrgInvitationPage handles POST /org-invitations/{token}: signs in with the same checks
// and failed-login throttling as POST /v1/auth/login, then accepts the invitation.
func (s *Server) submitOrgInvitationPage(c echo.Context) error {
	d, ok := s.invitationPageData(c)
	if !ok {
		return s.renderPage(c, http.StatusUnprocessableEntity, "org_invitation", d)
	}
	in := loginRequest{Email: c.FormValue("email"), Password: c.FormValue("password"), TOTPCode: c.FormValue("totp_code")}
	fail := func(status int, msg string) error {
		d.Error = msg
		return s.renderPage(c, status, "org_invitation", d)
	}
	if in.validate() != nil {
		return fail(http.StatusUnprocessableEntity, "Enter your email address and password.")
	}
	u, _, err := s.signIn(c, in)
	if status, msg, needTOTP, ok := signInFailure(err, in.TOTPCode != ""); ok {
		d.NeedTOTP = needTOTP
		return fail(status, msg)
	}
	if err != nil {
		return err
	}
	_, err = models.AcceptMemberInvitation(ctx(c), s.db.Gorm, c.Param("token"), u, s.now())
	switch {
	case err == nil:
		d.State, d.Error = pageDone, ""
		return s.renderPage(c, http.StatusOK, "org_invitation", d)
	case errors.Is(err, models.ErrEmailMismatch):
		return fail(http.StatusForbidden, "This invitation was sent to "+d.Email+"; sign in with that address.")
	case errors.Is(err, models.ErrEmailUnverified):
		return fail(http.StatusForbidden, "Confirm your email address first (see the email we sent you), then open this link again.")
	case errors.Is(err, models.ErrAlreadyMember):
		return fail(http.StatusConflict, "You are already a member of "+d.OrgName+".")
	case errors.Is(err, models.ErrTokenInvalid):
		d.State = pageInvalid
		return s.renderPage(c, http.StatusUnprocessableEntity, "org_invitation", d)
	}
	return err
}
