package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// eventRoutes registers an org's watchlist, its event feed and its webhooks.
func (s *Server) eventRoutes(g *echo.Group) {
	g.POST("/orgs/:orgID/watchlist", s.addWatchlistEntry, s.idempotent)
	g.GET("/orgs/:orgID/watchlist", s.listWatchlist)
	g.DELETE("/orgs/:orgID/watchlist/:entryID", s.deleteWatchlistEntry)
	g.GET("/orgs/:orgID/events", s.listOrgEvents)
	// Not idempotent: the answer holds the secret, which must not be stored for replay.
	g.POST("/orgs/:orgID/webhooks", s.createWebhook)
	g.GET("/orgs/:orgID/webhooks", s.listWebhooks)
	g.DELETE("/orgs/:orgID/webhooks/:webhookID", s.deleteWebhook)
	g.POST("/orgs/:orgID/webhooks/:webhookID/test", s.testWebhook)
	g.GET("/orgs/:orgID/webhooks/:webhookID/deliveries", s.listWebhookDeliveries)
}

// watchlistEntryResponse is a provider an org watches. Holder tells whether the NPI or code
// is tied to a provider account yet; who it is stays with the verification APIs.
type watchlistEntryResponse struct {
	ID        uuid.UUID `json:"id"`
	NPI       *string   `json:"npi"`
	Code      *string   `json:"code"`
	Resolved  bool      `json:"resolved"`
	CreatedAt time.Time `json:"created_at"`
}

func newWatchlistEntryResponse(e *models.WatchlistEntry) watchlistEntryResponse {
	return watchlistEntryResponse{ID: e.ID, NPI: e.NPI, Code: e.Code, Resolved: e.UserID != nil, CreatedAt: e.CreatedAt.UTC()}
}

// watchlistInput is the body of POST /v1/orgs/{orgID}/watchlist: an NPI or a code.
type watchlistInput struct {
	NPI  *string `json:"npi"`
	Code *string `json:"code"`
}

// addWatchlistEntry handles POST /v1/orgs/{orgID}/watchlist (verifier, admin or API key):
// 201 with the new entry, or 200 with the entry already watching that NPI or code.
func (s *Server) addWatchlistEntry(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleVerifier)
	if err != nil {
		return err
	}
	var in watchlistInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	e := &models.WatchlistEntry{ID: uuid.New(), OrgID: sc.Org.ID, CreatedAt: s.now().Truncate(time.Microsecond)}
	switch {
	case (in.NPI == nil) == (in.Code == nil):
		return models.Invalid("npi", "give either npi or code")
	case in.NPI != nil:
		npi := strings.TrimSpace(*in.NPI)
		if !models.ValidNPI(npi) {
			return models.Invalid("npi", "must be a valid 10-digit NPI")
		}
		e.NPI = &npi
	default:
		code, ok := credential.NormalizeCode(*in.Code)
		if !ok {
			return models.Invalid("code", "is not a verification code")
		}
		e.Code = &code
	}
	if u := sc.user(); u != nil {
		e.AddedBy = &u.ID
	} else {
		e.AddedBy = &sc.Caller.APIKey.ID
	}
	var created bool
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if created, err = models.CreateWatchlistEntry(ctx(c), tx.DB, e); err != nil || !created {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "watchlist.add", ObjectType: "watchlist",
			ObjectID: e.ID.String(), After: newWatchlistEntryResponse(e)})
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return c.JSON(status, newWatchlistEntryResponse(e))
}

// listWatchlist handles GET /v1/orgs/{orgID}/watchlist, newest first.
func (s *Server) listWatchlist(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleVerifier)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListWatchlist(ctx(c), s.db.Gorm, sc.Org.ID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(e models.WatchlistEntry) watchlistEntryResponse {
		return newWatchlistEntryResponse(&e)
	}))
}

// deleteWatchlistEntry handles DELETE /v1/orgs/{orgID}/watchlist/{entryID}; an entry of
// another org is not found.
func (s *Server) deleteWatchlistEntry(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleVerifier)
	if err != nil {
		return err
	}
	id, err := pathID(c, "entryID")
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.DeleteWatchlistEntry(ctx(c), tx.DB, sc.Org.ID, id); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "watchlist.remove", ObjectType: "watchlist", ObjectID: id.String()})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
