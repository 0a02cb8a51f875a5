package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"riverqueue.com/riverui"

	"github.com/aalscert/aalscert/models"
)

// The jobs dashboard is River's own web UI (riverqueue.com/riverui) under /admin/jobs, for
// platform admins in a browser. A browser cannot send the API's bearer tokens on page loads,
// so the dashboard has its own session: the sign-in page at /admin/sign-in checks the same
// password, TOTP and throttling as POST /v1/auth/login and sets the aals_admin cookie
// (HttpOnly, SameSite=Strict, Path=/admin, Secure behind https), which holds a random secret
// stored only as its SHA-256 in admin_sessions, for 8 hours.
//
// Cross-site request forgery is refused twice over. The cookie is SameSite=Strict, so a
// browser does not send it with a request started by another site. And the UI's changes
// (retry, cancel, delete, pause: POST, PUT, PATCH) must carry an Origin (or, lacking one, a
// Referer) of AALS_PUBLIC_URL's origin, which a page elsewhere cannot forge; the UI is served
// with Referrer-Policy same-origin so the browser sends its real Origin. River's UI cannot be
// made to send a token header, so the origin check stands in for one; the sign-in and sign-out
// forms, which are ours, carry a token: a random one mirrored in a cookie for the sign-in form,
// the session's csrf_token for the sign-out form.

const (
	jobsUIPrefix       = "/admin/jobs"
	adminSignInPath    = "/admin/sign-in"
	adminSessionCookie = "aals_admin"
	// adminFormCookie mirrors the sign-in form's anti-forgery token.
	adminFormCookie = "aals_admin_csrf"
	adminFormTTL    = time.Hour
	adminSignInName = "admin_sign_in"
)

func init() {
	pageTemplates[adminSignInName] = parsePage("admin_sign_in.html")
}

// adminSignInData is what the admin sign-in page shows.
type adminSignInData struct {
	Title    string
	State    string // "form", or "signed-in" for a live session
	Email    string
	Error    string
	NeedTOTP bool
	CSRF     string // the form's anti-forgery token
}

// jobsDashboardRoutes registers the admin sign-in page and River's UI behind the session it
// opens.
func (s *Server) jobsDashboardRoutes(e *echo.Echo) {
	e.GET(adminSignInPath, s.adminSignInPage)
	e.POST(adminSignInPath, s.submitAdminSignIn)
	e.POST("/admin/sign-out", s.adminSignOut)
	ui := s.newJobsUI()
	e.GET(jobsUIPrefix, serveJobsUIRoot(ui), s.requireAdminSession)
	e.Any(jobsUIPrefix+"/*", ui, s.requireAdminSession)
}

// newJobsUI builds River's UI on the server's job client, or a handler that says the
// dashboard is unavailable.
func (s *Server) newJobsUI() echo.HandlerFunc {
	unavailable := func(echo.Context) error {
		return problem(http.StatusServiceUnavailable, "unavailable", "the jobs dashboard is not available in this process")
	}
	if s.jobs == nil {
		return unavailable
	}
	log := s.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: riverui.NewEndpoints(s.jobs, nil), Logger: log, Prefix: jobsUIPrefix})
	if err != nil {
		log.Error("jobs dashboard is unavailable", "err", err)
		return unavailable
	}
	s.jobsUI = h
	return echo.WrapHandler(h)
}

// serveJobsUIRoot serves the UI's start page. The router strips a trailing slash before
// routing, so /admin/jobs/ arrives as /admin/jobs, which River's UI would answer with a
// redirect back to /admin/jobs/; giving it the slash again ends that loop.
func serveJobsUIRoot(ui echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		r.URL.Path, r.URL.RawPath = jobsUIPrefix+"/", ""
		return ui(c)
	}
}

// Start runs the server's background work until ctx ends: River's UI keeps the job counts of
// large tables cached. Requests are served without it, counting on each request.
func (s *Server) Start(ctx context.Context) error {
	if s.jobsUI == nil {
		return nil
	}
	return s.jobsUI.Start(ctx)
}

