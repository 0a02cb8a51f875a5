package api

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/linktoken"
	"github.com/aalscert/aalscert/models"
)

func init() {
	pageTemplates["renew"] = parsePage("renew.html")
}

const renewTitle = "Renew your credential"

// States of the pages of links in reminder emails, besides pageForm, pageDone and pageInvalid.
const (
	pageExpired  = "expired"  // the link is genuine but past its expiry
	renewRefused = "refused"  // the credential cannot be renewed; Reason says why
	renewPending = "pending"  // the renewal order waits for an offline payment
	renewPaid    = "enrolled" // the renewal enrollment is already paid: take the exam
)

// renewData is what the renewal page shows.
type renewData struct {
	Title          string
	State          string
	Token          string // the live token, only ever put in the form's action
	CourseCode     string
	CourseTitle    string
	CredentialCode string
	ValidThrough   string
	Email          string // as typed, to fill the form again
	NeedTOTP       bool
	Error          string
	Reason         string // why a renewal is refused
	OrderID        string // the order waiting for an offline payment
	Amount         string
}

// renewalPageRoutes registers the pages of the links in every reminder email: one-click
// renewal and unsubscribe. Opening either changes nothing; its form (a POST) acts.
func (s *Server) renewalPageRoutes(e *echo.Echo) {
	e.GET("/renew", s.renewPage)
	e.POST("/renew", s.submitRenewPage)
	e.GET("/unsubscribe", s.unsubscribePage)
	e.POST("/unsubscribe", s.submitUnsubscribePage)
}

// newLinkCodec returns the codec of the signed links in emails, with the same key derivation
// as the jobs that sign them; nil without a keyring.
func newLinkCodec(d Deps) *linktoken.Codec {
	if d.Keyring == nil {
		return nil
	}
	links, err := linktoken.New(d.Keyring.DeriveKeys("link-token"), d.Now)
	if err != nil && d.Log != nil {
		d.Log.Error("renewal and unsubscribe links will not work", "error", err)
	}
	return links
}

// linkSubject checks a signed link token of purpose and returns its subject as an ID. It
// returns linktoken.ErrExpired for a genuine token past its expiry, and linktoken.ErrInvalid
// for anything else that does not check.
func (s *Server) linkSubject(purpose, token string) (uuid.UUID, error) {
	if s.links == nil {
		return uuid.Nil, linktoken.ErrInvalid
	}
	sub, err := s.links.Verify(purpose, token)
	if err != nil && !errors.Is(err, linktoken.ErrExpired) {
		return uuid.Nil, linktoken.ErrInvalid
	}
	id, perr := uuid.Parse(sub)
	if perr != nil {
		return uuid.Nil, linktoken.ErrInvalid
	}
	return id, err
}

// linkFailure returns the page state and status for a link that does not work; ok is false
// for any other error.
func linkFailure(err error) (state string, status int, ok bool) {
	switch {
	case errors.Is(err, linktoken.ErrExpired):
		return pageExpired, http.StatusGone, true
	case errors.Is(err, linktoken.ErrInvalid):
		return pageInvalid, http.StatusNotFound, true
	}
	return "", 0, false
}

// renewPage handles GET /renew?token=…: which credential is up for renewal and a sign-in form,
// or why it cannot be renewed. Opening it changes nothing.
func (s *Server) renewPage(c echo.Context) error {
	s.allowCheckoutRedirect(c)
	d, cr, course, err := s.renewLink(c)
	if state, status, ok := linkFailure(err); ok {
		d.State = state
		return s.renderPage(c, status, "renew", d)
	}
	if err != nil {
		return err
	}
	if d.Reason, err = s.renewalRefusal(c, cr, course); err != nil {
		return err
	}
	if d.Reason != "" {
		d.State = renewRefused
	}
	return s.renderPage(c, http.StatusOK, "renew", d)
}

