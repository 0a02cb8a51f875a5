package models

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Statuses of a name-change request.
const (
	NameChangePending  = "pending"
	NameChangeApproved = "approved"
	NameChangeRejected = "rejected"
)

// NameChangeDocumentRetention is how long the supporting document of a decided request is
// kept (PRIVACY.md): long enough to answer a question about the decision, no longer, since it
// is an identity document.
const NameChangeDocumentRetention = 30 * 24 * time.Hour

// NameChangeRequest is a holder's request to change the name on their account and
// credentials, with a supporting document (a PDF or image) a platform admin decides on.
type NameChangeRequest struct {
	ID             uuid.UUID
	UserID         uuid.UUID
	User           *User `gorm:"foreignKey:UserID"`
	CurrentName    string
	NewName        string
	Reason         string
	Document       []byte // nil once cleared after the retention period
	DocumentType   string // sniffed from the bytes: application/pdf, image/png or image/jpeg
	DocumentName   string
	Status         string
	DecidedBy      *uuid.UUID
	DecidedAt      *time.Time
	DecisionReason *string
	CreatedAt      time.Time
}

// Errors of name-change requests.
var (
	ErrNameChangePending = NewError("name-change-pending", ErrConflict,
		"you already have a pending name-change request; wait for its decision before sending another")
	ErrNameChangeDecided = NewError("name-change-decided", ErrConflict, "this name-change request was already approved or rejected")
)

// CreateNameChangeRequest inserts r as pending, assigning its ID. It returns
// ErrNameChangePending if the user already has a pending request (decided by a unique index,
// so two concurrent requests cannot both pass).
func CreateNameChangeRequest(ctx context.Context, db *gorm.DB, r *NameChangeRequest) error {
	if r.ID == uuid.Nil {
		r.ID = uuid.New()
	}
	r.Status = NameChangePending
	err := db.WithContext(ctx).Omit(clause.Associations).Create(r).Error
	if uniqueViolation(err, "name_change_requests_pending_key") {
		return ErrNameChangePending
	}
	return translate(err)
}

