package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Credential statuses as stored. Expired is not stored: a credential reads expired once its
// valid_until has passed, computed at read time.
const (
	CredentialActive     = "active"
	CredentialRevoked    = "revoked"
	CredentialSuspended  = "suspended"
	CredentialSuperseded = "superseded"
	CredentialExpired    = "expired" // read time only
)

// OnlineExam names the exam every credential attests.
const OnlineExam = "online unproctored exam"

// Assessment is what a credential attests was assessed.
type Assessment struct {
	Exam        string                 `json:"exam"`
	SkillsCheck *AssessmentSkillsCheck `json:"skills_check,omitempty"`
}

// AssessmentSkillsCheck is the hands-on skills check behind a credential.
type AssessmentSkillsCheck struct {
	Instructor string `json:"instructor"`
	Org        string `json:"org"`
}

// Credential is a credential this issuer granted for a completed enrollment.
type Credential struct {
	ID               uuid.UUID
	EnrollmentID     uuid.UUID
	UserID           uuid.UUID
	CourseCode       string
	Code             string
	HolderName       string
	Edition          string
	GuidelineEdition string
	CECredits        *float64
	CEApprovalCode   *string
	Assessment       Assessment `gorm:"serializer:json;type:jsonb"`
	EmailSalt        string
	IssuedOn         time.Time `gorm:"type:date"`
	AwardedOn        time.Time `gorm:"type:date"`
	ValidFrom        time.Time
	ValidThrough     time.Time `gorm:"type:date"`
	ValidUntil       time.Time
	Renews           *uuid.UUID
	RevocationList   int
	RevocationIndex  int
	SuspensionList   int
	SuspensionIndex  int
	Status           string
	SupersededBy     *uuid.UUID
	Source           string     // CredentialIssued, CredentialReissued or CredentialImported
	ReissueOf        *uuid.UUID // the credential a reissue replaces
	LegacyID         *string    // an imported credential's ID in the records it came from
	NotifiedAt       *time.Time // when the holder was emailed the credential
	CreatedAt        time.Time
}

// Where a credential came from.
const (
	CredentialIssued   = "issued"   // a completed enrollment
	CredentialReissued = "reissued" // a reissue of another credential (a name change)
	CredentialImported = "imported" // a platform admin imported a holder from before this system
)

// StatusAt returns the credential's status at now: the stored status, or expired for an
// active credential whose valid_until has passed.
func (c *Credential) StatusAt(now time.Time) string {
	if c.Status == CredentialActive && now.After(c.ValidUntil) {
		return CredentialExpired
	}
	return c.Status
}

// IssueInput says which enrollment to issue a credential for, and when.
type IssueInput struct {
	EnrollmentID uuid.UUID
	// IssuedAt is when the last requirement was met (the exam pass or the skills check,
	// whichever came later): the credential is dated on that day.
	IssuedAt time.Time
	// Location is the issuer's time zone (AALS_TIMEZONE): the calendar of issue and expiry days.
	Location *time.Location
	// Rand is the source of codes, indexes and salts; crypto/rand when nil.
	Rand io.Reader
	// Rules are the credential rules to apply (see IssueRules).
	Rules IssueRules
}

// IssueRules are the credential rules issuance applies: verification codes, the expiry rule
// and status-list indexes. The credential package implements them (jobs.CredentialRules
// wires it); taking them as functions keeps models free of other packages of this module.
// Dates are calendar days as midnight UTC.
type IssueRules struct {
	NewCode             func(prefix string, r io.Reader) (string, error)
	ValidThrough        func(issued time.Time, loc *time.Location, months int) time.Time
	RenewedValidThrough func(oldThrough, passed time.Time, loc *time.Location, months int) time.Time
	ValidUntil          func(through time.Time, loc *time.Location) time.Time
	// SlotIndex is the index of the n-th credential placed in a status list (a keyed
	// permutation of [0, size)); ListSize is the size of new lists.
	SlotIndex     func(key []byte, size, n int) (int, error)
	ListSize      int
	DefaultMonths int
	// PublicURL is AALS_PUBLIC_URL, recorded at the first issuance (see RecordPublicURL); empty
	// records nothing.
	PublicURL string
}

// issueAttempts bounds the retries on a code or status index that is already taken.
const issueAttempts = 8

