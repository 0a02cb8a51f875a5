package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// courseRoutes registers the public catalog, the platform admin's course edits, and the
// outside credentials providers upload for renewals (external_credentials.go).
func (s *Server) courseRoutes(g *echo.Group) {
	g.GET("/courses", s.listCourses)
	g.GET("/courses/:code", s.getCourse)
	g.PATCH("/admin/courses/:code", s.updateCourse)
	s.externalCredentialRoutes(g)
}

// CE approval states of a course.
const (
	ceApproved    = "approved"     // credits are printed
	ceLapsed      = "lapsed"       // the approval expired: no credits until it is renewed
	ceNotApproved = "not_approved" // no approval on file
)

// moneyResponse is an amount in the currency's smallest unit (cents).
type moneyResponse struct {
	Amount   int    `json:"amount"`
	Currency string `json:"currency"`
}

type offeringResponse struct {
	Kind      string        `json:"kind"`
	Price     moneyResponse `json:"price"`
	CECredits *float64      `json:"ce_credits"` // null while the CE approval is not in force
	Active    bool          `json:"active"`
}

type ceResponse struct {
	ApprovingBody   string  `json:"approving_body"`
	ApprovalCode    string  `json:"approval_code"`
	ApprovalExpires *string `json:"approval_expires"`
	Status          string  `json:"status"`
}

type examResponse struct {
	Questions        int                `json:"questions"`
	PassPercent      int                `json:"pass_percent"`
	TimeLimitMinutes int                `json:"time_limit_minutes"`
	Attempts         int                `json:"attempts"`
	Blueprint        map[string]float64 `json:"blueprint"`
}

type renewalWindowResponse struct {
	BeforeDays int `json:"before_days"`
	AfterDays  int `json:"after_days"`
}

// courseResponse is a course as the catalog shows it.
type courseResponse struct {
	Code                     string                `json:"code"`
	Title                    string                `json:"title"`
	Edition                  string                `json:"edition"`
	GuidelineEdition         string                `json:"guideline_edition"`
	Description              string                `json:"description"`
	Accreditation            string                `json:"accreditation"`
	ValidityMonths           int                   `json:"validity_months"`
	SkillsCheckRequired      bool                  `json:"skills_check_required"`
	CE                       ceResponse            `json:"ce"`
	Offerings                []offeringResponse    `json:"offerings"`
	Exam                     examResponse          `json:"exam"`
	RenewalWindow            renewalWindowResponse `json:"renewal_window"`
	EnrollmentLifetimeMonths int                   `json:"enrollment_lifetime_months"`
	ReminderOffsetsDays      []int64               `json:"reminder_offsets_days"`
	UpdatedAt                time.Time             `json:"updated_at"`
}

// newCourseResponse shows c on the day of now: CE credits only while the approval is in
// force.
func newCourseResponse(c *models.Course, now time.Time) courseResponse {
	return buildCourseResponse(c, ceStatus(c, now))
}

// courseRecord is c for the audit log: credits shown whatever the approval, so a change to
// them is recorded.
func courseRecord(c *models.Course) courseResponse {
	r := buildCourseResponse(c, ceApproved)
	r.CE.Status = ""
	return r
}

