package api

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

//go:embed web/verify/*.html
var verifyPageFiles embed.FS

// verifyPageTemplate is the verification page a certificate's QR code opens. It has its own
// layout: the status banner and the facts need styles the email-link pages do not.
var verifyPageTemplate = template.Must(template.New("verify").ParseFS(verifyPageFiles, "web/verify/verify.html"))

// verifyPageCSP allows the page's inline styles and its own GET form, and nothing else: the
// page runs no script and loads nothing.
const verifyPageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// pageDate is how the page writes a day.
const pageDate = "January 2, 2006"

// verifyPageData is what the verification page shows. V is nil on the pages that say a code
// is unknown or that the caller must wait.
type verifyPageData struct {
	Title, IssuerName, Message string
	V                          *verificationResponse
	Banner                     statusBanner
	AsOfLine                   string
	ValidFrom, ValidFromISO    string
	ValidThrough               string
	Assessed                   string
	// The as_of form: the day asked, the field's error, today (the latest day it takes) and the
	// issuer's time zone, whose days it counts.
	AsOf, AsOfError, Today, Zone string
}

// statusBanner is the colored status line. Its label says the status in words, so color is
// never the only signal.
type statusBanner struct {
	Class, Label, Detail string
}

// verifyCodePage handles GET /verify/{code}: the verification as an HTML page read on a
// phone, with a form to ask for the status on a past day (?as_of=).
func (s *Server) verifyCodePage(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", verifyPageCSP)
	h.Set("X-Robots-Tag", "noindex")
	d := verifyPageData{IssuerName: IssuerName}
	cr, err := s.credentialByCode(c)
	var p *Problem
	switch {
	case errors.Is(err, errCredentialNotFound):
		d.Title = "Credential not found"
		d.Message = "No credential has the code “" + shorten(c.Param("code"), 40) + "”. Check the code on the certificate and try again."
		return s.renderVerifyPage(c, http.StatusNotFound, d)
	case errors.As(err, &p) && p.Status == http.StatusTooManyRequests:
		h.Set("Retry-After", p.Headers["Retry-After"])
		d.Title = "Too many lookups"
		d.Message = "This address has checked too many credentials in the last minute. Wait " + p.Headers["Retry-After"] + " seconds and try again."
		return s.renderVerifyPage(c, http.StatusTooManyRequests, d)
	case err != nil:
		return err
	}
	status := http.StatusOK
	d.AsOf = c.QueryParam("as_of")
	v, err := s.verificationOn(ctx(c), cr, d.AsOf)
	if d.AsOfError = asOfFieldError(err); d.AsOfError != "" {
		// The page still shows the credential as it is now, with the error by the field.
		status = http.StatusUnprocessableEntity
		v, err = s.verificationOn(ctx(c), cr, "")
	}
	if err != nil {
		return err
	}
	s.describeVerification(&d, v)
	return s.renderVerifyPage(c, status, d)
}

// describeVerification fills the page with the verification, as a person reads it.
func (s *Server) describeVerification(d *verifyPageData, v verificationResponse) {
	loc := s.cfg.Location
	through, _ := time.ParseInLocation(time.DateOnly, v.ValidThrough, loc)
	d.Title = "Credential " + v.Code
	d.V = &v
	d.ValidFrom = v.ValidFrom.In(loc).Format(pageDate)
	d.ValidFromISO = v.ValidFrom.In(loc).Format(time.DateOnly)
	d.ValidThrough = through.Format(pageDate)
	d.Banner = banner(v.Status, d.ValidThrough)
	d.Assessed = assessedText(v.Assessment)
	d.Today = s.today().Format(time.DateOnly)
	d.Zone = loc.String()
	if v.AsOf != "" {
		day, _ := time.ParseInLocation(time.DateOnly, v.AsOf, loc)
		d.AsOfLine = "Status at the end of " + day.Format(pageDate) + ", " + d.Zone + " time."
	}
}

// banner says the status in words; the class picks a color with text contrast of at least
// 4.5:1. A superseded credential is amber, not red: it was replaced, not withdrawn.
func banner(status, through string) statusBanner {
	switch status {
	case models.CredentialActive:
		return statusBanner{"ok", "Valid — active", "This credential is valid through " + through + "."}
	case models.CredentialExpired:
		return statusBanner{"bad", "Not valid — expired", "This credential expired at the end of " + through + "."}
	case models.CredentialRevoked:
		return statusBanner{"bad", "Not valid — revoked", "The issuer revoked this credential. Revocation is final."}
	case models.CredentialSuspended:
		return statusBanner{"warn", "Not valid — suspended", "The issuer suspended this credential. It is not valid while suspended."}
	case models.CredentialSuperseded:
		return statusBanner{"warn", "Replaced — superseded",
			"This credential was reissued with the same dates, for example after a change of name. Check the current credential below."}
	}
	return statusBanner{"bad", "Not valid — " + status, ""}
}

// assessedText says in a sentence what the credential attests was assessed.
func assessedText(a assessmentResponse) string {
	text := upperFirst(a.Exam)
	if sc := a.SkillsCheck; sc != nil {
		text += "; hands-on skills check attested by " + sc.Instructor
		if sc.Org != "" {
			text += " at " + sc.Org
		}
	}
	return text
}

// asOfFieldError returns what to say next to the as_of field for an error of the day asked,
// or "" if err is about something else.
func asOfFieldError(err error) string {
	var ve *models.ValidationError
	if errors.As(err, &ve) && len(ve.Fields) > 0 {
		return "The date " + ve.Fields[0].Message + "."
	}
	var de *models.Error
	if errors.As(err, &de) && de.Code == "not-yet-issued" {
		return upperFirst(de.Msg) + "."
	}
	return ""
}

// renderVerifyPage writes the page with the status.
func (s *Server) renderVerifyPage(c echo.Context, status int, d verifyPageData) error {
	var buf bytes.Buffer
	if err := verifyPageTemplate.ExecuteTemplate(&buf, "page", d); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// shorten cuts what a caller typed to at most n runes for display.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
