package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// reviewedAttemptResponse is an attempt as a platform admin reviews it.
type reviewedAttemptResponse struct {
	ID           uuid.UUID      `json:"id"`
	EnrollmentID uuid.UUID      `json:"enrollment_id"`
	Course       string         `json:"course"`
	Number       int            `json:"number"`
	Status       string         `json:"status"`
	Learner      learnerSummary `json:"learner"`
	StartedAt    time.Time      `json:"started_at"`
	Deadline     time.Time      `json:"deadline"`
	SubmittedAt  *time.Time     `json:"submitted_at"`
	GradedAt     *time.Time     `json:"graded_at"`
	Score        *float64       `json:"score"`
	Passed       *bool          `json:"passed"`
	ClientIP     string         `json:"client_ip"`
	UserAgent    string         `json:"user_agent"`
	Flagged      bool           `json:"flagged"`
	FlagReasons  []string       `json:"flag_reasons"`
}

func newReviewedAttemptResponse(a *models.ReviewedAttempt) reviewedAttemptResponse {
	reasons := []string(a.FlagReasons)
	if reasons == nil {
		reasons = []string{}
	}
	return reviewedAttemptResponse{ID: a.ID, EnrollmentID: a.EnrollmentID, Course: a.CourseCode, Number: a.Number,
		Status: a.Status, Learner: learnerSummary{ID: a.UserID, Name: a.LearnerName, Email: a.LearnerEmail},
		StartedAt: a.StartedAt.UTC(), Deadline: a.Deadline.UTC(), SubmittedAt: utcPtr(a.SubmittedAt),
		GradedAt: utcPtr(a.GradedAt), Score: a.Score, Passed: a.Passed, ClientIP: a.ClientIP, UserAgent: a.UserAgent,
		Flagged: a.Flagged, FlagReasons: reasons}
}

// adminListAttempts handles GET /v1/admin/attempts?flagged=&course=: attempts newest first
// with their learners, results and flag reasons, for review of unusual ones (platform admin).
func (s *Server) adminListAttempts(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	f := models.ReviewedAttemptFilter{CourseCode: strings.ToUpper(strings.TrimSpace(c.QueryParam("course")))}
	ve := &models.ValidationError{}
	f.Flagged = queryBool(c, ve, "flagged")
	page, err := pageParams(c)
	var pe *models.ValidationError
	if errors.As(err, &pe) {
		ve.Fields = append(ve.Fields, pe.Fields...)
	}
	if err := ve.Err(); err != nil {
		return err
	}
	f.Page = page
	rows, next, err := models.ListReviewedAttempts(ctx(c), s.db.Gorm, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(rows, next, func(a models.ReviewedAttempt) reviewedAttemptResponse {
		return newReviewedAttemptResponse(&a)
	}))
}

// queryBool reads an optional true|false query parameter.
func queryBool(c echo.Context, ve *models.ValidationError, name string) *bool {
	switch v := c.QueryParam(name); v {
	case "":
		return nil
	case "true", "false":
		b := v == "true"
		return &b
	}
	ve.Add(name, "must be true or false")
	return nil
}