func buildCourseResponse(c *models.Course, status string) courseResponse {
	r := courseResponse{
		Code: c.Code, Title: c.Title, Edition: c.Edition, GuidelineEdition: c.GuidelineEdition,
		Description: c.Description, Accreditation: c.Accreditation, ValidityMonths: c.ValidityMonths,
		SkillsCheckRequired: c.SkillsCheckRequired,
		CE:                  ceResponse{ApprovingBody: c.CEApprovingBody, ApprovalCode: c.CEApprovalCode, ApprovalExpires: datePtr(c.CEApprovalExpires), Status: status},
		Offerings:           make([]offeringResponse, 0, len(c.Offerings)),
		Exam: examResponse{Questions: c.Exam.Questions, PassPercent: c.Exam.PassPercent,
			TimeLimitMinutes: c.Exam.TimeLimitMinutes, Attempts: c.Exam.Attempts, Blueprint: c.Exam.Blueprint},
		RenewalWindow:            renewalWindowResponse{BeforeDays: c.RenewalWindowBeforeDays, AfterDays: c.RenewalWindowAfterDays},
		EnrollmentLifetimeMonths: c.EnrollmentLifetimeMonths,
		ReminderOffsetsDays:      c.ReminderOffsetsDays,
		UpdatedAt:                c.UpdatedAt.UTC(),
	}
	for _, o := range c.Offerings {
		or := offeringResponse{Kind: o.Kind, Price: moneyResponse{Amount: o.PriceCents, Currency: o.Currency}, Active: o.Active}
		if status == ceApproved {
			credits := o.CECredits
			or.CECredits = &credits
		}
		r.Offerings = append(r.Offerings, or)
	}
	if r.ReminderOffsetsDays == nil {
		r.ReminderOffsetsDays = []int64{}
	}
	if r.Exam.Blueprint == nil {
		r.Exam.Blueprint = map[string]float64{}
	}
	return r
}

func ceStatus(c *models.Course, now time.Time) string {
	switch {
	case c.CEApprovalValid(now):
		return ceApproved
	case c.CEApprovalCode != "" && c.CEApprovalExpires != nil:
		return ceLapsed
	}
	return ceNotApproved
}

func datePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	d := t.Format(time.DateOnly)
	return &d
}

// pathCourseCode returns the {code} path parameter; codes are matched in capitals.
func pathCourseCode(c echo.Context) string { return strings.ToUpper(c.Param("code")) }

// listCourses handles GET /v1/courses: the public catalog.
func (s *Server) listCourses(c echo.Context) error {
	cs, err := models.ListCourses(ctx(c), s.db.Gorm)
	if err != nil {
		return err
	}
	now := s.today()
	return c.JSON(http.StatusOK, newList(cs, nil, func(m models.Course) courseResponse { return newCourseResponse(&m, now) }))
}

// getCourse handles GET /v1/courses/{code}: one course of the public catalog.
func (s *Server) getCourse(c echo.Context) error {
	m, err := models.FindCourse(ctx(c), s.db.Gorm, pathCourseCode(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newCourseResponse(m, s.today()))
}

// updateCourse handles PATCH /v1/admin/courses/{code}: a platform admin changes a course's
// settings and its offerings' prices and availability. Orders keep what they were charged.
func (s *Server) updateCourse(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	var in courseUpdateInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	upd, err := in.toUpdate()
	if err != nil {
		return err
	}
	var after *models.Course
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		var before *models.Course
		if before, after, err = models.UpdateCourse(ctx(c), tx.DB, pathCourseCode(c), upd, s.now()); err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "course.update", ObjectType: "course", ObjectID: after.Code,
			Before: courseRecord(before), After: courseRecord(after)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newCourseResponse(after, s.today()))
}

// courseUpdateInput is the body of PATCH /v1/admin/courses/{code}; absent fields are left
// alone.
type courseUpdateInput struct {
	Title                    *string               `json:"title"`
	Edition                  *string               `json:"edition"`
	GuidelineEdition         *string               `json:"guideline_edition"`
	Description              *string               `json:"description"`
	Accreditation            *string               `json:"accreditation"`
	ValidityMonths           *int                  `json:"validity_months"`
	SkillsCheckRequired      *bool                 `json:"skills_check_required"`
	CE                       *ceInput              `json:"ce"`
	Exam                     *examInput            `json:"exam"`
	RenewalWindow            *renewalWindowInput   `json:"renewal_window"`
	EnrollmentLifetimeMonths *int                  `json:"enrollment_lifetime_months"`
	ReminderOffsetsDays      []int64               `json:"reminder_offsets_days"`
	Offerings                *offeringsUpdateInput `json:"offerings"`
}