// IssueCredential issues the credential of a completed enrollment in tx, the caller's
// transaction, and marks the enrollment completed. It issues exactly once per enrollment: a
// second call (or a concurrent one, decided by the unique enrollment_id) returns the first
// credential, with created false. It returns ErrEmailUnverified, leaving the enrollment as it
// is, while the holder's email is not verified, and ErrNotFound for an unknown enrollment.
func IssueCredential(ctx context.Context, tx *gorm.DB, in IssueInput) (c *Credential, created bool, err error) {
	tx = tx.WithContext(ctx)
	if existing, err := findCredentialByEnrollment(tx, in.EnrollmentID); err == nil || !errors.Is(err, ErrNotFound) {
		return existing, false, err
	}
	c, err = newCredential(ctx, tx, in)
	if err != nil {
		return nil, false, fmt.Errorf("issue credential for enrollment %s: %w", in.EnrollmentID, err)
	}
	inserted, err := InsertCredential(ctx, tx, c, in.Rules, in.Rand, ActionIssued, c.ValidFrom)
	if err != nil {
		return nil, false, fmt.Errorf("issue credential for enrollment %s: %w", in.EnrollmentID, err)
	}
	if !inserted {
		// Another transaction issued it first.
		c, err = findCredentialByEnrollment(tx, in.EnrollmentID)
		return c, false, err
	}
	if err := tx.Exec(`UPDATE enrollments SET status = ?, completed_at = ?, updated_at = ? WHERE id = ?`,
		EnrollmentCompleted, in.IssuedAt, in.IssuedAt, in.EnrollmentID).Error; err != nil {
		return nil, false, translate(err)
	}
	c, err = findCredentialByEnrollment(tx, in.EnrollmentID)
	return c, err == nil, err
}

// InsertCredential stores a new credential c in tx: it gives c a verification code and its
// places in the open revocation and suspension lists, inserts it with c.Status, records action
// at at as the first entry of its history, and records rules.PublicURL if this is the first
// credential. c.Source, the holder, course and dates must be set. For a first issue of an
// enrollment (c.ReissueOf nil, c.EnrollmentID set) that already has a credential it inserts
// nothing and returns false. Imports and reissues use it as issuance does.
func InsertCredential(ctx context.Context, tx *gorm.DB, c *Credential, rules IssueRules, rng io.Reader, action string, at time.Time) (bool, error) {
	tx = tx.WithContext(ctx)
	if err := RecordPublicURL(ctx, tx, rules.PublicURL, at); err != nil {
		return false, err
	}
	return insertNew(tx, c, rules, rng, action, at, placeEach{rules: rules, rng: rng})
}

// slotSource hands out places in the status lists for new credentials.
type slotSource interface {
	slot(tx *gorm.DB, purpose string) (statusSlot, error)
}

// placeEach takes each place from its open list when it is needed (see allocateSlot).
type placeEach struct {
	rules IssueRules
	rng   io.Reader
}

func (p placeEach) slot(tx *gorm.DB, purpose string) (statusSlot, error) {
	return allocateSlot(tx, purpose, p.rules, p.rng)
}

// insertNew is InsertCredential with its places from places.
func insertNew(tx *gorm.DB, c *Credential, rules IssueRules, rng io.Reader, action string, at time.Time, places slotSource) (bool, error) {
	if rng == nil {
		rng = rand.Reader
	}
	if c.ID == uuid.Nil {
		c.ID = uuid.New()
	}
	if c.Status == "" {
		c.Status = CredentialActive
	}
	if c.EmailSalt == "" {
		salt, err := newSalt(rng)
		if err != nil {
			return false, err
		}
		c.EmailSalt = salt
	}
	for attempt := 0; ; attempt++ {
		if attempt == issueAttempts {
			return false, fmt.Errorf("no free code or status index after %d tries: %w", issueAttempts, ErrConflict)
		}
		var err error
		if c.Code, err = rules.NewCode(c.CourseCode, rng); err != nil {
			return false, err
		}
		// Places are taken outside the savepoint: a retry after a clash takes new ones rather
		// than being handed the same place again.
		rev, err := places.slot(tx, PurposeRevocation)
		if err != nil {
			return false, err
		}
		sus, err := places.slot(tx, PurposeSuspension)
		if err != nil {
			return false, err
		}
		c.RevocationList, c.RevocationIndex = rev.List, rev.Index
		c.SuspensionList, c.SuspensionIndex = sus.List, sus.Index
		inserted, retry, err := insertCredential(tx, c)
		if err != nil {
			return false, err
		}
		if retry {
			continue
		}
		if !inserted {
			return false, nil
		}
		return true, addStatusEvent(tx, &StatusEvent{CredentialID: c.ID, Status: c.Status, Action: action, At: at})
	}
}

