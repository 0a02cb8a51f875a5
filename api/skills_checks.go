package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// skillsCheckRoutes registers the hands-on skills check of courses that need one (ACLS):
// the learner chooses a training site, an instructor there attests, and the site's
// instructors see who is waiting.
func (s *Server) skillsCheckRoutes(g *echo.Group) {
	g.PUT("/enrollments/:id/skills-site", s.chooseSkillsSite)
	g.GET("/enrollments/:id/skills-check", s.getSkillsCheck)
	g.POST("/enrollments/:id/skills-check", s.attestSkillsCheck)
	g.GET("/orgs/:orgID/skills-checks/pending", s.listPendingSkillsChecks)
}

// siteResponse is a training site.
type siteResponse struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// skillsCheckResponse is a recorded skills check.
type skillsCheckResponse struct {
	Passed       bool         `json:"passed"`
	Notes        string       `json:"notes"`
	Site         siteResponse `json:"site"`
	InstructorID uuid.UUID    `json:"instructor_id"`
	Instructor   string       `json:"instructor"` // the instructor's name, as the credential will state it
	AttestedAt   time.Time    `json:"attested_at"`
}

// skillsStatusResponse is an enrollment's skills-check state.
type skillsStatusResponse struct {
	EnrollmentID uuid.UUID            `json:"enrollment_id"`
	Course       string               `json:"course"`
	Site         *siteResponse        `json:"site"`
	Passed       bool                 `json:"passed"`
	Check        *skillsCheckResponse `json:"check"`
}

func newSkillsStatusResponse(st *models.SkillsStatus, instructor *models.User) skillsStatusResponse {
	r := skillsStatusResponse{EnrollmentID: st.EnrollmentID, Course: st.CourseCode, Passed: st.PassedAt != nil}
	if st.Site != nil {
		r.Site = &siteResponse{ID: st.Site.ID, Name: st.Site.Name}
	}
	if chk := st.Check; chk != nil {
		r.Check = &skillsCheckResponse{Passed: chk.Passed, Notes: chk.Notes, InstructorID: chk.InstructorID,
			AttestedAt: chk.AttestedAt.UTC(), Site: siteResponse{ID: chk.OrgID}}
		if st.Site != nil && st.Site.ID == chk.OrgID {
			r.Check.Site.Name = st.Site.Name
		}
		if instructor != nil {
			r.Check.Instructor = instructor.Name
		}
	}
	return r
}

// ownSkillsStatus returns the state of the caller's enrollment :id; another's is not found.
func (s *Server) ownSkillsStatus(c echo.Context) (*models.User, *models.SkillsStatus, error) {
	u, err := requireUser(c)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	st, err := models.FindSkillsStatus(ctx(c), s.db.Gorm, id, false)
	if err != nil {
		return nil, nil, err
	}
	if st.UserID != u.ID {
		return nil, nil, models.ErrNotFound
	}
	return u, st, nil
}

// skillsSiteInput is the body of PUT /v1/enrollments/{id}/skills-site.
type skillsSiteInput struct {
	OrgID *string `json:"org_id"`
}

// chooseSkillsSite handles PUT /v1/enrollments/{id}/skills-site: the learner chooses the
// training site (an approved org with instructors) where their skills check will be
// attested. They may choose again until a check is recorded.
func (s *Server) chooseSkillsSite(c echo.Context) error {
	_, st, err := s.ownSkillsStatus(c)
	if err != nil {
		return err
	}
	var in skillsSiteInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	if in.OrgID == nil {
		return models.Invalid("org_id", "is required")
	}
	orgID, err := uuid.Parse(*in.OrgID)
	if err != nil {
		return models.Invalid("org_id", "must be a UUID")
	}
	after, err := models.ChooseSkillsSite(ctx(c), s.db.Gorm, st.EnrollmentID, orgID, s.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSkillsStatusResponse(after, nil))
}

// getSkillsCheck handles GET /v1/enrollments/{id}/skills-check: the learner's own skills
// check state: the chosen site and the attestation once recorded.
func (s *Server) getSkillsCheck(c echo.Context) error {
	_, st, err := s.ownSkillsStatus(c)
	if err != nil {
		return err
	}
	if !st.Required {
		return models.ErrNoSkillsCheck
	}
	instructor, err := s.skillsInstructor(c, st)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSkillsStatusResponse(st, instructor))
}

// skillsInstructor returns the user who attested st's check, or nil before one is recorded.
func (s *Server) skillsInstructor(c echo.Context, st *models.SkillsStatus) (*models.User, error) {
	if st.Check == nil {
		return nil, nil
	}
	return models.FindUser(ctx(c), s.db.Gorm, st.Check.InstructorID)
}