// submitRenewPage handles POST /renew?token=…: signs in with the same checks and failed-login
// throttling as POST /v1/auth/login, checks the signed-in user holds the credential, and opens
// its renewal enrollment as POST /v1/enrollments does, or continues the one already open:
// to card checkout (303) when card payments are configured, else to a page with the order
// to pay offline.
func (s *Server) submitRenewPage(c echo.Context) error {
	s.allowCheckoutRedirect(c)
	d, cr, course, err := s.renewLink(c)
	if state, status, ok := linkFailure(err); ok {
		d.State = state
		return s.renderPage(c, status, "renew", d)
	}
	if err != nil {
		return err
	}
	in := loginRequest{Email: c.FormValue("email"), Password: c.FormValue("password"), TOTPCode: c.FormValue("totp_code")}
	d.Email = in.Email
	fail := func(status int, msg string) error {
		d.Error = msg
		return s.renderPage(c, status, "renew", d)
	}
	if crossSite(c) {
		return fail(http.StatusForbidden, "This form can only be sent from its own page. Open the link from your email again.")
	}
	if in.validate() != nil {
		return fail(http.StatusUnprocessableEntity, "Enter your email address and password.")
	}
	u, _, err := s.signIn(c, in)
	if status, msg, needTOTP, ok := signInFailure(err, in.TOTPCode != ""); ok {
		d.NeedTOTP = d.NeedTOTP || needTOTP
		return fail(status, msg)
	}
	if err != nil {
		return err
	}
	if cr.UserID != u.ID {
		return fail(http.StatusForbidden, "This renewal link is for another account. Sign in with the account the reminder was sent to.")
	}
	return s.renew(c, d, u, cr, course)
}

// renew opens or continues u's renewal enrollment in course, for the credential cr they hold.
func (s *Server) renew(c echo.Context, d renewData, u *models.User, cr *models.Credential, course *models.Course) error {
	reason, err := s.renewalRefusal(c, cr, course)
	if err != nil {
		return err
	}
	if reason != "" {
		d.State, d.Reason = renewRefused, reason
		return s.renderPage(c, http.StatusForbidden, "renew", d)
	}
	e, err := s.openEnrollment(c, u.ID, course.Code)
	if err != nil {
		return err
	}
	var o *models.Order
	var checkoutURL string
	if e == nil {
		e, o, checkoutURL, err = s.enroll(c, u, course, course.Offering(models.OfferingRenewal))
		if errors.Is(err, models.ErrEnrollmentOpen) { // a second form sent at the same moment won
			if e, err = s.openEnrollment(c, u.ID, course.Code); err == nil && e == nil {
				err = models.ErrEnrollmentOpen
			}
		}
		if err != nil {
			return s.renewFailed(c, d, err)
		}
	}
	return s.continueRenewal(c, d, u, course, e, o, checkoutURL)
}

// continueRenewal takes an open enrollment on towards the exam: a paid one has nothing left
// to do here; an unpaid one goes to card checkout or shows its order for an offline payment.
// o and checkoutURL are those of an enrollment just made, else nil and "".
func (s *Server) continueRenewal(c echo.Context, d renewData, u *models.User, course *models.Course, e *models.Enrollment, o *models.Order, checkoutURL string) error {
	if e.Offering != models.OfferingRenewal {
		d.State = renewRefused
		d.Reason = "You already have an open " + course.Code + " enrollment in the " + e.Offering + " course. Complete it from your account; it gives you a new credential too."
		return s.renderPage(c, http.StatusConflict, "renew", d)
	}
	if e.Status == models.EnrollmentActive || e.OrderID == nil {
		d.State = renewPaid
		return s.renderPage(c, http.StatusOK, "renew", d)
	}
	var err error
	if o == nil {
		if o, err = models.FindOrder(ctx(c), s.db.Gorm, *e.OrderID); err != nil {
			return err
		}
		// Checkout Sessions are made under the idempotency key of the order, so this is the
		// session of the first visit for as long as Stripe keeps it open.
		err = s.db.InTx(ctx(c), func(tx models.Tx) error {
			checkoutURL, err = s.startCheckout(ctx(c), tx, o, course, u.Email)
			return err
		})
		if err != nil {
			return s.renewFailed(c, d, err)
		}
	}
	if checkoutURL != "" {
		return c.Redirect(http.StatusSeeOther, checkoutURL)
	}
	d.State, d.OrderID, d.Amount = renewPending, o.ID.String(), formatMoney(o.Amount, o.Currency)
	return s.renderPage(c, http.StatusOK, "renew", d)
}

// renewFailed shows why enrolling failed, when the holder can act on it.
func (s *Server) renewFailed(c echo.Context, d renewData, err error) error {
	var refused *models.RenewalRefusedError
	var p *Problem
	switch {
	case errors.As(err, &refused):
		d.State, d.Reason = renewRefused, sentence(refused.Error())
		return s.renderPage(c, http.StatusForbidden, "renew", d)
	case errors.Is(err, models.ErrEnrollmentOpen):
		d.State, d.Reason = renewRefused, "You already have an open enrollment in this course. Continue it from your account."
		return s.renderPage(c, http.StatusConflict, "renew", d)
	case errors.As(err, &p) && p.Status == http.StatusServiceUnavailable:
		for k, v := range p.Headers {
			c.Response().Header().Set(k, v)
		}
		d.Error = "Card payments are unavailable right now, so nothing was ordered. Try again in a minute."
		return s.renderPage(c, http.StatusServiceUnavailable, "renew", d)
	}
	return err
}

