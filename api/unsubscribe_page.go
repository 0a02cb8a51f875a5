package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/linktoken"
	"github.com/aalscert/aalscert/models"
)

func init() {
	pageTemplates["unsubscribe"] = parsePage("unsubscribe.html")
}

const unsubscribeTitle = "Renewal reminder emails"

// unsubscribeData is what the unsubscribe page shows.
type unsubscribeData struct {
	Title      string
	State      string // pageForm, pageDone, pageExpired or pageInvalid
	Token      string // the live token, only ever put in the form's action
	Email      string
	AlreadyOff bool // reminders were off before this visit
}

// unsubscribePage handles GET /unsubscribe?token=…: whose reminders the link stops and a
// button to stop them. Opening it changes nothing, so a mail scanner that follows every link
// cannot unsubscribe anyone.
func (s *Server) unsubscribePage(c echo.Context) error {
	d := unsubscribeData{Title: unsubscribeTitle}
	u, err := s.unsubscribeUser(c)
	if state, status, ok := linkFailure(err); ok {
		d.State = state
		return s.renderPage(c, status, "unsubscribe", d)
	}
	if err != nil {
		return err
	}
	d.State, d.Token, d.Email, d.AlreadyOff = pageForm, c.QueryParam("token"), u.Email, !u.ReminderEmails
	return s.renderPage(c, http.StatusOK, "unsubscribe", d)
}

// submitUnsubscribePage handles POST /unsubscribe?token=…: the page's button, and the RFC 8058
// one-click unsubscribe that mail clients send (body "List-Unsubscribe=One-Click", no
// cookies). The signed token in the URL is the only proof needed, as RFC 8058 intends, so the
// body is not read. Repeating it is harmless.
func (s *Server) submitUnsubscribePage(c echo.Context) error {
	d := unsubscribeData{Title: unsubscribeTitle}
	u, err := s.unsubscribeUser(c)
	if state, status, ok := linkFailure(err); ok {
		d.State = state
		return s.renderPage(c, status, "unsubscribe", d)
	}
	if err != nil {
		return err
	}
	off := false
	if err := models.UpdateUser(ctx(c), s.db.Gorm, u.ID, models.UserUpdate{ReminderEmails: &off}); err != nil {
		return err
	}
	d.State, d.Email = pageDone, u.Email
	return s.renderPage(c, http.StatusOK, "unsubscribe", d)
}

// unsubscribeUser returns the user of the unsubscribe link in the query. A link that does
// not check, or whose account is gone, is linktoken.ErrInvalid; one past its expiry is
// linktoken.ErrExpired.
func (s *Server) unsubscribeUser(c echo.Context) (*models.User, error) {
	id, err := s.linkSubject(linktoken.PurposeUnsubscribe, c.QueryParam("token"))
	if err != nil {
		return nil, err
	}
	u, err := models.FindUser(ctx(c), s.db.Gorm, id)
	if models.IsNotFound(err) {
		return nil, linktoken.ErrInvalid
	}
	return u, err
}