// skillsCheckInput is the body of POST /v1/enrollments/{id}/skills-check.
type skillsCheckInput struct {
	Passed *bool   `json:"passed"`
	Notes  *string `json:"notes"`
}

func (in *skillsCheckInput) notes() string {
	if in.Notes == nil {
		return ""
	}
	return strings.TrimSpace(*in.Notes)
}

func (in *skillsCheckInput) validate() error {
	ve := &models.ValidationError{}
	if in.Passed == nil {
		ve.Add("passed", "is required")
	}
	if in.Notes != nil && len([]rune(*in.Notes)) > models.MaxSkillsNotesLen {
		ve.Add("notes", "must be at most "+strconv.Itoa(models.MaxSkillsNotesLen)+" characters")
	}
	return ve.Err()
}

// attestSkillsCheck handles POST /v1/enrollments/{id}/skills-check: an instructor of the
// learner's chosen training site, or a platform admin, records the hands-on skills check,
// once. Nobody attests their own.
func (s *Server) attestSkillsCheck(c echo.Context) error {
	u, err := requireUser(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in skillsCheckInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	var st *models.SkillsStatus
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		if st, err = models.FindSkillsStatus(ctx(c), tx.DB, id, true); err != nil {
			return err
		}
		if err := s.mayAttestSkills(c, tx, u, st); err != nil {
			return err
		}
		if err := st.CheckAttestable(); err != nil {
			return err
		}
		st.Check = &models.SkillsCheck{EnrollmentID: id, OrgID: st.Site.ID, InstructorID: u.ID, Passed: *in.Passed,
			Notes: in.notes(), AttestedAt: s.now()}
		if err := models.RecordSkillsCheck(ctx(c), tx.DB, st.Check); err != nil {
			return err
		}
		if !st.Check.Passed {
			return nil
		}
		st.PassedAt = &st.Check.AttestedAt
		// With the exam passed too (enrollments.exam_passed_at), both requirements are met and
		// the credential is dated today.
		examPassed, err := models.FindExamPassedAt(ctx(c), tx.DB, id)
		if err != nil || examPassed == nil {
			return err
		}
		return jobs.IssueCredential(ctx(c), tx, s.issuance(), id, st.Check.AttestedAt)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newSkillsStatusResponse(st, u))
}

// mayAttestSkills says who may attest the skills check of st: a platform admin, or an
// instructor (admins hold every role) of the approved org the learner chose; never the
// learner. Anyone else is told the enrollment does not exist, and a member of the site
// without the role is forbidden.
func (s *Server) mayAttestSkills(c echo.Context, tx models.Tx, u *models.User, st *models.SkillsStatus) error {
	if st.UserID == u.ID {
		return models.ErrOwnSkillsCheck
	}
	if u.IsPlatformAdmin() {
		_, err := s.requirePlatformAdmin(c)
		return err
	}
	if st.Site == nil {
		return models.ErrNotFound
	}
	m, err := models.FindMembership(ctx(c), tx.DB, st.Site.ID, u.ID)
	if err != nil {
		return err
	}
	if !models.HasRole(m.Roles, models.RoleInstructor) {
		return problem(http.StatusForbidden, "forbidden", "only the training site's instructors attest skills checks")
	}
	if !m.Org.Approved() {
		return models.ErrOrgNotApproved
	}
	return nil
}

// pendingSkillsResponse is a learner waiting for their skills check at a training site.
type pendingSkillsResponse struct {
	EnrollmentID uuid.UUID      `json:"enrollment_id"`
	Course       string         `json:"course"`
	Offering     string         `json:"offering"`
	Learner      learnerSummary `json:"learner"`
	EnrolledAt   time.Time      `json:"enrolled_at"`
}

// learnerSummary names a learner to staff who act on their enrollment.
type learnerSummary struct {
	ID    uuid.UUID `json:"id"`
	Name  string    `json:"name"`
	Email string    `json:"email"`
}

// listPendingSkillsChecks handles GET /v1/orgs/{orgID}/skills-checks/pending: the site's
// instructors see the learners who chose it and await their skills check, newest first.
func (s *Server) listPendingSkillsChecks(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleInstructor)
	if err != nil {
		return err
	}
	page, err := pageParams(c)
	if err != nil {
		return err
	}
	rows, next, err := models.ListPendingSkillsChecks(ctx(c), s.db.Gorm, models.PendingSkillsFilter{OrgID: sc.Org.ID, Page: page})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(p models.PendingSkillsCheck) pendingSkillsResponse {
		return pendingSkillsResponse{EnrollmentID: p.EnrollmentID, Course: p.CourseCode, Offering: p.Offering,
			Learner: learnerSummary{ID: p.UserID, Name: p.LearnerName, Email: p.LearnerEmail}, EnrolledAt: p.CreatedAt.UTC()}
	}))
}
