package models

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Sentinel domain errors. Store functions return these (possibly wrapped) and never a
// driver error; the API maps each to a problem type.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrForbidden    = errors.New("forbidden")
	ErrInvalid      = errors.New("invalid")
	ErrUnauthorized = errors.New("unauthorized")
)

// Error is a domain error with a stable code (the last segment of its problem type URI). It
// wraps one of the sentinels, which decides the HTTP status.
type Error struct {
	Code string
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// NewError returns a domain error with a stable code wrapping kind.
func NewError(code string, kind error, msg string) *Error {
	return &Error{Code: code, Kind: kind, Msg: msg}
}

// Typed errors wrapping the sentinels.
var (
	ErrEmailTaken        = NewError("email-taken", ErrConflict, "email address is already registered")
	ErrNPITaken          = NewError("npi-taken", ErrConflict, "NPI belongs to another account")
	ErrTokenInvalid      = NewError("token-invalid", ErrInvalid, "token is invalid, used or expired")
	ErrAlreadyMember     = NewError("already-member", ErrConflict, "already a member of this organization")
	ErrOrgNotApproved    = NewError("org-not-approved", ErrForbidden, "organization is not approved by the program yet")
	ErrNameLocked        = NewError("name-locked", ErrForbidden, "name is locked once you have enrolled; request a name change")
	ErrIdempotencyReused = NewError("idempotency-key-reused", ErrInvalid, "idempotency key was used with a different request")
	ErrSchemaBehind      = errors.New("database schema is behind this build: run `aalscert migrate`")
	// Org errors (orgs.go, me.go).
	ErrLastAdmin        = NewError("last-admin", ErrConflict, "an organization must keep at least one admin")
	ErrAlreadyApproved  = NewError("already-approved", ErrConflict, "organization is already approved")
	ErrInvitationClosed = NewError("invitation-closed", ErrConflict, "invitation was already accepted or revoked")
	ErrEmailMismatch    = NewError("email-mismatch", ErrForbidden, "the invitation was sent to another email address")
	ErrEmailUnverified  = NewError("email-unverified", ErrForbidden, "verify your email address first")
	// Sign-in errors (auth.go, totp.go).
	ErrInvalidCredentials = NewError("invalid-credentials", ErrUnauthorized, "email address, password or TOTP code is wrong")
	ErrTOTPRequired       = NewError("totp-required", ErrUnauthorized, "this account signs in with a TOTP code: send totp_code")
	ErrRefreshReused      = NewError("refresh-token-reused", ErrUnauthorized, "refresh token was already used; every session of this sign-in is revoked")
	ErrEmailVerified      = NewError("email-already-verified", ErrConflict, "email address is already verified")
	ErrTOTPEnabled        = NewError("totp-already-enabled", ErrConflict, "TOTP is already enabled; disable it first to enrol a new authenticator")
	ErrTOTPNotEnabled     = NewError("totp-not-enabled", ErrConflict, "TOTP is not enabled")
	ErrTOTPNotStarted     = NewError("totp-not-started", ErrConflict, "start TOTP enrolment with POST /v1/me/totp first")
)

// FieldError is one invalid field in a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every invalid field of a request; it wraps ErrInvalid.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Fields) == 1 {
		return fmt.Sprintf("invalid %s: %s", e.Fields[0].Field, e.Fields[0].Message)
	}
	return fmt.Sprintf("%d invalid fields", len(e.Fields))
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Add records a field error.
func (e *ValidationError) Add(field, message string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: message})
}

// Err returns e if it holds any field error, else nil.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid returns a ValidationError for a single field.
func Invalid(field, message string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Message: message}}}
}

// translate maps driver errors to domain errors. Constraint names let callers turn a
// unique violation into a specific error (see uniqueViolation).
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%s: %w", pgErr.ConstraintName, ErrConflict)
		case "23503", "23514", "22P02", "22001":
			return fmt.Errorf("%s: %w", pgErr.Message, ErrInvalid)
		}
	}
	return err
}

// uniqueViolation reports whether err is a unique violation of the named constraint.
func uniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}
