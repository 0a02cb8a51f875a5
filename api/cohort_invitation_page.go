package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

const cohortInvitationPageName = "cohort_invitation"

func init() {
	pageTemplates[cohortInvitationPageName] = parsePage("cohort_invitation.html")
}

// cohortInvitationPageRoutes registers the page the link of a cohort invitation email opens.
func (s *Server) cohortInvitationPageRoutes(e *echo.Echo) {
	e.GET("/invitations/:token", s.cohortInvitationPage)
	e.POST("/invitations/:token", s.submitCohortInvitationPage)
}

// cohortInvitationPageData is what the page shows. Token is the live token, only ever put
// in the form.
type cohortInvitationPageData struct {
	Title      string
	State      string
	Email      string
	Token      string
	Error      string
	NeedTOTP   bool
	OrgName    string
	CohortName string
	Course     string
	Offering   string
	DueDate    string
	Result     string
}

// cohortInvitationPage handles GET /invitations/{token}: the org, cohort and course of the
// invitation and a sign-in form to accept it. Opening the page changes nothing.
func (s *Server) cohortInvitationPage(c echo.Context) error {
	d, _ := s.cohortInvitationPageData(c)
	return s.renderPage(c, http.StatusOK, cohortInvitationPageName, d)
}

// cohortInvitationPageData fills the page for the link in the path; ok is false if the link
// no longer works.
func (s *Server) cohortInvitationPageData(c echo.Context) (cohortInvitationPageData, bool) {
	d := cohortInvitationPageData{Title: "Join a certification cohort", State: pageInvalid}
	token := c.Param("token")
	id, version, err := s.cohortInvitationLink(token)
	if err != nil {
		return d, false
	}
	inv, err := models.FindCohortInvitationByID(ctx(c), s.db.Gorm, id)
	if err != nil || checkInvitationOpen(inv, version, s.now()) != nil {
		return d, false
	}
	co, err := models.FindCohort(ctx(c), s.db.Gorm, inv.OrgID, inv.CohortID)
	if err != nil || co.Archived() {
		return d, false
	}
	org, err := models.FindOrg(ctx(c), s.db.Gorm, inv.OrgID)
	if err != nil {
		return d, false
	}
	d.State, d.Token, d.Email = pageForm, token, inv.Email
	d.OrgName, d.CohortName, d.Course, d.Offering, d.DueDate = org.Name, co.Name, co.CourseCode, co.Offering, co.DueDate.Format(dateLayout)
	return d, true
}

// submitCohortInvitationPage handles POST /invitations/{token}: signs in with the same checks
// and failed-login throttling as POST /v1/auth/login, then accepts as
// POST /v1/invitations/{token}/accept does. The form needs the account's password, so a
// page of another site cannot accept for anyone.
func (s *Server) submitCohortInvitationPage(c echo.Context) error {
	d, ok := s.cohortInvitationPageData(c)
	if !ok {
		return s.renderPage(c, http.StatusUnprocessableEntity, cohortInvitationPageName, d)
	}
	in := loginRequest{Email: c.FormValue("email"), Password: c.FormValue("password"), TOTPCode: c.FormValue("totp_code")}
	fail := func(status int, msg string) error {
		d.Error = msg
		return s.renderPage(c, status, cohortInvitationPageName, d)
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
	out, err := s.acceptCohort(c, u, c.Param("token"))
	if err != nil {
		p := toProblem(err)
		if p == nil {
			return err
		}
		d.State = pageInvalid
		if p.Status == http.StatusConflict || p.Status == http.StatusForbidden {
			d.Error = p.Detail
		}
		return s.renderPage(c, p.Status, cohortInvitationPageName, d)
	}
	d.State = pageDone
	switch {
	case out.Status == models.CohortPendingApproval:
		d.Result = "Thank you. You signed in with another address than the invited one, or your address is not confirmed yet, so an admin of " + d.OrgName + " will approve your place. You can close this page."
		return s.renderPage(c, http.StatusAccepted, cohortInvitationPageName, d)
	case out.SelfPay:
		d.Result = "You are enrolled in " + d.Course + ". " + d.OrgName + " has no seat left, so the enrollment waits for your payment: sign in to aalscert to pay and start."
	default:
		d.Result = "You are enrolled in " + d.Course + ", paid by " + d.OrgName + ". Sign in to aalscert to start."
	}
	return s.renderPage(c, http.StatusOK, cohortInvitationPageName, d)
}
