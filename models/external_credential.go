package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Statuses of an uploaded outside card.
const (
	ExternalPending  = "pending"
	ExternalVerified = "verified"
	ExternalRejected = "rejected"
)

// ExternalCredential is a card from another issuer that a provider uploaded to prove a
// current credential for a renewal. It counts once a platform admin verified it.
type ExternalCredential struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	User         *User `gorm:"foreignKey:UserID"`
	CourseCode   string
	Issuer       string
	CardNumber   string
	IssuedOn     time.Time `gorm:"type:date"`
	ExpiresOn    time.Time `gorm:"type:date"`
	FileName     string
	ContentType  string
	FileData     []byte `gorm:"column:file_data"`
	Status       string
	ReviewedBy   *uuid.UUID
	ReviewedAt   *time.Time
	ReviewReason *string
	CreatedAt    time.Time
}

// Errors of outside cards.
var (
	ErrExternalCredentialDecided = NewError("external-credential-decided", ErrConflict, "this card was already verified or rejected")
)

// CreateExternalCredential inserts ec as pending, assigning its ID.
func CreateExternalCredential(ctx context.Context, db *gorm.DB, ec *ExternalCredential) error {
	if ec.ID == uuid.Nil {
		ec.ID = uuid.New()
	}
	ec.Status = ExternalPending
	ec.IssuedOn, ec.ExpiresOn = calendarDay(ec.IssuedOn), calendarDay(ec.ExpiresOn)
	return translate(db.WithContext(ctx).Omit(clause.Associations).Create(ec).Error)
}

// FindExternalCredential returns the card without its file, or ErrNotFound.
func FindExternalCredential(ctx context.Context, db *gorm.DB, id uuid.UUID) (*ExternalCredential, error) {
	var ec ExternalCredential
	if err := db.WithContext(ctx).Omit("file_data").First(&ec, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &ec, nil
}

// FindExternalCredentialFile returns the card with its file, or ErrNotFound.
func FindExternalCredentialFile(ctx context.Context, db *gorm.DB, id uuid.UUID) (*ExternalCredential, error) {
	var ec ExternalCredential
	if err := db.WithContext(ctx).First(&ec, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &ec, nil
}

// ExternalCredentialFilter narrows ListExternalCredentials; zero fields do not filter.
type ExternalCredentialFilter struct {
	UserID   *uuid.UUID
	Status   string
	WithUser bool // load each card's User
	Page     Page
}

// ListExternalCredentials returns cards without their files, newest first, and the cursor of
// the next page.
func ListExternalCredentials(ctx context.Context, db *gorm.DB, f ExternalCredentialFilter) ([]ExternalCredential, *Cursor, error) {
	q := db.WithContext(ctx).Model(&ExternalCredential{}).Omit("file_data")
	if f.UserID != nil {
		q = q.Where("user_id = ?", *f.UserID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.WithUser {
		q = q.Preload("User")
	}
	if f.Page.Limit == 0 {
		f.Page.Limit = 50
	}
	var rows []ExternalCredential
	if err := f.Page.apply(q, "external_credentials").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(ec ExternalCredential) Cursor { return Cursor{Time: ec.CreatedAt, ID: ec.ID.String()} })
	return rows, next, nil
}

// ExternalCredentialDecision is a platform admin's verdict on a pending card.
type ExternalCredentialDecision struct {
	Status string // ExternalVerified or ExternalRejected
	By     uuid.UUID
	Reason string // required to reject
	At     time.Time
}

// DecideExternalCredential records d on the pending card, locking it FOR UPDATE (run it in a
// transaction), and returns the card before and after. It returns
// ErrExternalCredentialDecided if the card was decided before, or ErrNotFound.
func DecideExternalCredential(ctx context.Context, db *gorm.DB, id uuid.UUID, d ExternalCredentialDecision) (before, after *ExternalCredential, err error) {
	var ec ExternalCredential
	err = db.WithContext(ctx).Omit("file_data").Clauses(clause.Locking{Strength: "UPDATE"}).First(&ec, "id = ?", id).Error
	if err != nil {
		return nil, nil, translate(err)
	}
	if ec.Status != ExternalPending {
		return nil, nil, ErrExternalCredentialDecided
	}
	b := ec
	cols := map[string]any{"status": d.Status, "reviewed_by": d.By, "reviewed_at": d.At, "review_reason": nil}
	ec.Status, ec.ReviewedBy, ec.ReviewedAt, ec.ReviewReason = d.Status, &d.By, &d.At, nil
	if d.Reason != "" {
		cols["review_reason"], ec.ReviewReason = d.Reason, &d.Reason
	}
	if err := db.WithContext(ctx).Model(&ExternalCredential{}).Where("id = ?", id).Updates(cols).Error; err != nil {
		return nil, nil, translate(err)
	}
	return &b, &ec, nil
}
