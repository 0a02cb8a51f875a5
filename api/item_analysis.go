package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/exam"
	"github.com/aalscert/aalscert/models"
)

// itemStatsResponse is one item's classical statistics.
type itemStatsResponse struct {
	ItemID         string   `json:"item_id"`
	Domain         string   `json:"domain"`
	Responses      int      `json:"responses"`
	Difficulty     float64  `json:"difficulty"`
	Discrimination *float64 `json:"discrimination"`
	Flags          []string `json:"flags"`
}

// itemAnalysisResponse is the item analysis of a course's bank.
type itemAnalysisResponse struct {
	Course   string              `json:"course"`
	Attempts int                 `json:"attempts"`
	Items    []itemStatsResponse `json:"items"`
}

// itemAnalysis handles GET /v1/admin/courses/{code}/item-analysis: difficulty and
// discrimination of every item that was on a graded attempt's form, with poor items
// flagged (platform admin).
func (s *Server) itemAnalysis(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	course, err := models.FindCourse(ctx(c), s.db.Gorm, pathCourseCode(c))
	if err != nil {
		return err
	}
	rows, err := models.ListItemResponses(ctx(c), s.db.Gorm, course.Code)
	if err != nil {
		return err
	}
	attempts, domains := groupResponses(rows)
	out := itemAnalysisResponse{Course: course.Code, Attempts: len(attempts), Items: []itemStatsResponse{}}
	for _, st := range exam.Analyze(attempts) {
		flags := st.Flags
		if flags == nil {
			flags = []string{}
		}
		out.Items = append(out.Items, itemStatsResponse{ItemID: st.ItemID, Domain: domains[st.ItemID], Responses: st.Responses,
			Difficulty: st.Difficulty, Discrimination: st.Discrimination, Flags: flags})
	}
	return c.JSON(http.StatusOK, out)
}

// groupResponses turns rows ordered by attempt into one response set per attempt, and
// notes each item's domain.
func groupResponses(rows []models.ItemResponse) ([]exam.AttemptResponses, map[string]string) {
	var attempts []exam.AttemptResponses
	domains := map[string]string{}
	last := uuid.Nil
	for _, r := range rows {
		if r.AttemptID != last || len(attempts) == 0 {
			attempts = append(attempts, exam.AttemptResponses{})
			last = r.AttemptID
		}
		attempts[len(attempts)-1][r.ItemID] = r.Correct
		domains[r.ItemID] = r.Domain
	}
	return attempts, domains
}
