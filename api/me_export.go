package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// exportResponse is everything stored about the signed-in user. It carries no secret: no
// password hash, TOTP secret, or token (only metadata of sign-ins, and emails as the outbox
// keeps them, with links redacted).
type exportResponse struct {
	ExportedAt        time.Time            `json:"exported_at"`
	User              userResponse         `json:"user"`
	Memberships       []membershipResponse `json:"memberships"`
	MemberInvitations []invitationResponse `json:"member_invitations"`
	Sessions          []sessionResponse    `json:"sessions"`
	Emails            []sentEmailResponse  `json:"emails"`
	Enrollments       []enrollmentResponse `json:"enrollments"`
	Orders            []orderResponse      `json:"orders"`
	// Outside cards, without the files (GET /v1/me/external-credentials/{id}/file has each).
	ExternalCredentials []externalCredentialResponse `json:"external_credentials"`
}

// sessionResponse is one sign-in (a refresh token), without the token.
type sessionResponse struct {
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	Used      bool       `json:"used"`
	UsedAt    *time.Time `json:"used_at"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *time.Time `json:"revoked_at"`
	UserAgent string     `json:"user_agent"`
	ClientIP  string     `json:"client_ip"`
}

// sentEmailResponse is an email sent to the user, links redacted.
type sentEmailResponse struct {
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	Status    string    `json:"status"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// exportMe handles GET /v1/me/export: the user's own copy of their data.
func (s *Server) exportMe(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	x, err := models.ExportUser(ctx(c), s.db.Gorm, u)
	if err != nil {
		return err
	}
	now := s.now()
	out := exportResponse{ExportedAt: now.UTC(), User: newUserResponse(u),
		Memberships:       convert(x.Memberships, newMembershipResponse),
		MemberInvitations: convert(x.Invitations, func(i models.MemberInvitation) invitationResponse { return newInvitationResponse(i, now) }),
		Sessions:          convert(x.Sessions, newSessionResponse),
		Emails:            convert(x.Emails, newSentEmailResponse),
		Orders:            convert(x.Orders, func(o models.Order) orderResponse { return newOrderResponse(&o) }),
		ExternalCredentials: convert(x.Cards, func(ec models.ExternalCredential) externalCredentialResponse {
			return newExternalCredentialResponse(&ec)
		}),
	}
	orders := map[uuid.UUID]*models.Order{}
	for i := range x.Orders {
		orders[x.Orders[i].ID] = &x.Orders[i]
	}
	out.Enrollments = convert(x.Enrollments, func(e models.Enrollment) enrollmentResponse {
		var o *models.Order
		if e.OrderID != nil {
			o = orders[*e.OrderID]
		}
		return newEnrollmentResponse(&e, o, "")
	})
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="aalscert-export.json"`)
	return c.JSON(http.StatusOK, out)
}

func newSessionResponse(t models.ExportSession) sessionResponse {
	return sessionResponse{ID: t.ID.String(), CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(),
		Used: t.UsedAt != nil, UsedAt: utcPtr(t.UsedAt), Revoked: t.RevokedAt != nil, RevokedAt: utcPtr(t.RevokedAt),
		UserAgent: t.UserAgent, ClientIP: t.ClientIP}
}

func newSentEmailResponse(m models.ExportEmail) sentEmailResponse {
	return sentEmailResponse{ID: m.ID.String(), Subject: m.Subject, Status: m.Status, Text: m.TextBody, CreatedAt: m.CreatedAt.UTC()}
}

// convert maps items to response types; the result is never nil, so it encodes as [].
func convert[M, T any](items []M, conv func(M) T) []T {
	out := make([]T, 0, len(items))
	for _, m := range items {
		out = append(out, conv(m))
	}
	return out
}
