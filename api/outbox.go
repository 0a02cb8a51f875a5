package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/mail"
	"github.com/aalscert/aalscert/models"
)

// mailRoutes registers the admin outbox: every email the service recorded, for support
// ("I never got the link") and for checking delivery.
func (s *Server) mailRoutes(g *echo.Group) {
	g.GET("/admin/outbox", s.listOutbox)
}

// outboxStatuses are the values ?status= accepts.
var outboxStatuses = []string{models.OutboxQueued, models.OutboxSent, models.OutboxFailed, models.OutboxLogged}

// outboxMessageResponse is one recorded email as an admin sees it: live tokens redacted, and
// never the sealed full message.
type outboxMessageResponse struct {
	ID        uuid.UUID  `json:"id"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Text      string     `json:"text"`
	HTML      string     `json:"html"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	LastError *string    `json:"last_error"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at"`
}

// newOutboxMessageResponse converts a stored message. The stored copy is already redacted;
// RedactLinks also covers a token its sender failed to name.
func newOutboxMessageResponse(m models.OutboxMessage) outboxMessageResponse {
	r := outboxMessageResponse{
		ID: m.ID, To: m.ToAddr, Subject: mail.RedactLinks(m.Subject),
		Text: mail.RedactLinks(m.TextBody), HTML: mail.RedactLinks(m.HTMLBody),
		Status: m.Status, Attempts: m.Attempts, LastError: m.LastError, CreatedAt: m.CreatedAt.UTC(),
	}
	if m.SentAt != nil {
		t := m.SentAt.UTC()
		r.SentAt = &t
	}
	return r
}

// listOutbox handles GET /v1/admin/outbox?to=&status=: recorded emails, newest first, for
// platform admins.
func (s *Server) listOutbox(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	f := models.OutboxFilter{To: models.NormalizeEmail(c.QueryParam("to")), Status: c.QueryParam("status")}
	ve := &models.ValidationError{}
	if f.Status != "" && !slices.Contains(outboxStatuses, f.Status) {
		ve.Add("status", "must be one of queued, sent, failed, logged")
	}
	if len(f.To) > 254 {
		ve.Add("to", "must be at most 254 characters")
	}
	page, err := pageParams(c)
	var pe *models.ValidationError
	if errors.As(err, &pe) {
		ve.Fields = append(ve.Fields, pe.Fields...)
	} else if err != nil {
		return err
	}
	if err := ve.Err(); err != nil {
		return err
	}
	f.Page = page
	rows, next, err := models.ListOutboxMessages(ctx(c), s.db.Gorm, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, newOutboxMessageResponse))
}
