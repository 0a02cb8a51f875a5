package api

import (
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// Name-change requests carry a supporting document of at most maxNameChangeDocument bytes in
// a multipart body of at most nameChangeBodyLimit; the route sets this limit itself and the
// global (JSON-sized) limit skips it (see hasOwnBodyLimit).
const (
	maxNameChangeDocument = 5 << 20
	nameChangeBodyLimit   = "6M"
	nameChangeRoute       = "/v1/me/name-change-requests"
	maxNameChangeReason   = 1000
)

// nameChangeDocumentTypes are the document types accepted, as sniffed from the bytes, with
// the extension used when a file arrives without a name.
var nameChangeDocumentTypes = map[string]string{"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}

// nameChangeRoutes registers the holder's requests and the platform admin's decisions.
func (s *Server) nameChangeRoutes(g *echo.Group) {
	// A retry must resend the same bytes (multipart boundary included) to replay; a client
	// that rebuilds the body is refused by the one-pending-request rule instead.
	g.POST("/me/name-change-requests", s.requestNameChange, middleware.BodyLimit(nameChangeBodyLimit), s.idempotent)
	g.GET("/me/name-change-requests", s.listMyNameChanges)
	g.GET("/me/name-change-requests/:id", s.getMyNameChange)

	g.GET("/admin/name-change-requests", s.adminListNameChanges)
	g.GET("/admin/name-change-requests/:id/document", s.adminNameChangeDocument)
	g.POST("/admin/name-change-requests/:id/approve", s.approveNameChange)
	g.POST("/admin/name-change-requests/:id/reject", s.rejectNameChange)
}

// nameChangeResponse is a name-change request without its document. Holder is set in the
// platform admin's views, Reissued in the answer to an approval.
type nameChangeResponse struct {
	ID             uuid.UUID         `json:"id"`
	Status         string            `json:"status"`
	CurrentName    string            `json:"current_name"`
	NewName        string            `json:"new_name"`
	Reason         string            `json:"reason"`
	DocumentName   string            `json:"document_name"`
	DocumentType   string            `json:"document_type"`
	CreatedAt      time.Time         `json:"created_at"`
	DecidedAt      *time.Time        `json:"decided_at,omitempty"`
	DecisionReason *string           `json:"decision_reason,omitempty"`
	Holder         *holderResponse   `json:"holder,omitempty"`
	Reissued       []reissueResponse `json:"reissued,omitempty"`
}

// reissueResponse names a credential an approval replaced and the one replacing it.
type reissueResponse struct {
	SupersededID uuid.UUID `json:"superseded_id"`
	CredentialID uuid.UUID `json:"credential_id"`
	Code         string    `json:"code"`
}

func newNameChangeResponse(r *models.NameChangeRequest) nameChangeResponse {
	out := nameChangeResponse{ID: r.ID, Status: r.Status, CurrentName: r.CurrentName, NewName: r.NewName,
		Reason: r.Reason, DocumentName: r.DocumentName, DocumentType: r.DocumentType, CreatedAt: r.CreatedAt.UTC(),
		DecidedAt: utcPtr(r.DecidedAt), DecisionReason: r.DecisionReason}
	if r.User != nil {
		out.Holder = &holderResponse{ID: r.User.ID.String(), Name: r.User.Name, Email: r.User.Email}
	}
	return out
}

// requestNameChange handles POST /v1/me/name-change-requests: the caller asks for a new name
// on their account and credentials (multipart form: new_name, reason, document).
func (s *Server) requestNameChange(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	form, err := readMultipart(c)
	if err != nil {
		return err
	}
	defer func() { _ = form.RemoveAll() }()
	r, err := s.nameChangeFromForm(u, form)
	if err != nil {
		return err
	}
	if err := models.CreateNameChangeRequest(ctx(c), s.db.Gorm, r); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newNameChangeResponse(r))
}

// nameChangeFromForm validates every field of the request at once.
func (s *Server) nameChangeFromForm(u *models.User, f *multipart.Form) (*models.NameChangeRequest, error) {
	v := &models.ValidationError{}
	r := &models.NameChangeRequest{UserID: u.ID, CurrentName: u.Name, CreatedAt: s.now()}
	r.NewName = strings.TrimSpace(formValue(f, "new_name"))
	switch {
	case r.NewName == "" || utf8.RuneCountInString(r.NewName) > 200:
		v.Add("new_name", "must be 1 to 200 characters")
	case r.NewName == u.Name:
		v.Add("new_name", "must differ from your current name")
	}
	r.Reason = strings.TrimSpace(formValue(f, "reason"))
	if utf8.RuneCountInString(r.Reason) > maxNameChangeReason {
		v.Add("reason", "must be at most 1000 characters")
	}
	r.DocumentName, r.DocumentType, r.Document = nameChangeDocumentPart(v, f)
	return r, v.Err()
}

// nameChangeDocumentPart reads the document part: at most maxNameChangeDocument bytes of PDF,
// PNG or JPEG, judged by its content, not its name or declared type.
func nameChangeDocumentPart(v *models.ValidationError, f *multipart.Form) (name, ctype string, data []byte) {
	fhs := f.File["document"]
	if len(fhs) == 0 {
		v.Add("document", "is required: a PDF, PNG or JPEG of a document showing the new name")
		return "", "", nil
	}
	fh := fhs[0]
	if fh.Size > maxNameChangeDocument {
		v.Add("document", "must be at most 5 MiB")
		return "", "", nil
	}
	data, err := readFormFile(fh)
	if err != nil || len(data) == 0 {
		v.Add("document", "is empty or could not be read")
		return "", "", nil
	}
	ctype = http.DetectContentType(data)
	ext, ok := nameChangeDocumentTypes[ctype]
	if !ok {
		v.Add("document", "must be a PDF, PNG or JPEG (this file looks like "+ctype+")")
		return "", "", nil
	}
	if strings.TrimSpace(fh.Filename) == "" {
		return "name-change" + ext, ctype, data
	}
	return cleanFileName(fh.Filename, ext), ctype, data
}

// listMyNameChanges handles GET /v1/me/name-change-requests: the caller's requests, newest
// first.
func (s *Server) listMyNameChanges(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListNameChangeRequests(ctx(c), s.db.Gorm, models.NameChangeFilter{UserID: &u.ID, Page: page})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(r models.NameChangeRequest) nameChangeResponse {
		return newNameChangeResponse(&r)
	}))
}