// FindNameChangeRequest returns the request without its document, or ErrNotFound.
func FindNameChangeRequest(ctx context.Context, db *gorm.DB, id uuid.UUID) (*NameChangeRequest, error) {
	var r NameChangeRequest
	if err := db.WithContext(ctx).Omit("document").First(&r, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &r, nil
}

// FindNameChangeDocument returns the request with its document (nil once cleared), or
// ErrNotFound.
func FindNameChangeDocument(ctx context.Context, db *gorm.DB, id uuid.UUID) (*NameChangeRequest, error) {
	var r NameChangeRequest
	if err := db.WithContext(ctx).First(&r, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &r, nil
}

// NameChangeFilter narrows ListNameChangeRequests; zero fields do not filter.
type NameChangeFilter struct {
	UserID   *uuid.UUID
	Status   string
	WithUser bool // load each request's User
	Page     Page
}

// ListNameChangeRequests returns requests without their documents, newest first, and the
// cursor of the next page.
func ListNameChangeRequests(ctx context.Context, db *gorm.DB, f NameChangeFilter) ([]NameChangeRequest, *Cursor, error) {
	q := db.WithContext(ctx).Model(&NameChangeRequest{}).Omit("document")
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
	var rows []NameChangeRequest
	if err := f.Page.apply(q, "name_change_requests").Find(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(f.Page, rows, func(r NameChangeRequest) Cursor { return Cursor{Time: r.CreatedAt, ID: r.ID.String()} })
	return rows, next, nil
}

// NameChangeDecision is a platform admin's verdict on a pending request.
type NameChangeDecision struct {
	By     uuid.UUID
	Reason string // required to reject; optional note on an approval
	At     time.Time
}

// Reissue is a credential replaced by a name change: Old as it was before (now superseded),
// New the credential that replaces it.
type Reissue struct {
	Old *Credential
	New *Credential
}

// RejectNameChange records the rejection on the pending request, locking it FOR UPDATE (run
// it in a transaction), and returns the request before and after. It returns
// ErrNameChangeDecided if it was decided before, or ErrNotFound.
func RejectNameChange(ctx context.Context, tx *gorm.DB, id uuid.UUID, d NameChangeDecision) (before, after *NameChangeRequest, err error) {
	return decideNameChange(ctx, tx, id, NameChangeRejected, d)
}

// ApproveNameChange approves the pending request in tx, the caller's transaction: the request
// is locked FOR UPDATE (so of two concurrent approvals one reissues and the other gets
// ErrNameChangeDecided), the user takes the new name, and every credential of the user that is
// active or suspended (expired ones too) is reissued in that name: a new credential with the
// same course, dates, award date, CE credits, assessment, enrollment and status, a new code,
// salt and status-list places, and the old one's status history before its own 'reissued'
// entry, so its status on a past date reads as the old one's. The old credential becomes
// superseded, pointing at the new one, and credentials that renewed it renew the new one.
// Revoked and superseded credentials are left alone. It returns the request before and after
// and the reissues; ErrNotFound for an unknown request.
func ApproveNameChange(ctx context.Context, tx *gorm.DB, id uuid.UUID, d NameChangeDecision, rules IssueRules) (before, after *NameChangeRequest, reissues []Reissue, err error) {
	before, after, err = decideNameChange(ctx, tx, id, NameChangeApproved, d)
	if err != nil {
		return nil, nil, nil, err
	}
	tx = tx.WithContext(ctx)
	if err := tx.Exec(`UPDATE users SET name = ?, updated_at = ? WHERE id = ?`, after.NewName, d.At, after.UserID).Error; err != nil {
		return nil, nil, nil, translate(err)
	}
	var held []Credential
	err = tx.Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("user_id = ? AND status IN ?", after.UserID, []string{CredentialActive, CredentialSuspended}).
		Order("valid_from, created_at").Find(&held).Error
	if err != nil {
		return nil, nil, nil, translate(err)
	}
	for i := range held {
		r, err := reissue(ctx, tx, &held[i], after.NewName, d, rules)
		if err != nil {
			return nil, nil, nil, err
		}
		reissues = append(reissues, r)
	}
	if err := relinkRenewals(tx, reissues); err != nil {
		return nil, nil, nil, err
	}
	return before, after, reissues, nil
}

// decideNameChange locks the pending request and records the decision.
func decideNameChange(ctx context.Context, tx *gorm.DB, id uuid.UUID, status string, d NameChangeDecision) (before, after *NameChangeRequest, err error) {
	tx = tx.WithContext(ctx)
	var r NameChangeRequest
	err = tx.Omit("document").Clauses(clause.Locking{Strength: "UPDATE"}).First(&r, "id = ?", id).Error
	if err != nil {
		return nil, nil, translate(err)
	}
	if r.Status != NameChangePending {
		return nil, nil, ErrNameChangeDecided
	}
	b := r
	at := d.At.UTC().Truncate(time.Microsecond)
	r.Status, r.DecidedBy, r.DecidedAt, r.DecisionReason = status, &d.By, &at, nil
	if d.Reason != "" {
		r.DecisionReason = &d.Reason
	}
	err = tx.Model(&NameChangeRequest{}).Where("id = ?", id).Updates(map[string]any{
		"status": r.Status, "decided_by": d.By, "decided_at": at, "decision_reason": r.DecisionReason}).Error
	if err != nil {
		return nil, nil, translate(err)
	}
	return &b, &r, nil
}

// reissue replaces old (locked by the caller) with a credential in name and marks old
// superseded.
func reissue(ctx context.Context, tx *gorm.DB, old *Credential, name string, d NameChangeDecision, rules IssueRules) (Reissue, error) {
	prev := *old
	c := *old
	c.ID, c.Code, c.EmailSalt = uuid.Nil, "", ""
	c.HolderName, c.Source, c.ReissueOf = name, CredentialReissued, &prev.ID
	// A legacy ID names one imported record; the reissue points to it through reissue_of.
	c.SupersededBy, c.LegacyID, c.NotifiedAt = nil, nil, nil
	if _, err := InsertCredential(ctx, tx, &c, rules, nil, ActionReissued, d.At); err != nil {
		return Reissue{}, err
	}
	if err := copyStatusHistory(tx, prev.ID, c.ID); err != nil {
		return Reissue{}, err
	}
	if err := tx.Exec(`UPDATE credentials SET status = ?, superseded_by = ? WHERE id = ?`,
		CredentialSuperseded, c.ID, prev.ID).Error; err != nil {
		return Reissue{}, translate(err)
	}
	ev := &StatusEvent{CredentialID: prev.ID, Status: CredentialSuperseded, Action: ActionSuperseded, ActorID: &d.By, At: d.At}
	if err := addStatusEvent(tx, ev); err != nil {
		return Reissue{}, err
	}
	if prev.Status == CredentialSuspended {
		// The old credential's suspension bit clears and the new one's is set: both lists change.
		for _, list := range uniqueInts(prev.SuspensionList, c.SuspensionList) {
			if err := touchStatusList(tx, list, d.At); err != nil {
				return Reissue{}, err
			}
		}
	}
	return Reissue{Old: &prev, New: &c}, nil
}

// copyStatusHistory gives the credential to the history of from, entry for entry (same
// status, action, category, reason, actor and time).
func copyStatusHistory(tx *gorm.DB, from, to uuid.UUID) error {
	return translate(tx.Exec(`INSERT INTO credential_status_events (credential_id, status, action, category, reason, actor_id, at)
		SELECT ?, status, action, category, reason, actor_id, at FROM credential_status_events
		WHERE credential_id = ? ORDER BY at, id`, to, from).Error)
}

// relinkRenewals points the live credentials that renewed a replaced one at its replacement,
// once every replacement exists: a reissued renewal starts out pointing at the old credential,
// while a superseded one keeps its link, so the old chain and the new one each stay whole.
func relinkRenewals(tx *gorm.DB, reissues []Reissue) error {
	for _, r := range reissues {
		if err := tx.Exec(`UPDATE credentials SET renews = ? WHERE renews = ? AND status <> ?`,
			r.New.ID, r.Old.ID, CredentialSuperseded).Error; err != nil {
			return translate(err)
		}
		for _, other := range reissues {
			if other.New.Renews != nil && *other.New.Renews == r.Old.ID {
				other.New.Renews = &r.New.ID
			}
		}
	}
	return nil
}

func uniqueInts(a, b int) []int {
	if a == b {
		return []int{a}
	}
	return []int{a, b}
}

// clearNameChangeDocuments clears the documents of requests decided before the retention
// period, returning how many. Name changes are rare, so the scan of decided requests is small.
func clearNameChangeDocuments(ctx context.Context, db *gorm.DB, now time.Time) (int64, error) {
	r := db.WithContext(ctx).Exec(`UPDATE name_change_requests SET document = NULL
		WHERE document IS NOT NULL AND status <> ? AND decided_at < ?`, NameChangePending, now.Add(-NameChangeDocumentRetention))
	return r.RowsAffected, translate(r.Error)
}
