package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/aalscert/aalscert/models"
)

// Uploads of outside cards: a file of at most maxCardFile bytes in a multipart body of at
// most cardBodyLimit, which leaves room for the other fields. The route sets this limit
// itself and the global (JSON-sized) limit skips it: see hasOwnBodyLimit.
const (
	maxCardFile   = 5 << 20
	cardBodyLimit = "6M"
	cardRoute     = "/v1/me/external-credentials"
)

// cardTypes are the file types accepted, as sniffed from the bytes, with the extension used
// when a file arrives without a name.
var cardTypes = map[string]string{"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}

// externalCredentialRoutes registers the provider's uploads and the platform admin's review.
func (s *Server) externalCredentialRoutes(g *echo.Group) {
	g.POST("/me/external-credentials", s.uploadExternalCredential, middleware.BodyLimit(cardBodyLimit), s.idempotent)
	g.GET("/me/external-credentials", s.listMyExternalCredentials)
	g.GET("/me/external-credentials/:id/file", s.myExternalCredentialFile)

	g.GET("/admin/external-credentials", s.adminListExternalCredentials)
	g.GET("/admin/external-credentials/:id/file", s.adminExternalCredentialFile)
	g.POST("/admin/external-credentials/:id/verify", s.verifyExternalCredential)
	g.POST("/admin/external-credentials/:id/reject", s.rejectExternalCredential)
}

// hasOwnBodyLimit reports whether the request's route sets its own body limit, so the
// global limit (sized for JSON) must not cut it short. The card upload, the name-change
// request (name_changes.go), the credential import (credential_import.go) and cohort
// invitations (cohort_invitations.go, whose too-large CSV is a 422 like any unreadable file) do.
func hasOwnBodyLimit(c echo.Context) bool {
	if c.Request().Method != http.MethodPost {
		return false
	}
	switch c.Path() {
	case cardRoute, nameChangeRoute, importRoute, cohortInvitationsRoute:
		return true
	}
	return false
}

// externalCredentialResponse is an uploaded card, without its file. Holder is set in the
// platform admin's views only.
type externalCredentialResponse struct {
	ID           string          `json:"id"`
	Course       string          `json:"course"`
	Issuer       string          `json:"issuer"`
	CardNumber   string          `json:"card_number"`
	IssuedOn     string          `json:"issued_on"`
	ExpiresOn    string          `json:"expires_on"`
	Status       string          `json:"status"`
	FileName     string          `json:"file_name"`
	ContentType  string          `json:"content_type"`
	ReviewedAt   *time.Time      `json:"reviewed_at"`
	ReviewReason *string         `json:"review_reason"`
	CreatedAt    time.Time       `json:"created_at"`
	Holder       *holderResponse `json:"holder,omitempty"`
}

type holderResponse struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func newExternalCredentialResponse(ec *models.ExternalCredential) externalCredentialResponse {
	r := externalCredentialResponse{ID: ec.ID.String(), Course: ec.CourseCode, Issuer: ec.Issuer, CardNumber: ec.CardNumber,
		IssuedOn: ec.IssuedOn.Format(time.DateOnly), ExpiresOn: ec.ExpiresOn.Format(time.DateOnly), Status: ec.Status,
		FileName: ec.FileName, ContentType: ec.ContentType, ReviewedAt: utcPtr(ec.ReviewedAt), ReviewReason: ec.ReviewReason,
		CreatedAt: ec.CreatedAt.UTC()}
	if ec.User != nil {
		r.Holder = &holderResponse{ID: ec.User.ID.String(), Name: ec.User.Name, Email: ec.User.Email}
	}
	return r
}

// uploadExternalCredential handles POST /v1/me/external-credentials: a provider uploads a
// card from another issuer (multipart form: course, issuer, card_number, issued_on,
// expires_on, file) for a platform admin to verify.
func (s *Server) uploadExternalCredential(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	form, err := readMultipart(c)
	if err != nil {
		return err
	}
	defer func() { _ = form.RemoveAll() }()
	ec, err := s.cardFromForm(c, u, form)
	if err != nil {
		return err
	}
	if err := models.CreateExternalCredential(ctx(c), s.db.Gorm, ec); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newExternalCredentialResponse(ec))
}

