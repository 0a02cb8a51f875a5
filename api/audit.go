package api

import (
	"encoding/json"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/models"
)

// auditEvent is one admin action for the audit log. Before and After are response types
// (never GORM structs, never secrets); nil means "did not exist".
type auditEvent struct {
	Actor      *models.User
	Action     string // "<object>.<verb>", e.g. "org.approve"
	ObjectType string
	ObjectID   string
	Before     any
	After      any
}

// audit records ev in tx, the transaction of the change it describes, with the request ID.
func (s *Server) audit(c echo.Context, tx models.Tx, ev auditEvent) error {
	e := &models.AuditEntry{Action: ev.Action, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID,
		RequestID: requestID(c), CreatedAt: s.now()}
	if ev.Actor != nil {
		e.ActorID = &ev.Actor.ID
	}
	var err error
	if e.Before, err = auditJSON(ev.Before); err != nil {
		return err
	}
	if e.After, err = auditJSON(ev.After); err != nil {
		return err
	}
	if err := models.CreateAuditEntry(ctx(c), tx.DB, e); err != nil {
		return fmt.Errorf("audit %s %s: %w", ev.Action, ev.ObjectID, err)
	}
	return nil
}

func auditJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}
