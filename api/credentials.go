package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// VCMediaType is the Content-Type of a credential as a compact VC-JWT.
const VCMediaType = "application/vc+jwt"

// credentialRoutes registers the holder's views of their credentials.
func (s *Server) credentialRoutes(g *echo.Group) {
	g.GET("/credentials", s.listMyCredentials)
	g.GET("/credentials/:id", s.getCredential)
	g.GET("/credentials/:id/vc", s.getCredentialVC)
}

// credentialResponse is a credential as its holder sees it.
type credentialResponse struct {
	ID           uuid.UUID  `json:"id"`
	Code         string     `json:"code"`
	Status       string     `json:"status"`
	Course       string     `json:"course"`
	HolderName   string     `json:"holder_name"`
	ValidFrom    time.Time  `json:"valid_from"`
	ValidThrough string     `json:"valid_through"`
	ValidUntil   time.Time  `json:"valid_until"`
	CECredits    *float64   `json:"ce_credits"`
	VerifyURL    string     `json:"verify_url"`
	LinkedInURL  string     `json:"linkedin_url"`
	RenewedBy    *uuid.UUID `json:"renewed_by,omitempty"`
	SupersededBy *uuid.UUID `json:"superseded_by,omitempty"`
}

func (s *Server) newCredentialResponse(cr *models.Credential, course *models.Course, renewedBy *uuid.UUID) credentialResponse {
	verify := s.cfg.PublicURL + "/verify/" + cr.Code
	issued := cr.IssuedOn
	through := cr.ValidThrough
	return credentialResponse{
		ID: cr.ID, Code: cr.Code, Status: cr.StatusAt(s.now()), Course: cr.CourseCode, HolderName: cr.HolderName,
		ValidFrom: cr.ValidFrom.UTC(), ValidThrough: through.Format(time.DateOnly), ValidUntil: cr.ValidUntil.UTC(),
		CECredits: cr.CECredits, VerifyURL: verify,
		LinkedInURL: credential.LinkedInAddURL(credential.LinkedInParams{
			Name: course.Title, OrganizationName: IssuerName,
			IssueYear: issued.Year(), IssueMonth: int(issued.Month()),
			ExpirationYear: through.Year(), ExpirationMonth: int(through.Month()),
			CertURL: verify, CertID: cr.Code,
		}),
		RenewedBy: renewedBy, SupersededBy: cr.SupersededBy,
	}
}

// ownCredential returns the credential in the path if the caller holds it; anyone else is
// told it does not exist.
func (s *Server) ownCredential(c echo.Context) (*models.User, *models.Credential, error) {
	u, err := requireUser(c)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	cr, err := models.FindCredential(ctx(c), s.db.Gorm, id)
	if err != nil {
		return nil, nil, err
	}
	if cr.UserID != u.ID {
		return nil, nil, models.ErrNotFound
	}
	return u, cr, nil
}

// credentialView converts a credential with its course and the credential renewing it.
func (s *Server) credentialView(c echo.Context, cr *models.Credential) (credentialResponse, error) {
	course, err := models.FindCourse(ctx(c), s.db.Gorm, cr.CourseCode)
	if err != nil {
		return credentialResponse{}, err
	}
	renewedBy, err := models.FindCredentialRenewal(ctx(c), s.db.Gorm, cr.ID)
	if err != nil {
		return credentialResponse{}, err
	}
	return s.newCredentialResponse(cr, course, renewedBy), nil
}

// listMyCredentials handles GET /v1/credentials: the caller's credentials, newest first.
func (s *Server) listMyCredentials(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	rows, err := models.ListUserCredentials(ctx(c), s.db.Gorm, u.ID)
	if err != nil {
		return err
	}
	out := listResponse[credentialResponse]{Items: []credentialResponse{}}
	for i := range rows {
		v, err := s.credentialView(c, &rows[i])
		if err != nil {
			return err
		}
		out.Items = append(out.Items, v)
	}
	return c.JSON(http.StatusOK, out)
}

// getCredential handles GET /v1/credentials/{id}: one of the caller's credentials.
func (s *Server) getCredential(c echo.Context) error {
	_, cr, err := s.ownCredential(c)
	if err != nil {
		return err
	}
	v, err := s.credentialView(c, cr)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// getCredentialVC handles GET /v1/credentials/{id}/vc: the caller's credential as an Open
// Badges 3.0 VC-JWT signed with the current issuer key.
func (s *Server) getCredentialVC(c echo.Context) error {
	u, cr, err := s.ownCredential(c)
	if err != nil {
		return err
	}
	if s.issuerKeys == nil || s.issuerKeys.Signer == nil {
		return errors.New("sign credential: no issuer signing key")
	}
	course, err := models.FindCourse(ctx(c), s.db.Gorm, cr.CourseCode)
	if err != nil {
		return err
	}
	did, err := credential.DIDWeb(s.cfg.PublicURL)
	if err != nil {
		return err
	}
	var available *float64
	if o := course.Offering("initial"); o != nil && cr.CECredits != nil {
		v := o.CECredits
		available = &v
	}
	doc, err := credential.Document(credential.Credential{
		ID:            cr.ID.String(),
		Issuer:        credential.Issuer{URL: s.cfg.PublicURL + "/issuer", DID: did, Name: IssuerName, Website: s.cfg.PublicURL},
		Name:          course.Title,
		ValidFrom:     cr.ValidFrom,
		ValidUntil:    cr.ValidUntil,
		AwardedDate:   cr.AwardedOn,
		HolderID:      "urn:uuid:" + u.ID.String(),
		HolderEmail:   u.Email,
		EmailSalt:     cr.EmailSalt,
		CreditsEarned: cr.CECredits,
		Achievement: credential.Achievement{
			ID:                s.cfg.PublicURL + "/v1/courses/" + cr.CourseCode,
			Name:              course.Title,
			Description:       course.Description,
			CriteriaNarrative: criteriaNarrative(cr.Assessment),
			CreditsAvailable:  available,
			Version:           cr.Edition,
			HumanCode:         cr.CourseCode,
		},
		Status: credential.StatusEntry{
			ListURL: s.cfg.PublicURL + "/v1/status-lists/" + strconv.Itoa(cr.RevocationList),
			Index:   cr.RevocationIndex,
			Purpose: "revocation",
		},
	})
	if err != nil {
		return err
	}
	jwt, err := s.issuerKeys.Signer.SignCredential(doc)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, VCMediaType, []byte(jwt))
}

// criteriaNarrative says what the credential attests was assessed.
func criteriaNarrative(a models.Assessment) string {
	var b strings.Builder
	b.WriteString("Passed the " + a.Exam)
	if sc := a.SkillsCheck; sc != nil {
		b.WriteString(" and a hands-on skills check")
		if sc.Instructor != "" {
			b.WriteString(" attested by " + sc.Instructor)
		}
		if sc.Org != "" {
			b.WriteString(" at " + sc.Org)
		}
	}
	b.WriteString(".")
	return b.String()
}
