package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// Public verifications (by code, JSON and HTML, and of a presented VC) allowed per client
// address and window, all on one counter. A person
// checking a few credentials never meets the limit; a client guessing codes finds about one a
// hundred days (see credential.codeRandomLen).
const (
	verifyRateLimit  = 60
	verifyRateWindow = time.Minute
)

// errCredentialNotFound answers a code that names no credential.
var errCredentialNotFound = models.NewError("credential-not-found", models.ErrNotFound,
	"no credential has this verification code; check it and try again")

// verifyRoutes registers the public verification of a credential by its code: JSON under
// /v1, and the HTML page the certificate's QR code opens.
func (s *Server) verifyRoutes(e *echo.Echo, v1 *echo.Group) {
	v1.GET("/verify/:code", s.verifyCode)
	e.GET("/verify/:code", s.verifyCodePage)
}

// verificationResponse is what anyone may learn of a credential from its code: what it
// attests and its status, and nothing of the holder beyond the name on it. Related
// credentials are named by their codes, the only handle a verifier has.
type verificationResponse struct {
	Code             string             `json:"code"`
	Status           string             `json:"status"`
	HolderName       string             `json:"holder_name"`
	Course           string             `json:"course"`
	CourseTitle      string             `json:"course_title"`
	Edition          string             `json:"edition"`
	GuidelineEdition string             `json:"guideline_edition"`
	ValidFrom        time.Time          `json:"valid_from"`
	ValidThrough     string             `json:"valid_through"`
	ValidUntil       time.Time          `json:"valid_until"`
	Assessment       assessmentResponse `json:"assessment"`
	Issuer           issuerSummary      `json:"issuer"`
	RenewedBy        string             `json:"renewed_by,omitempty"`
	SupersededBy     string             `json:"superseded_by,omitempty"`
	AsOf             string             `json:"as_of,omitempty"`
}

// assessmentResponse is what the credential attests was assessed.
type assessmentResponse struct {
	Exam        string               `json:"exam"`
	SkillsCheck *assessedSkillsCheck `json:"skills_check,omitempty"`
}

// assessedSkillsCheck is the hands-on skills check behind a credential.
type assessedSkillsCheck struct {
	Instructor string `json:"instructor"`
	Org        string `json:"org"`
}

