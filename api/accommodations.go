package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// accommodationResponse is a learner's exam time accommodation.
type accommodationResponse struct {
	UserID     uuid.UUID `json:"user_id"`
	Multiplier float64   `json:"multiplier"`
	Reason     string    `json:"reason"`
	GrantedBy  uuid.UUID `json:"granted_by"`
	GrantedAt  time.Time `json:"granted_at"`
}

func newAccommodationResponse(a *models.Accommodation) accommodationResponse {
	return accommodationResponse{UserID: a.UserID, Multiplier: a.Multiplier, Reason: a.Reason,
		GrantedBy: a.GrantedBy, GrantedAt: a.GrantedAt.UTC()}
}

// accommodationRecord is a for the audit log: nil when there was none.
func accommodationRecord(a *models.Accommodation) any {
	if a == nil {
		return nil
	}
	return newAccommodationResponse(a)
}

// accommodationInput is the body of PUT /v1/admin/users/{userID}/accommodation.
type accommodationInput struct {
	Multiplier *float64 `json:"multiplier"`
	Reason     *string  `json:"reason"`
}

// validate reports every bad field at once.
func (in *accommodationInput) validate() (float64, string, error) {
	ve := &models.ValidationError{}
	var m float64
	switch {
	case in.Multiplier == nil:
		ve.Add("multiplier", "is required")
	case !validMultiplier(*in.Multiplier):
		ve.Add("multiplier", "must be over 1 and at most "+strconv.FormatFloat(models.MaxTimeMultiplier, 'f', -1, 64)+
			", in steps of 0.05 (e.g. 1.25, 1.5, 2)")
	default:
		m = math.Round(*in.Multiplier/models.TimeMultiplierStep) * models.TimeMultiplierStep
		m = math.Round(m*100) / 100
	}
	reason, err := requiredText("reason", in.Reason, 500)
	var re *models.ValidationError
	if errors.As(err, &re) {
		ve.Fields = append(ve.Fields, re.Fields...)
	}
	return m, reason, ve.Err()
}

// validMultiplier reports whether m is over 1, at most the maximum and a multiple of the step.
func validMultiplier(m float64) bool {
	steps := m / models.TimeMultiplierStep
	return m > 1 && m <= models.MaxTimeMultiplier && math.Abs(steps-math.Round(steps)) < 1e-6
}

// setAccommodation handles PUT /v1/admin/users/{userID}/accommodation: a platform admin
// grants a learner extra exam time, or replaces what was granted. Every attempt started
// afterwards has its time limit multiplied. Audited with the accommodation before and after.
func (s *Server) setAccommodation(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	userID, err := pathID(c, "userID")
	if err != nil {
		return err
	}
	var in accommodationInput
	if err := c.Bind(&in); err != nil {
		return err
	}
	m, reason, err := in.validate()
	if err != nil {
		return err
	}
	a := &models.Accommodation{UserID: userID, Multiplier: m, Reason: reason, GrantedBy: admin.ID, GrantedAt: s.now()}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		before, err := models.SetAccommodation(ctx(c), tx.DB, a)
		if err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "accommodation.set", ObjectType: "user", ObjectID: userID.String(),
			Before: accommodationRecord(before), After: accommodationRecord(a)})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAccommodationResponse(a))
}

// getAccommodation handles GET /v1/admin/users/{userID}/accommodation: the learner's
// accommodation, 404 when none is granted.
func (s *Server) getAccommodation(c echo.Context) error {
	if _, err := s.requirePlatformAdmin(c); err != nil {
		return err
	}
	userID, err := pathID(c, "userID")
	if err != nil {
		return err
	}
	a, err := models.FindAccommodation(ctx(c), s.db.Gorm, userID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAccommodationResponse(a))
}

// deleteAccommodation handles DELETE /v1/admin/users/{userID}/accommodation: attempts
// started afterwards run on the course's time limit; attempts under way keep their
// deadline. Audited.
func (s *Server) deleteAccommodation(c echo.Context) error {
	admin, err := s.requirePlatformAdmin(c)
	if err != nil {
		return err
	}
	userID, err := pathID(c, "userID")
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx(c), func(tx models.Tx) error {
		before, err := models.DeleteAccommodation(ctx(c), tx.DB, userID)
		if err != nil {
			return err
		}
		return s.audit(c, tx, auditEvent{Actor: admin, Action: "accommodation.delete", ObjectType: "user", ObjectID: userID.String(),
			Before: accommodationRecord(before)})
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
