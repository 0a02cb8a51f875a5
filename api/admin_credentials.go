package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// adminCredentialRoutes registers the platform admin's view of credentials and their status
// changes: revoke (final), suspend and reinstate.
func (s *Server) adminCredentialRoutes(g *echo.Group) {
	g.GET("/admin/credentials", s.adminFindCredentials)
	g.GET("/admin/credentials/:id", s.adminGetCredential)
	g.POST("/admin/credentials/:id/revoke", s.adminChangeStatus(models.ActionRevoked))
	g.POST("/admin/credentials/:id/suspend", s.adminChangeStatus(models.ActionSuspended))
	g.POST("/admin/credentials/:id/reinstate", s.adminChangeStatus(models.ActionReinstated))
}

// statusEventResponse is one entry of a credential's status history.
type statusEventResponse struct {
	Status   string     `json:"status"`
	Action   string     `json:"action"`
	Category *string    `json:"category"`
	Reason   *string    `json:"reason"`
	ActorID  *uuid.UUID `json:"actor_id"`
	At       time.Time  `json:"at"`
}

// adminCredentialResponse is a credential as a platform admin sees it: the holder's view,
// who holds it, where it came from, and its status history.
type adminCredentialResponse struct {
	credentialResponse
	Holder    learnerSummary        `json:"holder"`
	Source    string                `json:"source"`
	LegacyID  *string               `json:"legacy_id"`
	ReissueOf *uuid.UUID            `json:"reissue_of"`
	History   []statusEventResponse `json:"history"`
}

// adminCredentialView converts a credential with its holder and history.
func (s *Server) adminCredentialView(c echo.Context, cr *models.Credential) (adminCredentialResponse, error) {
	v, err := s.credentialView(c, cr)
	if err != nil {
		return adminCredentialResponse{}, err
	}
	holder, err := models.FindUser(ctx(c), s.db.Gorm, cr.UserID)
	if err != nil {
		return adminCredentialResponse{}, err
	}
	history, err := models.CredentialHistory(ctx(c), s.db.Gorm, cr.ID)
	if err != nil {
		return adminCredentialResponse{}, err
	}
	out := adminCredentialResponse{credentialResponse: v, Source: cr.Source, LegacyID: cr.LegacyID, ReissueOf: cr.ReissueOf,
		Holder:  learnerSummary{ID: holder.ID, Name: holder.Name, Email: holder.Email},
		History: make([]statusEventResponse, len(history))}
	for i, ev := range history {
		out.History[i] = statusEventResponse{Status: ev.Status, Action: ev.Action, Category: ev.Category,
			Reason: ev.Reason, ActorID: ev.ActorID, At: ev.At.UTC()}
	}
	return out, nil
}

// adminFindCredentials handles GET /v1/admin/credentials?code=|email=: the credential with a
// verification code, or every credential of the holder with an email address (platform admin).
func (s *Server) adminFindCredentials(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	code, email := strings.TrimSpace(c.QueryParam("code")), strings.TrimSpace(c.QueryParam("email"))
	var rows []models.Credential
	switch {
	case code != "" && email == "":
		norm, ok := credential.NormalizeCode(code)
		if !ok {
			return models.Invalid("code", "is not a verification code")
		}
		cr, err := models.FindCredentialByCode(ctx(c), s.db.Gorm, norm)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if cr != nil {
			rows = append(rows, *cr)
		}
	case email != "" && code == "":
		u, err := models.FindUserByEmail(ctx(c), s.db.Gorm, email)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if u != nil {
			if rows, err = models.ListUserCredentials(ctx(c), s.db.Gorm, u.ID); err != nil {
				return err
			}
		}
	default:
		return models.Invalid("code", "give either code or email")
	}
	out := listResponse[adminCredentialResponse]{Items: []adminCredentialResponse{}}
	for i := range rows {
		v, err := s.adminCredentialView(c, &rows[i])
		if err != nil {
			return err
		}
		out.Items = append(out.Items, v)
	}
	return c.JSON(http.StatusOK, out)
}