// readMultipart parses a multipart/form-data body in memory (the route's body limit bounds it).
func readMultipart(c echo.Context) (*multipart.Form, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != echo.MIMEMultipartForm {
		return nil, problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "send multipart/form-data")
	}
	if err := c.Request().ParseMultipartForm(maxCardFile + 2<<20); err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, problem(http.StatusBadRequest, "malformed-request", "the multipart body could not be read")
	}
	return c.Request().MultipartForm, nil
}

// cardFromForm validates every field of the upload at once.
func (s *Server) cardFromForm(c echo.Context, u *models.User, f *multipart.Form) (*models.ExternalCredential, error) {
	var v models.ValidationError
	now := s.now()
	ec := &models.ExternalCredential{UserID: u.ID, CreatedAt: now}
	course, err := s.cardCourse(c, &v, formValue(f, "course"))
	if err != nil {
		return nil, err
	}
	ec.CourseCode = course
	ec.Issuer = formText(&v, f, "issuer", 200)
	ec.CardNumber = formText(&v, f, "card_number", 100)
	ec.IssuedOn, ec.ExpiresOn = cardDates(&v, f, now)
	ec.FileName, ec.ContentType, ec.FileData = cardFile(&v, f)
	return ec, v.Err()
}

// cardCourse returns the course code of the upload, recording a field error if the program
// has no such course.
func (s *Server) cardCourse(c echo.Context, v *models.ValidationError, raw string) (string, error) {
	code := strings.ToUpper(strings.TrimSpace(raw))
	if code == "" {
		v.Add("course", "is required")
		return "", nil
	}
	if _, err := models.FindCourse(ctx(c), s.db.Gorm, code); err != nil {
		if !models.IsNotFound(err) {
			return "", err
		}
		v.Add("course", "is not a course of this program")
	}
	return code, nil
}