// requireAdminSession lets through requests with a live dashboard session of a platform
// admin. Without one, a page load goes to the sign-in page and anything else (the UI's API
// included) gets a 401; a change must come from the public URL's origin (see the package comment above), and is
// recorded in the audit log once River's UI has applied it.
func (s *Server) requireAdminSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, u, err := s.adminSession(c)
		if err != nil {
			return err
		}
		safe := safeMethod(c.Request().Method)
		switch {
		case sess == nil && safe && !strings.HasPrefix(c.Request().URL.Path, jobsUIPrefix+"/api/"):
			return c.Redirect(http.StatusSeeOther, adminSignInPath)
		case sess == nil:
			return problem(http.StatusUnauthorized, "unauthorized", "sign in at "+adminSignInPath)
		case !u.IsPlatformAdmin():
			return problem(http.StatusForbidden, "forbidden", "platform admins only")
		case !safe && !s.fromPublicOrigin(c.Request()):
			return problem(http.StatusForbidden, "cross-origin-request",
				"changes to jobs must come from the dashboard at "+s.publicOrigin()+jobsUIPrefix+"/")
		}
		// Without this the browser sends "Origin: null" with the UI's own changes (the API's
		// default is no-referrer), and the origin check would refuse them.
		c.Response().Header().Set("Referrer-Policy", "same-origin")
		if safe {
			return next(c)
		}
		return s.auditDashboardChange(c, u, next)
	}
}