// renewLink reads the renewal link in the query and fills the page with its credential. A link
// that does not check, or whose credential is gone, is linktoken.ErrInvalid; one past its
// expiry is linktoken.ErrExpired.
func (s *Server) renewLink(c echo.Context) (renewData, *models.Credential, *models.Course, error) {
	d := renewData{Title: renewTitle}
	token := c.QueryParam("token")
	id, err := s.linkSubject(linktoken.PurposeRenew, token)
	if err != nil {
		return d, nil, nil, err
	}
	cr, err := models.FindCredential(ctx(c), s.db.Gorm, id)
	if models.IsNotFound(err) {
		return d, nil, nil, linktoken.ErrInvalid
	}
	if err != nil {
		return d, nil, nil, err
	}
	course, err := models.FindCourse(ctx(c), s.db.Gorm, cr.CourseCode)
	if err != nil {
		return d, nil, nil, err
	}
	holder, err := models.FindUser(ctx(c), s.db.Gorm, cr.UserID)
	if err != nil {
		return d, nil, nil, err
	}
	d.State, d.Token, d.NeedTOTP = pageForm, token, holder.TOTPEnabled()
	d.CourseCode, d.CourseTitle, d.CredentialCode = course.Code, course.Title, cr.Code
	d.ValidThrough = cr.ValidThrough.Format(time.DateOnly)
	return d, cr, course, nil
}

// renewalRefusal says why the credential cannot be renewed now, or "" if it can: it was
// renewed, revoked, suspended or replaced, renewal is not on sale, or its holder is outside
// the renewal window (the rule POST /v1/enrollments applies).
func (s *Server) renewalRefusal(c echo.Context, cr *models.Credential, course *models.Course) (string, error) {
	renewedBy, err := models.FindCredentialRenewal(ctx(c), s.db.Gorm, cr.ID)
	if err != nil {
		return "", err
	}
	switch {
	case renewedBy != nil:
		return "This credential has already been renewed. Your new credential is in your account.", nil
	case cr.Status == models.CredentialRevoked:
		return "This credential was revoked, so it cannot be renewed. Contact the program if you think this is a mistake.", nil
	case cr.Status == models.CredentialSuspended:
		return "This credential is suspended, so it cannot be renewed unless the program reinstates it. Contact the program.", nil
	case cr.Status == models.CredentialSuperseded:
		return "This credential was replaced by a reissued one. Renew from your account, or with the link in your latest reminder.", nil
	}
	if off := course.Offering(models.OfferingRenewal); off == nil || !off.Active {
		return "Renewal of " + course.Code + " is not offered at the moment. Contact the program.", nil
	}
	err = models.CheckRenewalEligibility(ctx(c), s.db.Gorm, cr.UserID, course, s.today())
	var refused *models.RenewalRefusedError
	if errors.As(err, &refused) {
		return sentence(refused.Error()), nil
	}
	return "", err
}

// openEnrollment returns the user's open (unpaid or active) enrollment in the course, or nil.
// There is at most one: a unique index holds it.
func (s *Server) openEnrollment(c echo.Context, userID uuid.UUID, course string) (*models.Enrollment, error) {
	for _, status := range []string{models.EnrollmentPendingPayment, models.EnrollmentActive} {
		rows, _, err := models.ListEnrollments(ctx(c), s.db.Gorm, models.EnrollmentFilter{
			UserID: userID, CourseCode: course, Status: status, Page: models.Page{Limit: 1}})
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 {
			return &rows[0], nil
		}
	}
	return nil, nil
}

// crossSite reports whether the browser says the request comes from another site's page. The
// renewal form is only ever sent from its own page, so such a POST is forged: refusing it
// keeps other sites from signing in (and spending failed-login allowances) through visitors'
// browsers.
func crossSite(c echo.Context) bool {
	switch c.Request().Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	return false
}

// allowCheckoutRedirect lets the renewal form's answer redirect to card checkout when card
// payments are configured: browsers hold a form's redirects to the form-action of the page
// that holds the form.
func (s *Server) allowCheckoutRedirect(c echo.Context) {
	if !s.billing.Enabled() {
		return
	}
	res := c.Response()
	res.Before(func() {
		h := res.Header()
		if csp := h.Get("Content-Security-Policy"); csp != "" {
			h.Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' https:", 1))
		}
	})
}

// sentence capitalizes a domain message and ends it with a period, for a page.
func sentence(msg string) string {
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