// getMyNameChange handles GET /v1/me/name-change-requests/{id}: one of the caller's
// requests; anyone else's is not found.
func (s *Server) getMyNameChange(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := models.FindNameChangeRequest(ctx(c), s.db.Gorm, id)
	if err != nil {
		return err
	}
	if r.UserID != u.ID {
		return models.ErrNotFound
	}
	return c.JSON(http.StatusOK, newNameChangeResponse(r))
}

// adminListNameChanges handles GET /v1/admin/name-change-requests?status=: requests with
// their holders, newest first.
func (s *Server) adminListNameChanges(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	f := models.NameChangeFilter{Status: c.QueryParam("status"), WithUser: true}
	switch f.Status {
	case "", models.NameChangePending, models.NameChangeApproved, models.NameChangeRejected:
	default:
		return models.Invalid("status", "must be pending, approved or rejected")
	}
	var err error
	if f.Page, err = pageParams(c); err != nil {
		return err
	}
	rows, next, err := models.ListNameChangeRequests(ctx(c), s.db.Gorm, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(r models.NameChangeRequest) nameChangeResponse {
		return newNameChangeResponse(&r)
	}))
}

// adminNameChangeDocument handles GET /v1/admin/name-change-requests/{id}/document: the supporting
// document as an attachment, never rendered inline. Once cleared after the retention period
// it is 410 document-removed: the request exists, its file is gone for good.
func (s *Server) adminNameChangeDocument(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := models.FindNameChangeDocument(ctx(c), s.db.Gorm, id)
	if err != nil {
		return err
	}
	if r.Document == nil {
		return problem(http.StatusGone, "document-removed",
			"the supporting document was deleted when its retention period after the decision ended")
	}
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": r.DocumentName})
	if disp == "" {
		disp = "attachment"
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, disp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	return c.Blob(http.StatusOK, r.DocumentType, r.Document)
}

// nameChangeDecisionInput is the body of an approval (optional) or a rejection.
type nameChangeDecisionInput struct {
	Reason *string `json:"reason"`
}

// decisionReason reads the body's reason: required (1 to 1000 characters) to reject; to
// approve the body itself may be left out.
func decisionReason(c echo.Context, required bool) (string, error) {
	var in nameChangeDecisionInput
	if required || c.Request().ContentLength != 0 {
		if err := c.Bind(&in); err != nil {
			return "", err
		}
	}
	reason := ""
	if in.Reason != nil {
		reason = strings.TrimSpace(*in.Reason)
	}
	n := utf8.RuneCountInString(reason)
	switch {
	case required && (n == 0 || n > maxNameChangeReason):
		return "", models.Invalid("reason", "must be 1 to 1000 characters")
	case n > maxNameChangeReason:
		return "", models.Invalid("reason", "must be at most 1000 characters")
	}
	return reason, nil
}

// approveNameChange handles POST /v1/admin/name-change-requests/{id}/approve: the holder takes
// the new name and each of their live credentials is reissued in it, in one transaction with
// the audit entry, the reissues' follow-up jobs and the email to the holder.
func (s *Server) approveNameChange(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	reason, err := decisionReason(c, false)
	if err != nil {
		return err
	}
	var out nameChangeResponse
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		d := models.NameChangeDecision{By: admin.ID, Reason: reason, At: s.now()}
		before, after, reissues, err := models.ApproveNameChange(ctx(c), tx.DB, id, d, jobs.IssueRules(s.cfg.PublicURL))
		if err != nil {
			return err
		}
		for _, r := range reissues {
			if err := jobs.CredentialCreated(ctx(c), s.jobs, tx, r.New.ID); err != nil {
				return err
			}
		}
		if out, err = s.decidedNameChange(c, tx, after, reissues); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "name_change.approve", ObjectType: "name_change_request",
			ObjectID: id.String(), Before: newNameChangeResponse(before), After: out})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// rejectNameChange handles POST /v1/admin/name-change-requests/{id}/reject with a reason the
