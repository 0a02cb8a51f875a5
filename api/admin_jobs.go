package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/jobs"
	"github.com/aalscert/aalscert/models"
)

// adminJobRoutes registers what platform admins can do about reminders: run the scan now and
// see a credential's reminders.
func (s *Server) adminJobRoutes(g *echo.Group) {
	g.POST("/admin/jobs/reminder-scan", s.runReminderScan)
	g.GET("/admin/reminders", s.listReminders)
}

// enqueuedJobResponse is a background job accepted for running.
type enqueuedJobResponse struct {
	JobID int64  `json:"job_id"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	// Duplicate is true when an earlier request's job, still waiting or running, was returned.
	Duplicate bool `json:"duplicate"`
}

// runReminderScan handles POST /v1/admin/jobs/reminder-scan: enqueue a reminder scan now
// (platform admin). A scan already requested and not finished is returned instead of a second.
func (s *Server) runReminderScan(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	res, err := jobs.RequestReminderScan(ctx(c), s.jobs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, enqueuedJobResponse{JobID: res.Job.ID, Kind: res.Job.Kind,
		State: string(res.Job.State), Duplicate: res.UniqueSkippedAsDuplicate})
}

// reminderResponse is one reminder of a credential and the state of its email.
type reminderResponse struct {
	ID           uuid.UUID  `json:"id"`
	OffsetDays   int        `json:"offset_days"`
	DueOn        string     `json:"due_on"`
	Status       string     `json:"status"`
	SkipReason   *string    `json:"skip_reason"`
	CreatedAt    time.Time  `json:"created_at"`
	QueuedAt     *time.Time `json:"queued_at"`
	OutboxID     *uuid.UUID `json:"outbox_id"`
	OutboxStatus *string    `json:"outbox_status"`
	SentAt       *time.Time `json:"sent_at"`
}

// listReminders handles GET /v1/admin/reminders?credential_id=: a credential's reminders,
// earliest due first, with their emails' delivery (platform admin).
func (s *Server) listReminders(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	raw := strings.TrimSpace(c.QueryParam("credential_id"))
	if raw == "" {
		return models.Invalid("credential_id", "is required")
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return models.Invalid("credential_id", "is not a credential ID")
	}
	if _, err := models.FindCredential(ctx(c), s.db.Gorm, id); err != nil {
		return err
	}
	rows, err := models.ListCredentialReminders(ctx(c), s.db.Gorm, id)
	if err != nil {
		return err
	}
	out := listResponse[reminderResponse]{Items: make([]reminderResponse, len(rows))}
	for i, r := range rows {
		out.Items[i] = reminderResponse{ID: r.ID, OffsetDays: r.OffsetDays, DueOn: r.DueOn.UTC().Format(time.DateOnly),
			Status: r.Status, SkipReason: r.SkipReason, CreatedAt: r.CreatedAt.UTC(), QueuedAt: utcPtr(r.QueuedAt),
			OutboxID: r.OutboxID, OutboxStatus: r.OutboxStatus, SentAt: utcPtr(r.SentAt)}
	}
	return c.JSON(http.StatusOK, out)
}