// insertCredential inserts c under a savepoint. It reports whether a row was inserted (false:
// the enrollment already has one) and whether to retry with another code and indexes.
func insertCredential(tx *gorm.DB, c *Credential) (inserted, retry bool, err error) {
	assessment, err := assessmentJSON(c.Assessment)
	if err != nil {
		return false, false, err
	}
	if err := tx.Exec("SAVEPOINT issue_credential").Error; err != nil {
		return false, false, translate(err)
	}
	res := tx.Exec(`INSERT INTO credentials (id, enrollment_id, user_id, course_code, code, holder_name, edition,
		guideline_edition, ce_credits, ce_approval_code, assessment, email_salt, issued_on, awarded_on, valid_from,
		valid_through, valid_until, renews, revocation_list, revocation_index, suspension_list, suspension_index, status,
		source, reissue_of, legacy_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (enrollment_id) WHERE reissue_of IS NULL DO NOTHING`,
		c.ID, nullUUID(c.EnrollmentID), c.UserID, c.CourseCode, c.Code, c.HolderName, c.Edition, c.GuidelineEdition,
		c.CECredits, c.CEApprovalCode, assessment, c.EmailSalt, isoDay(c.IssuedOn), isoDay(c.AwardedOn),
		c.ValidFrom, isoDay(c.ValidThrough), c.ValidUntil, c.Renews, c.RevocationList, c.RevocationIndex,
		c.SuspensionList, c.SuspensionIndex, c.Status, c.Source, c.ReissueOf, c.LegacyID)
	if res.Error != nil {
		if uniqueViolation(res.Error, "credentials_code_key") ||
			uniqueViolation(res.Error, "credentials_revocation_slot_key") ||
			uniqueViolation(res.Error, "credentials_suspension_slot_key") {
			if err := tx.Exec("ROLLBACK TO SAVEPOINT issue_credential").Error; err != nil {
				return false, false, translate(err)
			}
			return false, true, nil
		}
		return false, false, translate(res.Error)
	}
	if err := tx.Exec("RELEASE SAVEPOINT issue_credential").Error; err != nil {
		return false, false, translate(err)
	}
	return res.RowsAffected == 1, false, nil
}

// nullUUID is id, or NULL for the zero UUID.
func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func assessmentJSON(a Assessment) (string, error) {
	b, err := json.Marshal(a)
	return string(b), err
}

// newCredential gathers everything of the credential but its code and status indexes.
func newCredential(ctx context.Context, tx *gorm.DB, in IssueInput) (*Credential, error) {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	e, err := FindEnrollment(ctx, tx, in.EnrollmentID)
	if err != nil {
		return nil, err
	}
	u, err := FindUser(ctx, tx, e.UserID)
	if err != nil {
		return nil, err
	}
	if u.EmailVerifiedAt == nil {
		return nil, ErrEmailUnverified
	}
	course, err := FindCourse(ctx, tx, e.CourseCode)
	if err != nil {
		return nil, err
	}
	issued := in.IssuedAt.UTC().Truncate(time.Second)
	c := &Credential{
		ID: uuid.New(), EnrollmentID: e.ID, UserID: u.ID, CourseCode: course.Code, HolderName: u.Name,
		Edition: course.Edition, GuidelineEdition: course.GuidelineEdition, ValidFrom: issued,
		IssuedOn: calendarDay(issued.In(loc)), Status: CredentialActive, Source: CredentialIssued,
		Assessment: Assessment{Exam: OnlineExam},
	}
	c.AwardedOn = c.IssuedOn
	if c.EmailSalt, err = newSalt(in.Rand); err != nil {
		return nil, err
	}
	if course.CEApprovalValid(issued.In(loc)) {
		if o := course.Offering(e.Offering); o != nil {
			credits, code := o.CECredits, course.CEApprovalCode
			c.CECredits, c.CEApprovalCode = &credits, &code
		}
	}
	if course.SkillsCheckRequired {
		st, err := FindSkillsStatus(ctx, tx, e.ID, false)
		if err != nil {
			return nil, err
		}
		if st.Check != nil {
			instructor, err := FindUser(ctx, tx, st.Check.InstructorID)
			if err != nil {
				return nil, err
			}
			sc := &AssessmentSkillsCheck{Instructor: instructor.Name}
			if st.Site != nil {
				sc.Org = st.Site.Name
			}
			c.Assessment.SkillsCheck = sc
		}
	}
	months := course.ValidityMonths
	if months <= 0 {
		months = in.Rules.DefaultMonths
	}
	through := in.Rules.ValidThrough(issued, loc, months)
	prev, err := renewable(tx, u.ID, course.Code, e.ID, issued)
	if err != nil {
		return nil, err
	}
	if prev != nil {
		through = in.Rules.RenewedValidThrough(prev.ValidThrough.UTC(), issued, loc, months)
		c.Renews = &prev.ID
	}
	c.ValidThrough = through
	c.ValidUntil = in.Rules.ValidUntil(through, loc)
	return c, nil
}