// holder is emailed.
func (s *Server) rejectNameChange(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	reason, err := decisionReason(c, true)
	if err != nil {
		return err
	}
	var out nameChangeResponse
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		d := models.NameChangeDecision{By: admin.ID, Reason: reason, At: s.now()}
		before, after, err := models.RejectNameChange(ctx(c), tx.DB, id, d)
		if err != nil {
			return err
		}
		if out, err = s.decidedNameChange(c, tx, after, nil); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "name_change.reject", ObjectType: "name_change_request",
			ObjectID: id.String(), Before: newNameChangeResponse(before), After: out})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// decidedNameChange emails the holder the decision and returns the request as the admin
// sees it.
func (s *Server) decidedNameChange(c echo.Context, tx models.Tx, r *models.NameChangeRequest, reissues []models.Reissue) (nameChangeResponse, error) {
	u, err := models.FindUser(ctx(c), tx.DB, r.UserID)
	if err != nil {
		return nameChangeResponse{}, err
	}
	r.User = u
	out := newNameChangeResponse(r)
	creds := make([]map[string]string, 0, len(reissues))
	for _, ri := range reissues {
		out.Reissued = append(out.Reissued, reissueResponse{SupersededID: ri.Old.ID, CredentialID: ri.New.ID, Code: ri.New.Code})
		creds = append(creds, map[string]string{"Course": ri.New.CourseCode, "Code": ri.New.Code, "OldCode": ri.Old.Code})
	}
	o := outgoing{To: u.Email, UserID: &u.ID, Template: "name_change_rejected",
		Data: map[string]any{"Name": u.Name, "NewName": r.NewName, "Reason": derefString(r.DecisionReason)}}
	if r.Status == models.NameChangeApproved {
		o.Template = "name_change_approved"
		o.Data = map[string]any{"Name": u.Name, "Credentials": creds}
	}
	return out, s.sendMail(ctx(c), tx, o)
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