// issuerSummary names the issuer and links its profile.
type issuerSummary struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// verifyCode handles GET /v1/verify/{code}: the credential's status now, or at the end of the
// day ?as_of= names, and its facts.
func (s *Server) verifyCode(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	cr, err := s.credentialByCode(c)
	if err != nil {
		return err
	}
	v, err := s.verificationOn(ctx(c), cr, c.QueryParam("as_of"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// credentialByCode counts the lookup against the caller's address, then finds the credential
// whatever way the code was typed. Every lookup counts, unknown codes included, since those
// are what a guesser spends.
func (s *Server) credentialByCode(c echo.Context) (*models.Credential, error) {
	if err := s.limitVerification(c); err != nil {
		return nil, err
	}
	code, ok := credential.NormalizeCode(c.Param("code"))
	if !ok {
		return nil, errCredentialNotFound
	}
	cr, err := models.FindCredentialByCode(ctx(c), s.db.Gorm, code)
	if models.IsNotFound(err) {
		return nil, errCredentialNotFound
	}
	return cr, err
}

// limitVerification returns a too-many-requests problem with Retry-After once the caller's
// address has used its lookups of the window.
func (s *Server) limitVerification(c echo.Context) error {
	key := "verify:" + rateLimitAddr(c.RealIP())
	ok, wait, err := models.HitRateLimit(ctx(c), s.db.Gorm, key, verifyRateWindow, verifyRateLimit, s.now())
	if err != nil || ok {
		return err
	}
	p := problem(http.StatusTooManyRequests, "too-many-requests",
		fmt.Sprintf("more than %d lookups a minute from this address; wait before trying again", verifyRateLimit))
	p.Headers = retryAfter(int(math.Ceil(wait.Seconds())))
	return p
}

// rateLimitAddr is the address a client is counted by: an IPv6 client by its /64, which one
// subscriber usually holds whole and could otherwise rotate through.
func rateLimitAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.WithZone("").Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// verificationInstant returns the instant a verification answers for, and the day asked: now
// when as_of is empty, else the last second of that day on the issuer's calendar, as
// valid_until counts a day. A day after today is refused: the answer would be a prediction.
func (s *Server) verificationInstant(asOf string) (time.Time, string, error) {
	if asOf == "" {
		return s.now(), "", nil
	}
	loc := s.cfg.Location
	d, err := time.ParseInLocation(time.DateOnly, asOf, loc)
	if err != nil {
		return time.Time{}, "", models.Invalid("as_of", "must be a date written YYYY-MM-DD")
	}
	today := s.today()
	if d.After(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)) {
		return time.Time{}, "", models.Invalid("as_of", "must not be after today, "+today.Format(time.DateOnly))
	}
	end := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc).Add(-time.Second)
	return end, d.Format(time.DateOnly), nil
}

// verificationOn answers for the credential now, or at the end of the day as_of names.
func (s *Server) verificationOn(ctx context.Context, cr *models.Credential, asOf string) (verificationResponse, error) {
	at, day, err := s.verificationInstant(asOf)
	if err != nil {
		return verificationResponse{}, err
	}
	return s.verification(ctx, cr, at, day)
}

// verification builds the answer for the credential at the instant at. Without a day asked,
// the stored status is current and the history is not read.
func (s *Server) verification(ctx context.Context, cr *models.Credential, at time.Time, day string) (verificationResponse, error) {
	status := cr.StatusAt(at)
	if day != "" {
		history, err := models.CredentialHistory(ctx, s.db.Gorm, cr.ID)
		if err != nil {
			return verificationResponse{}, err
		}
		status, err = models.StatusOn(cr, history, at)
		if errors.Is(err, models.ErrNotYetIssued) {
			return verificationResponse{}, s.notYetIssued(cr, history, day)
		}
		if err != nil {
			return verificationResponse{}, err
		}
	}
	course, err := models.FindCourse(ctx, s.db.Gorm, cr.CourseCode)
	if err != nil {
		return verificationResponse{}, err
	}
	v := verificationResponse{
		Code: cr.Code, Status: status, HolderName: cr.HolderName, Course: cr.CourseCode, CourseTitle: course.Title,
		Edition: cr.Edition, GuidelineEdition: cr.GuidelineEdition, ValidFrom: cr.ValidFrom.UTC(),
		ValidThrough: cr.ValidThrough.Format(time.DateOnly), ValidUntil: cr.ValidUntil.UTC(),
		Assessment: assessmentResponse{Exam: cr.Assessment.Exam},
		Issuer:     issuerSummary{Name: IssuerName, URL: s.cfg.PublicURL + "/issuer"},
		AsOf:       day,
	}
	if sc := cr.Assessment.SkillsCheck; sc != nil {
		v.Assessment.SkillsCheck = &assessedSkillsCheck{Instructor: sc.Instructor, Org: sc.Org}
	}
	if status == models.CredentialSuperseded && cr.SupersededBy != nil {
		next, err := models.FindCredential(ctx, s.db.Gorm, *cr.SupersededBy)
		if err != nil {
			return verificationResponse{}, err
		}
		v.SupersededBy = next.Code
	}
	if v.RenewedBy, err = s.renewalCode(ctx, cr, at); err != nil {
		return verificationResponse{}, err
	}
	return v, nil
}

// renewalCode returns the code of the credential renewing cr if it was issued by at, or "".
// A renewal's valid_from is the instant it was issued, on the same clock as at.
func (s *Server) renewalCode(ctx context.Context, cr *models.Credential, at time.Time) (string, error) {
	id, err := models.FindCredentialRenewal(ctx, s.db.Gorm, cr.ID)
	if err != nil || id == nil {
		return "", err
	}
	next, err := models.FindCredential(ctx, s.db.Gorm, *id)
	if err != nil || next.ValidFrom.After(at) {
		return "", err
	}
	return next.Code, nil
}

// notYetIssued answers a day before the credential's history begins, naming the day it does.
func (s *Server) notYetIssued(cr *models.Credential, history []models.StatusEvent, day string) error {
	issued := cr.IssuedOn.Format(time.DateOnly)
	if len(history) > 0 {
		issued = history[0].At.In(s.cfg.Location).Format(time.DateOnly)
	}
	return models.NewError("not-yet-issued", models.ErrInvalid,
		fmt.Sprintf("the credential was not issued yet on %s: it was issued on %s", day, issued))
}