// renewable returns the user's latest credential of the course, other than the enrollment's,
// that is neither revoked nor superseded and still valid at the instant passed; nil if none.
func renewable(tx *gorm.DB, userID uuid.UUID, course string, enrollmentID uuid.UUID, passed time.Time) (*Credential, error) {
	var rows []Credential
	// IS DISTINCT FROM: an imported credential has no enrollment, and <> would skip it.
	err := tx.Where("user_id = ? AND course_code = ? AND enrollment_id IS DISTINCT FROM ? AND status IN ? AND valid_from <= ? AND valid_until >= ?",
		userID, course, enrollmentID, []string{CredentialActive, CredentialSuspended}, passed, passed).
		Order("valid_through DESC").Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, translate(err)
	}
	return &rows[0], nil
}

func newSalt(rng io.Reader) (string, error) {
	if rng == nil {
		rng = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(rng, b[:]); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func findCredentialByEnrollment(db *gorm.DB, enrollmentID uuid.UUID) (*Credential, error) {
	var c Credential
	if err := db.First(&c, "enrollment_id = ? AND reissue_of IS NULL", enrollmentID).Error; err != nil {
		return nil, translate(err)
	}
	return &c, nil
}

// FindCredential returns the credential, or ErrNotFound.
func FindCredential(ctx context.Context, db *gorm.DB, id uuid.UUID) (*Credential, error) {
	var c Credential
	if err := db.WithContext(ctx).First(&c, "id = ?", id).Error; err != nil {
		return nil, translate(err)
	}
	return &c, nil
}

// FindCredentialRenewal returns the ID of the credential that renews id, or nil.
func FindCredentialRenewal(ctx context.Context, db *gorm.DB, id uuid.UUID) (*uuid.UUID, error) {
	var ids []uuid.UUID
	if err := db.WithContext(ctx).Model(&Credential{}).Where("renews = ? AND status <> ?", id, CredentialRevoked).
		Order("created_at").Limit(1).Pluck("id", &ids).Error; err != nil {
		return nil, translate(err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return &ids[0], nil
}

// ListUserCredentials returns the user's credentials, newest first.
func ListUserCredentials(ctx context.Context, db *gorm.DB, userID uuid.UUID) ([]Credential, error) {
	var rows []Credential
	if err := db.WithContext(ctx).Where("user_id = ?", userID).Order("issued_on DESC, created_at DESC").Find(&rows).Error; err != nil {
		return nil, translate(err)
	}
	return rows, nil
}

// issuedCredentials are the credentials this issuer granted the user, by valid_through; revoked
// and superseded ones do not count, nor one already renewed (its renewal is the one to renew
// from, so a credential cannot be renewed twice).
func issuedCredentials(ctx context.Context, db *gorm.DB, userID uuid.UUID, course string) ([]heldCredential, error) {
	var through []time.Time
	err := db.WithContext(ctx).Model(&Credential{}).
		Where("user_id = ? AND course_code = ? AND status IN ?", userID, course, []string{CredentialActive, CredentialSuspended}).
		Where("NOT EXISTS (SELECT 1 FROM credentials r WHERE r.renews = credentials.id AND r.status <> ?)", CredentialRevoked).
		Pluck("valid_through", &through).Error
	if err != nil {
		return nil, translate(err)
	}
	out := make([]heldCredential, 0, len(through))
	for _, t := range through {
		out = append(out, heldCredential{ExpiresOn: calendarDay(t), Verified: true})
	}
	return out, nil
}

// FindExamPassedAt returns when the enrollment's exam was passed, or nil before a pass.
func FindExamPassedAt(ctx context.Context, db *gorm.DB, enrollmentID uuid.UUID) (*time.Time, error) {
	var row struct{ ExamPassedAt *time.Time }
	if err := db.WithContext(ctx).Raw(`SELECT exam_passed_at FROM enrollments WHERE id = ?`, enrollmentID).Take(&row).Error; err != nil {
		return nil, translate(err)
	}
	return row.ExamPassedAt, nil
}