// auditDashboardChange runs next and, if it succeeded, records the change with its request
// body (job IDs, queue settings) in the audit log.
func (s *Server) auditDashboardChange(c echo.Context, u *models.User, next echo.HandlerFunc) error {
	r := c.Request()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := next(c); err != nil {
		return err
	}
	if c.Response().Status >= 400 {
		return nil
	}
	var after any
	if json.Valid(body) {
		after = json.RawMessage(body)
	}
	ev := auditEvent{Actor: u, Action: "jobs_dashboard.change", ObjectType: "jobs_dashboard",
		ObjectID: r.Method + " " + r.URL.Path, After: after}
	// The response is sent; a failure to record it can only be logged.
	if err := s.db.InTx(ctx(c), func(tx models.Tx) error { return s.audit(c, tx, ev) }); err != nil {
		s.log.ErrorContext(ctx(c), "audit jobs dashboard change", "request_id", requestID(c), "err", err)
	}
	return nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// publicOrigin is the origin (scheme://host[:port]) of AALS_PUBLIC_URL.
func (s *Server) publicOrigin() string {
	u, err := url.Parse(s.cfg.PublicURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// fromPublicOrigin reports whether the request names the public URL's origin as where it
// comes from: its Origin header, or its Referer when a browser sends no Origin. A request
// with neither is refused: every browser sends one of them with a change.
func (s *Server) fromPublicOrigin(r *http.Request) bool {
	want := s.publicOrigin()
	if want == "" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		return strings.EqualFold(o, want)
	}
	ref, err := url.Parse(r.Header.Get("Referer"))
	return err == nil && ref.Host != "" && strings.EqualFold(ref.Scheme+"://"+ref.Host, want)
}

// adminSession returns the live dashboard session of the request's cookie and its user, or
// nils when there is none.
func (s *Server) adminSession(c echo.Context) (*models.AdminSession, *models.User, error) {
	ck, err := c.Cookie(adminSessionCookie)
	if err != nil {
		return nil, nil, nil
	}
	sess, err := models.FindAdminSession(ctx(c), s.db.Gorm, ck.Value, s.now())
	if models.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := models.FindUser(ctx(c), s.db.Gorm, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// adminCookie is a dashboard cookie: never readable by scripts, never sent by another site,
// and over https only when the service is public over https. A negative ttl deletes it.
func (s *Server) adminCookie(name, value, path string, ttl time.Duration) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: strings.HasPrefix(s.cfg.PublicURL, "https://"), MaxAge: int(ttl.Seconds())}
	if ttl < 0 {
		ck.MaxAge = -1
	}
	return ck
}

const adminSignInTitle = "Jobs dashboard sign-in"

// adminSignInPage handles GET /admin/sign-in: the sign-in form, or, for a live session, who
// is signed in with a sign-out button.
func (s *Server) adminSignInPage(c echo.Context) error {
	sess, u, err := s.adminSession(c)
	if err != nil {
		return err
	}
	if sess != nil && u.IsPlatformAdmin() {
		return s.renderPage(c, http.StatusOK, adminSignInName,
			adminSignInData{Title: "Jobs dashboard", State: "signed-in", Email: u.Email, CSRF: sess.CSRFToken})
	}
	return s.renderAdminSignIn(c, http.StatusOK, adminSignInData{})
}

// renderAdminSignIn shows the sign-in form with a fresh anti-forgery token, mirrored in a
// cookie that only this page's form is sent with.
func (s *Server) renderAdminSignIn(c echo.Context, status int, d adminSignInData) error {
	d.Title, d.State = adminSignInTitle, "form"
	d.NeedTOTP = d.NeedTOTP || s.cfg.AdminMFA
	d.CSRF = models.NewSecret()
	c.SetCookie(s.adminCookie(adminFormCookie, d.CSRF, adminSignInPath, adminFormTTL))
	return s.renderPage(c, status, adminSignInName, d)
}

// submitAdminSignIn handles POST /admin/sign-in: signs a platform admin in (throttled like
// POST /v1/auth/login; with TOTP where AdminMFA is set), opens a dashboard session and
// redirects to the dashboard. Anyone else gets the form again with the reason.
func (s *Server) submitAdminSignIn(c echo.Context) error {
	in := loginRequest{Email: c.FormValue("email"), Password: c.FormValue("password"), TOTPCode: c.FormValue("totp_code")}
	d := adminSignInData{Email: in.Email}
	fail := func(status int, msg string) error {
		d.Error = msg
		return s.renderAdminSignIn(c, status, d)
	}
	if !s.adminFormTokenOK(c) {
		return fail(http.StatusForbidden, "This form expired or was not sent from this page. Sign in again.")
	}
	if in.validate() != nil {
		return fail(http.StatusUnprocessableEntity, "Enter your email address and password.")
	}
	u, mfa, err := s.signIn(c, in)
	if status, msg, needTOTP, ok := signInFailure(err, in.TOTPCode != ""); ok {
		d.NeedTOTP = needTOTP
		return fail(status, msg)
	}
	switch {
	case err != nil:
		return err
	case !u.IsPlatformAdmin():
		return fail(http.StatusForbidden, "The jobs dashboard is for the program's staff (platform admins) only.")
	case s.cfg.AdminMFA && !mfa:
		return fail(http.StatusForbidden, "Platform admins sign in with a TOTP code here. Turn on TOTP for your account (POST /v1/me/totp), then sign in again.")
	}
	secret, _, err := models.CreateAdminSession(ctx(c), s.db.Gorm, u.ID, s.now())
	if err != nil {
		return err
	}
	c.SetCookie(s.adminCookie(adminSessionCookie, secret, "/admin", models.AdminSessionTTL))
	c.SetCookie(s.adminCookie(adminFormCookie, "", adminSignInPath, -1))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, jobsUIPrefix+"/")
}

// adminFormTokenOK reports whether the sign-in form's token matches its cookie. Another site
// can post the form but cannot read the token, and its request carries no cookie.
func (s *Server) adminFormTokenOK(c echo.Context) bool {
	ck, err := c.Cookie(adminFormCookie)
	form := c.FormValue("csrf_token")
	return err == nil && ck.Value != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) == 1
}

// adminSignOut handles POST /admin/sign-out: ends the dashboard session (the form carries
// the session's CSRF token) and returns to the sign-in page. Without a session there is
// nothing to end, and the answer is the same.
func (s *Server) adminSignOut(c echo.Context) error {
	sess, u, err := s.adminSession(c)
	if err != nil {
		return err
	}
	if sess != nil {
		if subtle.ConstantTimeCompare([]byte(sess.CSRFToken), []byte(c.FormValue("csrf_token"))) != 1 {
			return s.renderPage(c, http.StatusForbidden, adminSignInName, adminSignInData{Title: "Jobs dashboard", State: "signed-in",
				Email: u.Email, CSRF: sess.CSRFToken, Error: "That sign-out was not sent from this page. Use the button below."})
		}
		ck, _ := c.Cookie(adminSessionCookie)
		if err := models.DeleteAdminSession(ctx(c), s.db.Gorm, ck.Value); err != nil {
			return err
		}
	}
	c.SetCookie(s.adminCookie(adminSessionCookie, "", "/admin", -1))
	return c.Redirect(http.StatusSeeOther, adminSignInPath)
}
