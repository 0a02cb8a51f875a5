package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// complianceCourses are the courses a compliance report has a column for, in order.
var complianceCourses = []string{"AALS", "ACLS"}

// complianceRowResponse is one person of an org with their best credential of each course.
type complianceRowResponse struct {
	UserID string                  `json:"user_id"`
	Email  string                  `json:"email"`
	Name   string                  `json:"name"`
	AALS   credentialStateResponse `json:"aals"`
	ACLS   credentialStateResponse `json:"acls"`
}

func newComplianceRowResponse(r models.ComplianceRow) complianceRowResponse {
	return complianceRowResponse{UserID: r.UserID.String(), Email: r.Email, Name: r.Name,
		AALS: newCredentialStateResponse(r.Credentials["AALS"]), ACLS: newCredentialStateResponse(r.Credentials["ACLS"])}
}

// complianceFilter reads ?course=, ?status= and ?expiring_within_days=.
func complianceFilter(c echo.Context) (models.ComplianceFilter, error) {
	f := models.ComplianceFilter{Courses: complianceCourses}
	if v := c.QueryParam("course"); v != "" {
		f.Course = strings.ToUpper(v)
		if !slices.Contains(complianceCourses, f.Course) {
			return f, models.Invalid("course", "must be one of "+strings.Join(complianceCourses, ", "))
		}
	}
	if v := c.QueryParam("status"); v != "" {
		if !slices.Contains(models.CredentialStates, v) {
			return f, models.Invalid("status", "must be one of "+strings.Join(models.CredentialStates, ", "))
		}
		f.State = v
	}
	if v := c.QueryParam("expiring_within_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return f, models.Invalid("expiring_within_days", "must be a whole number of days from 1 to 365")
		}
		f.ExpiringWithinDays = n
	}
	return f, nil
}

// orgCompliance handles GET /v1/orgs/{orgID}/compliance: every member of the org, and every
// person who accepted one of its cohort invitations, with the state of their AALS and ACLS
// credentials. Org admins only: it lists the whole staff. JSON pages, or every row as CSV
// when the caller accepts text/csv.
func (s *Server) orgCompliance(c echo.Context) error {
	sc, err := s.orgAccess(c, models.RoleAdmin)
	if err != nil {
		return err
	}
	f, err := complianceFilter(c)
	if err != nil {
		return err
	}
	f.OrgID = sc.Org.ID
	if wantsCSV(c) {
		rows, _, err := models.Compliance(ctx(c), s.db.Gorm, f, s.credentialAsOf())
		if err != nil {
			return err
		}
		header := []string{"email", "name"}
		for _, course := range complianceCourses {
			k := strings.ToLower(course)
			header = append(header, k+"_status", k+"_code", k+"_valid_through")
		}
		records := [][]string{header}
		for _, r := range rows {
			rec := []string{r.Email, r.Name}
			for _, course := range complianceCourses {
				cr := newCredentialStateResponse(r.Credentials[course])
				rec = append(rec, cr.Status, cr.Code, cr.ValidThrough)
			}
			records = append(records, rec)
		}
		return sendCSV(c, "compliance.csv", records)
	}
	if f.Page, err = pageParams(c); err != nil {
		return err
	}
	rows, next, err := models.Compliance(ctx(c), s.db.Gorm, f, s.credentialAsOf())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, newComplianceRowResponse))
}