func formValue(f *multipart.Form, name string) string {
	if vs := f.Value[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// formText returns the trimmed field, recording an error unless it has 1 to maxLen characters.
func formText(v *models.ValidationError, f *multipart.Form, name string, maxLen int) string {
	s := strings.TrimSpace(formValue(f, name))
	if s == "" || utf8.RuneCountInString(s) > maxLen {
		v.Add(name, "must be 1 to "+strconv.Itoa(maxLen)+" characters")
	}
	return s
}

// cardDates parses issued_on and expires_on: dates, issued no later than today (UTC), and
// expiring after issue.
func cardDates(v *models.ValidationError, f *multipart.Form, now time.Time) (issued, expires time.Time) {
	issued, okI := formDate(v, f, "issued_on")
	expires, okE := formDate(v, f, "expires_on")
	if okI && issued.After(now.UTC()) {
		v.Add("issued_on", "must not be in the future")
	}
	if okI && okE && !expires.After(issued) {
		v.Add("expires_on", "must be after issued_on")
	}
	return issued, expires
}

func formDate(v *models.ValidationError, f *multipart.Form, name string) (time.Time, bool) {
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(formValue(f, name)))
	if err != nil {
		v.Add(name, "must be a date YYYY-MM-DD")
		return time.Time{}, false
	}
	return d, true
}

// cardFile reads the file part: at most maxCardFile bytes of PDF, PNG or JPEG, judged by its
// content, not its name or declared type.
func cardFile(v *models.ValidationError, f *multipart.Form) (name, ctype string, data []byte) {
	fhs := f.File["file"]
	if len(fhs) == 0 {
		v.Add("file", "is required: a PDF, PNG or JPEG of the card")
		return "", "", nil
	}
	fh := fhs[0]
	if fh.Size > maxCardFile {
		v.Add("file", "must be at most 5 MiB")
		return "", "", nil
	}
	data, err := readFormFile(fh)
	if err != nil || len(data) == 0 {
		v.Add("file", "is empty or could not be read")
		return "", "", nil
	}
	ctype = http.DetectContentType(data)
	ext, ok := cardTypes[ctype]
	if !ok {
		v.Add("file", "must be a PDF, PNG or JPEG (this file looks like "+ctype+")")
		return "", "", nil
	}
	return cleanFileName(fh.Filename, ext), ctype, data
}

func readFormFile(fh *multipart.FileHeader) ([]byte, error) {
	file, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(io.LimitReader(file, maxCardFile+1))
}

// cleanFileName keeps the last path element of the client's file name, without control
// characters, at most 200 characters; "card<ext>" when nothing is left.
func cleanFileName(raw, ext string) string {
	base := path.Base(strings.ReplaceAll(raw, `\`, "/"))
	base = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, base)
	if base == "." || base == "/" || strings.TrimSpace(base) == "" {
		return "card" + ext
	}
	if utf8.RuneCountInString(base) > 200 {
		base = string([]rune(base)[:200])
	}
	return base
}

// listMyExternalCredentials handles GET /v1/me/external-credentials: the caller's uploads.
func (s *Server) listMyExternalCredentials(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListExternalCredentials(ctx(c), s.db.Gorm, models.ExternalCredentialFilter{UserID: &u.ID, Page: page})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(ec models.ExternalCredential) externalCredentialResponse {
		return newExternalCredentialResponse(&ec)
	}))
}

// myExternalCredentialFile handles GET /v1/me/external-credentials/{id}/file: the uploaded
// file, to its owner only; anyone else is told it does not exist.
func (s *Server) myExternalCredentialFile(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	ec, err := s.findCardFile(c)
	if err != nil {
		return err
	}
	if ec.UserID != u.ID {
		return problem(http.StatusNotFound, "not-found", "no such resource")
	}
	return sendCardFile(c, ec)
}

// adminExternalCredentialFile handles GET /v1/admin/external-credentials/{id}/file.
func (s *Server) adminExternalCredentialFile(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	ec, err := s.findCardFile(c)
	if err != nil {
		return err
	}
	return sendCardFile(c, ec)
}

func (s *Server) findCardFile(c echo.Context) (*models.ExternalCredential, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	return models.FindExternalCredentialFile(ctx(c), s.db.Gorm, id)
}

// sendCardFile sends the stored file as an attachment, never to be rendered inline.
func sendCardFile(c echo.Context, ec *models.ExternalCredential) error {
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": ec.FileName})
	if disp == "" {
		disp = "attachment"
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, disp)
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.Blob(http.StatusOK, ec.ContentType, ec.FileData)
}

// adminListExternalCredentials handles GET /v1/admin/external-credentials?status=: uploads
// for review, newest first, with their holders.
func (s *Server) adminListExternalCredentials(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	f := models.ExternalCredentialFilter{Status: c.QueryParam("status"), WithUser: true}
	switch f.Status {
	case "", models.ExternalPending, models.ExternalVerified, models.ExternalRejected:
	default:
		return models.Invalid("status", "must be pending, verified or rejected")
	}
	var err error
	if f.Page, err = pageParams(c); err != nil {
		return err
	}
	rows, next, err := models.ListExternalCredentials(ctx(c), s.db.Gorm, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(ec models.ExternalCredential) externalCredentialResponse {
		return newExternalCredentialResponse(&ec)
	}))
}

// verifyExternalCredential handles POST /v1/admin/external-credentials/{id}/verify: the card
// now counts as a current credential for renewals.
func (s *Server) verifyExternalCredential(c echo.Context) error {
	return s.decideExternalCredential(c, models.ExternalVerified, "external_credential.verify", "")
}

// rejectInput is the body of POST /v1/admin/external-credentials/{id}/reject.
type rejectInput struct {
	Reason *string `json:"reason"`
}

// rejectExternalCredential handles POST /v1/admin/external-credentials/{id}/reject with a
// reason the provider will see.
func (s *Server) rejectExternalCredential(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	var in rejectInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	reason := ""
	if in.Reason != nil {
		reason = strings.TrimSpace(*in.Reason)
	}
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return models.Invalid("reason", "must be 1 to 500 characters")
	}
	return s.decideExternalCredential(c, models.ExternalRejected, "external_credential.reject", reason)
}

// decideExternalCredential records a platform admin's decision on a pending card, audited.
func (s *Server) decideExternalCredential(c echo.Context, status, action, reason string) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var after *models.ExternalCredential
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		d := models.ExternalCredentialDecision{Status: status, By: admin.ID, Reason: reason, At: s.now()}
		before, a, err := models.DecideExternalCredential(ctx(c), tx.DB, id, d)
		if err != nil {
			return err
		}
		after = a
		return s.audit(c, tx, auditEvent{Actor: admin, Action: action,
			ObjectType: "external_credential", ObjectID: id.String(),
			Before: newExternalCredentialResponse(before), After: newExternalCredentialResponse(after)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newExternalCredentialResponse(after))
}
