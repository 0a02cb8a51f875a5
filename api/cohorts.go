package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// cohortRoutes registers cohorts and their invitations (org admins), and accepting an
// invitation (the invitee).
func (s *Server) cohortRoutes(g *echo.Group) {
	g.POST("/orgs/:orgID/cohorts", s.createCohort, s.idempotent)
	g.GET("/orgs/:orgID/cohorts", s.listCohorts)
	g.GET("/orgs/:orgID/cohorts/:cohortID", s.getCohort)
	g.PATCH("/orgs/:orgID/cohorts/:cohortID", s.updateCohort)
	g.POST("/orgs/:orgID/cohorts/:cohortID/archive", s.archiveCohort)
	s.cohortInvitationRoutes(g)
	s.cohortInvitationPageRoutes(s.echo)
}

// dateLayout is how API dates without a time are written.
const dateLayout = "2006-01-02"

// cohortResponse is a cohort with its figures.
type cohortResponse struct {
	ID             uuid.UUID  `json:"id"`
	OrgID          uuid.UUID  `json:"org_id"`
	Name           string     `json:"name"`
	Course         string     `json:"course"`
	Offering       string     `json:"offering"`
	DueDate        string     `json:"due_date"`
	AllowSelfPay   bool       `json:"allow_self_pay"`
	ArchivedAt     *time.Time `json:"archived_at"`
	Invited        int        `json:"invited"`
	Accepted       int        `json:"accepted"`
	SeatsRemaining int        `json:"seats_remaining"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func newCohortResponse(c *models.Cohort, st models.CohortStats) cohortResponse {
	return cohortResponse{ID: c.ID, OrgID: c.OrgID, Name: c.Name, Course: c.CourseCode, Offering: c.Offering,
		DueDate: c.DueDate.Format(dateLayout), AllowSelfPay: c.AllowSelfPay, ArchivedAt: utcPtr(c.ArchivedAt),
		Invited: st.Invited, Accepted: st.Accepted, SeatsRemaining: st.SeatsRemaining,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

// cohortWithStats answers one cohort with its figures.
func (s *Server) cohortWithStats(c echo.Context, co *models.Cohort) (cohortResponse, error) {
	st, err := models.CohortStatsOf(ctx(c), s.db.Gorm, co.OrgID, []models.Cohort{*co})
	if err != nil {
		return cohortResponse{}, err
	}
	return newCohortResponse(co, st[co.ID]), nil
}

// cohortInput is the body of POST (all but allow_self_pay required) and PATCH (name,
// due_date and allow_self_pay only) of a cohort.
type cohortInput struct {
	Name         *string `json:"name"`
	Course       *string `json:"course"`
	Offering     *string `json:"offering"`
	DueDate      *string `json:"due_date"`
	AllowSelfPay *bool   `json:"allow_self_pay"`
}

// name checks the name field into ve; required says whether it may be absent.
func (in cohortInput) name(ve *models.ValidationError, required bool) string {
	if in.Name == nil {
		if required {
			ve.Add("name", "is required")
		}
		return ""
	}
	n := strings.TrimSpace(*in.Name)
	if n == "" || len([]rune(n)) > 200 {
		ve.Add("name", "must be 1 to 200 characters")
	}
	return n
}

// dueDate checks the due_date field into ve: a date (YYYY-MM-DD) not before today.
func (s *Server) dueDate(ve *models.ValidationError, raw *string, required bool) time.Time {
	if raw == nil {
		if required {
			ve.Add("due_date", "is required")
		}
		return time.Time{}
	}
	d, err := time.Parse(dateLayout, *raw)
	if err != nil {
		ve.Add("due_date", "must be a date as YYYY-MM-DD")
		return time.Time{}
	}
	today := s.today()
	if d.Before(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)) {
		ve.Add("due_date", "must not be in the past")
	}
	return d
}

// createCohort handles POST /v1/orgs/{orgID}/cohorts: an org admin starts a cohort of one
// course offering with a due date.
func (s *Server) createCohort(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	var in cohortInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	ve := &models.ValidationError{}
	name := in.name(ve, true)
	due := s.dueDate(ve, in.DueDate, true)
	course, off, err := s.offeringFor(c, ve, in.Course, in.Offering)
	if err != nil {
		return err
	}
	now := s.now().Truncate(time.Microsecond)
	co := &models.Cohort{OrgID: sc.Org.ID, Name: name, CourseCode: course.Code, Offering: off.Kind, DueDate: due,
		AllowSelfPay: in.AllowSelfPay != nil && *in.AllowSelfPay, CreatedBy: sc.user().ID, CreatedAt: now, UpdatedAt: now}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if err := models.CreateCohort(ctx(c), tx.DB, co); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "cohort.create", ObjectType: "cohort",
			ObjectID: co.ID.String(), After: newCohortResponse(co, models.CohortStats{})})
	})
	if err != nil {
		return err
	}
	out, err := s.cohortWithStats(c, co)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

// listCohorts handles GET /v1/orgs/{orgID}/cohorts: the org's cohorts newest first, archived
// ones only with ?archived=true.
func (s *Server) listCohorts(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	archived := false
	if raw := c.QueryParam("archived"); raw != "" {
		if archived, err = strconv.ParseBool(raw); err != nil {
			return models.Invalid("archived", "must be true or false")
		}
	}
	rows, next, err := models.ListCohorts(ctx(c), s.db.Gorm, models.CohortFilter{OrgID: sc.Org.ID, IncludeArchived: archived, Page: page})
	if err != nil {
		return err
	}
	stats, err := models.CohortStatsOf(ctx(c), s.db.Gorm, sc.Org.ID, rows)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(co models.Cohort) cohortResponse {
		return newCohortResponse(&co, stats[co.ID])
	}))
}

// orgCohort authorizes an org admin and loads the cohort of :cohortID within the org.
func (s *Server) orgCohort(c echo.Context) (*orgScope, *models.Cohort, error) {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(c, "cohortID")
	if err != nil {
		return nil, nil, err
	}
	co, err := models.FindCohort(ctx(c), s.db.Gorm, sc.Org.ID, id)
	if err != nil {
		return nil, nil, cohortNotFound(err)
	}
	return sc, co, nil
}

// cohortNotFound names what was not found.
func cohortNotFound(err error) error {
	if models.IsNotFound(err) {
		return problem(http.StatusNotFound, "not-found", "no such cohort in this organization")
	}
	return err
}

// getCohort handles GET /v1/orgs/{orgID}/cohorts/{cohortID}.
func (s *Server) getCohort(c echo.Context) error {
	_, co, err := s.orgCohort(c)
	if err != nil {
		return err
	}
	out, err := s.cohortWithStats(c, co)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// updateCohort handles PATCH /v1/orgs/{orgID}/cohorts/{cohortID}: name, due date and whether
// invitees without a seat may pay themselves. The course offering stays.
func (s *Server) updateCohort(c echo.Context) error {
	sc, co, err := s.orgCohort(c)
	if err != nil {
		return err
	}
	var in cohortInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	ve := &models.ValidationError{}
	if in.Course != nil {
		ve.Add("course", "cannot change: start another cohort")
	}
	if in.Offering != nil {
		ve.Add("offering", "cannot change: start another cohort")
	}
	name := in.name(ve, false)
	due := s.dueDate(ve, in.DueDate, false)
	if err := ve.Err(); err != nil {
		return err
	}
	now := s.now().Truncate(time.Microsecond)
	cols := map[string]any{"updated_at": now}
	if in.Name != nil {
		cols["name"] = name
	}
	if in.DueDate != nil {
		cols["due_date"] = due
	}
	if in.AllowSelfPay != nil {
		cols["allow_self_pay"] = *in.AllowSelfPay
	}
	var out cohortResponse
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		updated, err := models.UpdateCohort(ctx(c), tx.DB, sc.Org.ID, co.ID, cols)
		if err != nil {
			return err
		}
		before, err := s.cohortWithStats(c, co)
		if err != nil {
			return err
		}
		out = newCohortResponse(updated, models.CohortStats{Invited: before.Invited, Accepted: before.Accepted, SeatsRemaining: before.SeatsRemaining})
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "cohort.update", ObjectType: "cohort",
			ObjectID: co.ID.String(), Before: before, After: out})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// archiveCohort handles POST /v1/orgs/{orgID}/cohorts/{cohortID}/archive: the cohort leaves
// the default list and takes no more invitations. Archiving twice changes nothing.
func (s *Server) archiveCohort(c echo.Context) error {
	sc, co, err := s.orgCohort(c)
	if err != nil {
		return err
	}
	if co.Archived() {
		out, err := s.cohortWithStats(c, co)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, out)
	}
	now := s.now().Truncate(time.Microsecond)
	var out cohortResponse
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		before, err := s.cohortWithStats(c, co)
		if err != nil {
			return err
		}
		updated, err := models.UpdateCohort(ctx(c), tx.DB, sc.Org.ID, co.ID, map[string]any{"archived_at": now, "updated_at": now})
		if err != nil {
			return err
		}
		out = newCohortResponse(updated, models.CohortStats{Invited: before.Invited, Accepted: before.Accepted, SeatsRemaining: before.SeatsRemaining})
		return s.audit(c, tx, auditEvent{Actor: sc.user(), Action: "cohort.archive", ObjectType: "cohort",
			ObjectID: co.ID.String(), Before: before, After: out})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