// adminGetCredential handles GET /v1/admin/credentials/{id}: any credential with its holder
// and status history (platform admin).
func (s *Server) adminGetCredential(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cr, err := models.FindCredential(ctx(c), s.db.Gorm, id)
	if err != nil {
		return err
	}
	v, err := s.adminCredentialView(c, cr)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// statusChangeInput is the body of a revoke, suspend or reinstate.
type statusChangeInput struct {
	Category string `json:"category"`
	Reason   string `json:"reason"`
}

// statusVerbs are what the holder's email says happened; statusAuditActions name the change
// in the audit log.
var (
	statusVerbs = map[string]string{
		models.ActionRevoked: "revoked", models.ActionSuspended: "suspended", models.ActionReinstated: "reinstated",
	}
	statusAuditActions = map[string]string{
		models.ActionRevoked: "credential.revoke", models.ActionSuspended: "credential.suspend",
		models.ActionReinstated: "credential.reinstate",
	}
)

// adminChangeStatus handles POST /v1/admin/credentials/{id}/revoke, /suspend and /reinstate
// (platform admin). The change, its history entry, the status list's new version, the audit
// entry and the holder's email commit together, so the list served once the call returns
// shows the change.
func (s *Server) adminChangeStatus(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		admin, err := s.requirePlatformAdmin(c)
		if err != nil {
			return err
		}
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var in statusChangeInput
		if err := c.Bind(&in); err != nil {
			return err
		}
		ch := models.StatusChange{Action: action, Category: strings.TrimSpace(in.Category),
			Reason: strings.TrimSpace(in.Reason), ActorID: admin.ID, At: s.now()}
		var after *models.Credential
		err = s.db.InTx(ctx(c), func(tx models.Tx) error {
			before, changed, err := models.ChangeCredentialStatus(ctx(c), tx.DB, id, ch)
			if err != nil {
				return err
			}
			after = changed
			if err := s.audit(c, tx, auditEvent{Actor: admin, Action: statusAuditActions[action],
				ObjectType: "credential", ObjectID: id.String(),
				Before: map[string]string{"status": before.Status},
				After:  map[string]string{"status": after.Status, "category": ch.Category, "reason": ch.Reason}}); err != nil {
				return err
			}
			if err := s.mailStatusChange(c, tx, after, ch); err != nil {
				return err
			}
			// Orgs watching the holder hear of it: the actions are named as the event types.
			return jobs.EmitCredentialEvent(ctx(c), s.jobs, tx, "credential."+action, id, ch.At)
		})
		if err != nil {
			return err
		}
		cr, err := models.FindCredential(ctx(c), s.db.Gorm, after.ID)
		if err != nil {
			return err
		}
		v, err := s.adminCredentialView(c, cr)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}

// mailStatusChange tells the holder their credential's status changed, in tx.
func (s *Server) mailStatusChange(c echo.Context, tx models.Tx, cr *models.Credential, ch models.StatusChange) error {
	holder, err := models.FindUser(ctx(c), tx.DB, cr.UserID)
	if err != nil {
		return err
	}
	course, err := models.FindCourse(ctx(c), tx.DB, cr.CourseCode)
	if err != nil {
		return err
	}
	return s.sendMail(ctx(c), tx, outgoing{To: holder.Email, UserID: &holder.ID, Template: "credential_status",
		Data: map[string]any{
			"Name": holder.Name, "Course": cr.CourseCode, "CourseTitle": course.Title, "Code": cr.Code,
			"Verb": statusVerbs[ch.Action], "Date": ch.At.In(s.cfg.Location).Format("January 2, 2006"),
			"Category": strings.ReplaceAll(ch.Category, "_", " "), "Reason": ch.Reason, "Status": cr.Status,
			"VerifyURL": s.cfg.PublicURL + "/verify/" + cr.Code,
		}})
}