type ceInput struct {
	ApprovingBody   *string `json:"approving_body"`
	ApprovalCode    *string `json:"approval_code"`
	ApprovalExpires *string `json:"approval_expires"`
}

type examInput struct {
	Questions        *int               `json:"questions"`
	PassPercent      *int               `json:"pass_percent"`
	TimeLimitMinutes *int               `json:"time_limit_minutes"`
	Attempts         *int               `json:"attempts"`
	Blueprint        map[string]float64 `json:"blueprint"`
}

type renewalWindowInput struct {
	BeforeDays *int `json:"before_days"`
	AfterDays  *int `json:"after_days"`
}

type offeringsUpdateInput struct {
	Initial *offeringUpdateInput `json:"initial"`
	Renewal *offeringUpdateInput `json:"renewal"`
}

type offeringUpdateInput struct {
	PriceCents *int     `json:"price_cents"`
	CECredits  *float64 `json:"ce_credits"`
	Active     *bool    `json:"active"`
}

// toUpdate converts the body; models.UpdateCourse validates the course as changed.
func (in *courseUpdateInput) toUpdate() (models.CourseUpdate, error) {
	u := models.CourseUpdate{
		Title: trimmed(in.Title), Edition: trimmed(in.Edition), GuidelineEdition: trimmed(in.GuidelineEdition),
		Description: trimmed(in.Description), Accreditation: trimmed(in.Accreditation),
		ValidityMonths: in.ValidityMonths, SkillsCheckRequired: in.SkillsCheckRequired,
		EnrollmentLifetimeMonths: in.EnrollmentLifetimeMonths, ReminderOffsetsDays: in.ReminderOffsetsDays,
		Offerings: map[string]models.OfferingUpdate{},
	}
	if e := in.Exam; e != nil {
		u.Exam = &models.ExamUpdate{Questions: e.Questions, PassPercent: e.PassPercent,
			TimeLimitMinutes: e.TimeLimitMinutes, Attempts: e.Attempts, Blueprint: e.Blueprint}
	}
	if w := in.RenewalWindow; w != nil {
		u.RenewalWindowBeforeDays, u.RenewalWindowAfterDays = w.BeforeDays, w.AfterDays
	}
	if o := in.Offerings; o != nil {
		for kind, ou := range map[string]*offeringUpdateInput{models.OfferingInitial: o.Initial, models.OfferingRenewal: o.Renewal} {
			if ou != nil {
				u.Offerings[kind] = models.OfferingUpdate{PriceCents: ou.PriceCents, CECredits: ou.CECredits, Active: ou.Active}
			}
		}
	}
	if in.CE != nil {
		if err := in.CE.apply(&u); err != nil {
			return u, err
		}
	}
	if in.isEmpty() {
		return u, models.Invalid("body", "names no setting to change")
	}
	return u, nil
}

func (ce *ceInput) apply(u *models.CourseUpdate) error {
	u.CEApprovingBody, u.CEApprovalCode = trimmed(ce.ApprovingBody), trimmed(ce.ApprovalCode)
	if ce.ApprovalExpires != nil {
		d, err := time.Parse(time.DateOnly, *ce.ApprovalExpires)
		if err != nil {
			return models.Invalid("ce.approval_expires", "must be a date YYYY-MM-DD")
		}
		u.CEApprovalExpires = &d
	}
	return nil
}

func (in *courseUpdateInput) isEmpty() bool {
	for _, set := range []bool{in.Title != nil, in.Edition != nil, in.GuidelineEdition != nil, in.Description != nil,
		in.Accreditation != nil, in.ValidityMonths != nil, in.SkillsCheckRequired != nil, in.CE != nil, in.Exam != nil,
		in.RenewalWindow != nil, in.EnrollmentLifetimeMonths != nil, in.ReminderOffsetsDays != nil, in.Offerings != nil} {
		if set {
			return false
		}
	}
	return true
}

func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}
