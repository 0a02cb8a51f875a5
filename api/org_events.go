package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// orgEventResponse is one event of the feed, with the same type and data a webhook gets.
type orgEventResponse struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// orgEventsResponse is a page of the feed. Next is the cursor to pass as since for the
// events after these; with no new events it is the since given, so a poller just repeats.
type orgEventsResponse struct {
	Items []orgEventResponse `json:"items"`
	Next  string             `json:"next"`
}

// listOrgEvents handles GET /v1/orgs/{orgID}/events?since=&limit= (verifier, admin or API
// key): the org's events after the cursor, oldest first, kept 30 days.
func (s *Server) listOrgEvents(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleVerifier)
	if err != nil {
		return err
	}
	f := models.OrgEventFilter{OrgID: sc.Org.ID, Limit: defaultLimit}
	if v := c.QueryParam("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return models.Invalid("since", "is not a cursor this API returned")
		}
		f.Since = n
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return models.Invalid("limit", "must be an integer")
		}
		f.Limit = min(max(n, 1), maxLimit)
	}
	rows, err := models.ListOrgEvents(ctx(c), s.db.Gorm, f)
	if err != nil {
		return err
	}
	out := orgEventsResponse{Items: make([]orgEventResponse, 0, len(rows)), Next: strconv.FormatInt(f.Since, 10)}
	for _, ev := range rows {
		out.Items = append(out.Items, orgEventResponse{ID: strconv.FormatInt(ev.ID, 10), Type: ev.Type,
			CreatedAt: ev.CreatedAt.UTC(), Data: ev.Data})
		out.Next = out.Items[len(out.Items)-1].ID
	}
	return c.JSON(http.StatusOK, out)
}
