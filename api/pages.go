package api

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
	"github.com/aalscert/aalscert/password"
)

//go:embed web/pages/*.html
var pageFiles embed.FS

// pageTemplates are the pages for links in emails, each rendered inside layout.html.
var pageTemplates = map[string]*template.Template{
	"verify_email":   parsePage("verify_email.html"),
	"reset_password": parsePage("reset_password.html"),
	"org_invitation": parsePage("org_invitation.html"),
}

func parsePage(file string) *template.Template {
	return template.Must(template.New("layout").ParseFS(pageFiles, "web/pages/layout.html", "web/pages/"+file))
}

// Page states.
const (
	pageForm    = "form"    // the link is live: show its form
	pageDone    = "done"    // the form was applied
	pageInvalid = "invalid" // the link is unknown, used or expired
)

// pageData is what a page template shows. Token is the live token, only ever put in the form.
type pageData struct {
	Title string
	State string
	Email string
	Token string
	Error string // field error of the password, for the reset form
	// For the org invitation page.
	OrgName  string
	Roles    string
	NeedTOTP bool
}

// pageRoutes registers the HTML pages that links in emails open. Opening a page never spends
// its token; the page's form (a POST) does.
func (s *Server) pageRoutes(e *echo.Echo) {
	e.GET("/verify-email", s.verifyEmailPage)
	e.POST("/verify-email", s.submitVerifyEmailPage)
	e.GET("/reset-password", s.resetPasswordPage)
	e.POST("/reset-password", s.submitResetPasswordPage)
	e.GET("/org-invitations/:token", s.orgInvitationPage)
	e.POST("/org-invitations/:token", s.submitOrgInvitationPage)
}

// renderPage writes a page with d, a pageData or a page's own data type. Pages carry live
// tokens in their URL and form, so they are never cached and never leak the URL as a referrer.
func (s *Server) renderPage(c echo.Context, status int, name string, d any) error {
	var buf bytes.Buffer
	if err := pageTemplates[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	return c.HTMLBlob(status, buf.Bytes())
}

// verifyEmailPage handles GET /verify-email?token=…. It only peeks at the token.
func (s *Server) verifyEmailPage(c echo.Context) error {
	d := pageData{Title: "Confirm your email address", State: pageInvalid}
	token := c.QueryParam("token")
	if tok, err := models.PeekUserToken(ctx(c), s.db.Gorm, token, models.TokenVerifyEmail, s.now()); err == nil {
		d.State, d.Email, d.Token = pageForm, tok.Email, token
	}
	return s.renderPage(c, http.StatusOK, "verify_email", d)
}

// submitVerifyEmailPage handles POST /verify-email (the page's form).
func (s *Server) submitVerifyEmailPage(c echo.Context) error {
	d := pageData{Title: "Confirm your email address", State: pageInvalid}
	u, err := s.applyEmailVerification(ctx(c), c.FormValue("token"))
	switch {
	case err == nil:
		d.State, d.Email = pageDone, u.Email
		return s.renderPage(c, http.StatusOK, "verify_email", d)
	case errors.Is(err, models.ErrTokenInvalid):
		return s.renderPage(c, http.StatusUnprocessableEntity, "verify_email", d)
	}
	return err
}

// resetPasswordPage handles GET /reset-password?token=…. It only peeks at the token.
func (s *Server) resetPasswordPage(c echo.Context) error {
	d := pageData{Title: "Choose a new password", State: pageInvalid}
	token := c.QueryParam("token")
	if _, err := models.PeekUserToken(ctx(c), s.db.Gorm, token, models.TokenResetPassword, s.now()); err == nil {
		d.State, d.Token = pageForm, token
	}
	return s.renderPage(c, http.StatusOK, "reset_password", d)
}

// submitResetPasswordPage handles POST /reset-password (the page's form). A password the
// policy refuses shows the form again with the reason.
func (s *Server) submitResetPasswordPage(c echo.Context) error {
	d := pageData{Title: "Choose a new password", State: pageInvalid}
	token, pw := c.FormValue("token"), c.FormValue("password")
	if _, err := models.PeekUserToken(ctx(c), s.db.Gorm, token, models.TokenResetPassword, s.now()); err != nil {
		return s.renderPage(c, http.StatusUnprocessableEntity, "reset_password", d)
	}
	if msg := password.Check(pw); msg != "" {
		d.State, d.Token, d.Error = pageForm, token, msg
		return s.renderPage(c, http.StatusUnprocessableEntity, "reset_password", d)
	}
	err := s.applyPasswordReset(ctx(c), token, pw)
	switch {
	case err == nil:
		d.State = pageDone
		return s.renderPage(c, http.StatusOK, "reset_password", d)
	case errors.Is(err, models.ErrTokenInvalid):
		return s.renderPage(c, http.StatusUnprocessableEntity, "reset_password", d)
	}
	return err
}

// signInFailure turns a failed sign-in on a page's form into the status and message the form
// shows again, and whether to ask for a TOTP code (asked for, or given with a wrong password);
// ok is false for nil and for errors that are not about signing in. Every page that signs in
// (invitations, renewal, the jobs dashboard) answers the same way.
func signInFailure(err error, totpGiven bool) (status int, msg string, needTOTP, ok bool) {
	var p *Problem
	switch {
	case err == nil:
		return 0, "", false, false
	case errors.As(err, &p) && p.Status == http.StatusTooManyRequests:
		return http.StatusTooManyRequests, "Too many failed sign-ins. Wait " + p.Headers["Retry-After"] + " seconds and try again.", false, true
	case errors.Is(err, models.ErrTOTPRequired):
		return http.StatusUnauthorized, "Enter the code from your authenticator app.", true, true
	case errors.Is(err, models.ErrInvalidCredentials):
		return http.StatusUnauthorized, "The email address, password or code is incorrect.", totpGiven, true
	}
	return 0, "", false, false
}
