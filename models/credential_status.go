package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Actions recorded in a credential's status history.
const (
	ActionIssued     = "issued"
	ActionReissued   = "reissued"
	ActionImported   = "imported"
	ActionRevoked    = "revoked"
	ActionSuspended  = "suspended"
	ActionReinstated = "reinstated"
	ActionSuperseded = "superseded"
)

// RevocationCategories are the reasons a credential may be revoked or suspended, as a
// verifier or auditor reads them.
var RevocationCategories = []string{
	"issued_in_error",   // it should not have been issued
	"exam_integrity",    // the exam was not taken honestly
	"misconduct",        // the holder's professional conduct
	"license_action",    // the holder's license was suspended or revoked
	"holder_request",    // the holder asked
	"identity_mismatch", // the holder is not who the credential names
	"other",
}

// StatusEvent is one entry of a credential's status history.
type StatusEvent struct {
	ID           int64
	CredentialID uuid.UUID
	Status       string
	Action       string
	Category     *string
	Reason       *string
	ActorID      *uuid.UUID
	At           time.Time
}

// TableName names the table of status events.
func (StatusEvent) TableName() string { return "credential_status_events" }

// StatusChange is a platform admin's change of a credential's status.
type StatusChange struct {
	Action   string // ActionRevoked, ActionSuspended or ActionReinstated
	Category string // one of RevocationCategories; required to revoke or suspend
	Reason   string // free text for the record
	ActorID  uuid.UUID
	At       time.Time
}

// Errors of status changes.
var (
	ErrCredentialRevoked    = NewError("credential-revoked", ErrConflict, "the credential is revoked; revocation is final")
	ErrCredentialSuperseded = NewError("credential-superseded", ErrConflict, "the credential was replaced by a reissue; change the status of the credential that replaced it")
	ErrAlreadySuspended     = NewError("credential-already-suspended", ErrConflict, "the credential is already suspended")
	ErrNotSuspended         = NewError("credential-not-suspended", ErrConflict, "only a suspended credential can be reinstated")
)

// Validate checks the change before anything is locked.
func (ch StatusChange) Validate() error {
	ve := &ValidationError{}
	switch ch.Action {
	case ActionRevoked, ActionSuspended:
		if !slices.Contains(RevocationCategories, ch.Category) {
			ve.Add("category", fmt.Sprintf("must be one of %v", RevocationCategories))
		}
	case ActionReinstated:
		if ch.Category != "" && !slices.Contains(RevocationCategories, ch.Category) {
			ve.Add("category", fmt.Sprintf("must be one of %v", RevocationCategories))
		}
	default:
		return fmt.Errorf("unknown status action %q", ch.Action)
	}
	if len(ch.Reason) > 2000 {
		ve.Add("reason", "must be at most 2000 characters")
	}
	if ch.Action != ActionReinstated && len(ch.Reason) == 0 {
		ve.Add("reason", "is required")
	}
	return ve.Err()
}

// ChangeCredentialStatus applies ch to the credential in tx: the row is locked, the transition
// checked (revocation is final; only a suspended credential is reinstated; a superseded one is
// changed through its replacement), the status and its history written, and the status list
// the change shows in moves to a new version, so the list served after tx commits has it. It
// returns the credential before and after.
func ChangeCredentialStatus(ctx context.Context, tx *gorm.DB, id uuid.UUID, ch StatusChange) (before, after *Credential, err error) {
	if err := ch.Validate(); err != nil {
		return nil, nil, err
	}
	tx = tx.WithContext(ctx)
	var c Credential
	if err := tx.Raw(`SELECT * FROM credentials WHERE id = ? FOR UPDATE`, id).Scan(&c).Error; err != nil {
		return nil, nil, translate(err)
	}
	if c.ID == uuid.Nil {
		return nil, nil, ErrNotFound
	}
	prev := c
	switch {
	case c.Status == CredentialRevoked:
		return nil, nil, ErrCredentialRevoked
	case c.Status == CredentialSuperseded:
		return nil, nil, ErrCredentialSuperseded
	case ch.Action == ActionSuspended && c.Status == CredentialSuspended:
		return nil, nil, ErrAlreadySuspended
	case ch.Action == ActionReinstated && c.Status != CredentialSuspended:
		return nil, nil, ErrNotSuspended
	}
	next := map[string]string{ActionRevoked: CredentialRevoked, ActionSuspended: CredentialSuspended,
		ActionReinstated: CredentialActive}[ch.Action]
	if err := tx.Exec(`UPDATE credentials SET status = ? WHERE id = ?`, next, id).Error; err != nil {
		return nil, nil, translate(err)
	}
	ev := StatusEvent{CredentialID: id, Status: next, Action: ch.Action, ActorID: &ch.ActorID, At: ch.At}
	if ch.Category != "" {
		ev.Category = &ch.Category
	}
	if ch.Reason != "" {
		ev.Reason = &ch.Reason
	}
	if err := addStatusEvent(tx, &ev); err != nil {
		return nil, nil, err
	}
	// A revocation sets the revocation bit (and ends a suspension, clearing that bit); a
	// suspension or reinstatement flips the suspension bit.
	if ch.Action == ActionRevoked {
		if err := touchStatusList(tx, c.RevocationList, ch.At); err != nil {
			return nil, nil, err
		}
	}
	if ch.Action != ActionRevoked || prev.Status == CredentialSuspended {
		if err := touchStatusList(tx, c.SuspensionList, ch.At); err != nil {
			return nil, nil, err
		}
	}
	c.Status = next
	return &prev, &c, nil
}

// addStatusEvent writes one entry of a credential's history.
func addStatusEvent(tx *gorm.DB, ev *StatusEvent) error {
	ev.At = ev.At.UTC().Truncate(time.Microsecond)
	return translate(tx.Create(ev).Error)
}

// CredentialHistory returns the credential's status history, oldest first.
func CredentialHistory(ctx context.Context, db *gorm.DB, id uuid.UUID) ([]StatusEvent, error) {
	var evs []StatusEvent
	if err := db.WithContext(ctx).Where("credential_id = ?", id).Order("at, id").Find(&evs).Error; err != nil {
		return nil, translate(err)
	}
	return evs, nil
}

// ErrNotYetIssued is returned for a status asked of a time before the credential existed.
var ErrNotYetIssued = errors.New("the credential was not issued yet")

// StatusOn returns the credential's status at t from its history: the status of the last
// event at or before t, read as expired if it was active and t is past valid_until. It returns
// ErrNotYetIssued if t is before the first event.
func StatusOn(c *Credential, history []StatusEvent, t time.Time) (string, error) {
	status := ""
	for _, ev := range history {
		if ev.At.After(t) {
			break
		}
		status = ev.Status
	}
	if status == "" {
		return "", ErrNotYetIssued
	}
	if status == CredentialActive && t.After(c.ValidUntil) {
		return CredentialExpired, nil
	}
	return status, nil
}

// FindCredentialByCode returns the credential with the verification code (normalized by the
// caller), or ErrNotFound.
func FindCredentialByCode(ctx context.Context, db *gorm.DB, code string) (*Credential, error) {
	var c Credential
	if err := db.WithContext(ctx).First(&c, "code = ?", code).Error; err != nil {
		return nil, translate(err)
	}
	return &c, nil
}
