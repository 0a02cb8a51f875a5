package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// rosterRoutes registers the reports org admins read: a cohort's roster and the org's
// compliance with each course.
func (s *Server) rosterRoutes(g *echo.Group) {
	g.GET("/orgs/:orgID/cohorts/:cohortID/roster", s.cohortRoster)
	g.GET("/orgs/:orgID/compliance", s.orgCompliance)
}

// credentialStateResponse is a person's best credential of a course as an org sees it: its
// state, code and validity, never anything of the exam behind it.
type credentialStateResponse struct {
	Status       string     `json:"status"`
	Code         string     `json:"code,omitempty"`
	ValidFrom    *time.Time `json:"valid_from,omitempty"`
	ValidThrough string     `json:"valid_through,omitempty"`
}

func newCredentialStateResponse(c models.CredentialSummary) credentialStateResponse {
	out := credentialStateResponse{Status: c.State, Code: c.Code}
	if c.ValidFrom != nil {
		v := c.ValidFrom.UTC()
		out.ValidFrom = &v
	}
	if c.ValidThrough != nil {
		out.ValidThrough = c.ValidThrough.Format(time.DateOnly)
	}
	return out
}

// rosterRowResponse is one invitee of a cohort: who, how far they got, and their credential.
type rosterRowResponse struct {
	InvitationID     string                  `json:"invitation_id"`
	Email            string                  `json:"email"`
	Name             string                  `json:"name"`
	InvitationStatus string                  `json:"invitation_status"`
	MemberState      string                  `json:"member_state"`
	Credential       credentialStateResponse `json:"credential"`
}

func newRosterRowResponse(r models.RosterRow) rosterRowResponse {
	return rosterRowResponse{InvitationID: r.InvitationID.String(), Email: r.Email, Name: r.Name,
		InvitationStatus: r.InvitationStatus, MemberState: r.MemberState, Credential: newCredentialStateResponse(r.Credential)}
}

// credentialAsOf is the moment and issuer's calendar day credential states are computed for.
func (s *Server) credentialAsOf() models.CredentialAsOf {
	return models.CredentialAsOf{Now: s.now(), Today: s.today()}
}

// cohortRoster handles GET /v1/orgs/{orgID}/cohorts/{cohortID}/roster: every invitation of
// the cohort that was not revoked, with the member's progress and credential. JSON pages, or
// every row as CSV when the caller accepts text/csv.
func (s *Server) cohortRoster(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	cohortID, err := pathID(c, "cohortID")
	if err != nil {
		return err
	}
	cohort, err := models.FindRosterCohort(ctx(c), s.db.Gorm, sc.Org.ID, cohortID)
	if err != nil {
		return err
	}
	if wantsCSV(c) {
		rows, _, err := models.Roster(ctx(c), s.db.Gorm, cohort, s.credentialAsOf(), models.Page{})
		if err != nil {
			return err
		}
		records := make([][]string, 0, len(rows)+1)
		records = append(records, []string{"email", "name", "invitation_status", "member_state",
			"credential_status", "credential_code", "valid_from", "valid_through"})
		for _, r := range rows {
			cr := newCredentialStateResponse(r.Credential)
			records = append(records, []string{r.Email, r.Name, r.InvitationStatus, r.MemberState,
				cr.Status, cr.Code, formatOptionalTime(cr.ValidFrom), cr.ValidThrough})
		}
		return sendCSV(c, "roster.csv", records)
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.Roster(ctx(c), s.db.Gorm, cohort, s.credentialAsOf(), page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, newRosterRowResponse))
}

// wantsCSV reports whether the caller asked for CSV rather than JSON.
func wantsCSV(c echo.Context) bool {
	return strings.Contains(strings.ToLower(c.Request().Header.Get(echo.HeaderAccept)), "text/csv")
}

func formatOptionalTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// csvCell neutralizes a cell a spreadsheet would run as a formula (OWASP CSV injection): one
// starting with =, +, -, @, a tab or a carriage return gets a leading single quote. Names and
// addresses come from invitees, so an admin opening the file must not execute them.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// sendCSV answers with the records as a CSV attachment, every cell neutralized by csvCell.
func sendCSV(c echo.Context, filename string, records [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, rec := range records {
		for i := range rec {
			rec[i] = csvCell(rec[i])
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
