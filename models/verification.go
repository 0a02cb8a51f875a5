package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
)

// Verification is one verification an org made (single or bulk): the readable results in
// input order and the signed receipt over them. Exactly one of UserID and APIKeyID is the
// verifier.
type Verification struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	UserID    *uuid.UUID
	APIKeyID  *uuid.UUID `gorm:"column:api_key_id"`
	ItemCount int
	NPICount  int             `gorm:"column:npi_count"`
	Results   json.RawMessage `gorm:"type:jsonb"`
	Receipt   string
	CreatedAt time.Time
}

// VerificationSummary is a verification with the names a list shows, without its results.
type VerificationSummary struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	OrgName     string
	UserID      *uuid.UUID
	UserName    *string
	APIKeyID    *uuid.UUID `gorm:"column:api_key_id"`
	APIKeyName  *string    `gorm:"column:api_key_name"`
	ItemCount   int
	NPICount    int `gorm:"column:npi_count"`
	CreatedAt   time.Time
	Credentials []VerifiedCredential `gorm:"-"` // filled by ListVerificationsOfHolder only
}

// VerifiedCredential is a credential a verification answered with.
type VerifiedCredential struct {
	VerificationID uuid.UUID
	Code           string
	CourseCode     string
}

// VerifiedFacts are the facts of a credential a verification reports: the columns the
// answer needs, read without the rest of the row, since a bulk verification reads thousands.
type VerifiedFacts struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	CourseCode   string
	Code         string
	HolderName   string
	ValidFrom    time.Time
	ValidThrough time.Time
	ValidUntil   time.Time
	Status       string
	NPI          string // the holder's NPI, for answers by NPI
}

// StatusAt returns the credential's status at now, as Credential.StatusAt does.
func (f *VerifiedFacts) StatusAt(now time.Time) string {
	c := Credential{Status: f.Status, ValidUntil: f.ValidUntil}
	return c.StatusAt(now)
}

// verifiedFactsColumns are the columns of VerifiedFacts, of credentials c and users u.
const verifiedFactsColumns = `c.id, c.user_id, c.course_code, c.code, c.holder_name, c.valid_from, c.valid_through,
	c.valid_until, c.status, coalesce(u.npi, '')`

// scanVerifiedFacts reads the rows of a query selecting verifiedFactsColumns.
func scanVerifiedFacts(q *gorm.DB) ([]VerifiedFacts, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []VerifiedFacts
	for rows.Next() {
		var f VerifiedFacts
		if err := rows.Scan(&f.ID, &f.UserID, &f.CourseCode, &f.Code, &f.HolderName, &f.ValidFrom, &f.ValidThrough,
			&f.ValidUntil, &f.Status, &f.NPI); err != nil {
			return nil, translate(err)
		}
		out = append(out, f)
	}
	return out, translate(rows.Err())
}

// ErrNPILookupLimit means the org has used its lookups by NPI for the day.
var ErrNPILookupLimit = NewError("npi-lookup-limit", ErrForbidden, "the organization has used its lookups by NPI for today")

// FindCredentialsByCodes returns the credentials with any of codes (normalized), in one query.
func FindCredentialsByCodes(ctx context.Context, db *gorm.DB, codes []string) ([]VerifiedFacts, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	return scanVerifiedFacts(db.WithContext(ctx).Raw(`SELECT `+verifiedFactsColumns+`
		FROM credentials c JOIN users u ON u.id = c.user_id WHERE c.code = ANY(?)`, pq.StringArray(codes)))
}

// NPIQuery asks for a holder's credential of a course by NPI.
type NPIQuery struct {
	NPI    string
	Course string
}

// FindCurrentCredentialsByNPI answers every query in one query: for each (NPI, course) whose
// holder has a credential of the course, the current one — never a superseded one; an active
// one before any other, then the latest valid_through. Queries without an answer are absent.
func FindCurrentCredentialsByNPI(ctx context.Context, db *gorm.DB, qs []NPIQuery, now time.Time) ([]VerifiedFacts, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	npis := make(pq.StringArray, len(qs))
	courses := make(pq.StringArray, len(qs))
	for i, q := range qs {
		npis[i], courses[i] = q.NPI, q.Course
	}
	return scanVerifiedFacts(db.WithContext(ctx).Raw(`
		SELECT DISTINCT ON (q.npi, q.course) `+verifiedFactsColumns+`
		FROM unnest(?::char(10)[], ?::text[]) AS q(npi, course)
		JOIN users u ON u.npi = q.npi
		JOIN credentials c ON c.user_id = u.id AND c.course_code = q.course
		WHERE c.status <> ?
		ORDER BY q.npi, q.course,
			(c.status = ? AND c.valid_until >= ?) DESC, c.valid_through DESC, c.valid_from DESC, c.id`,
		npis, courses, CredentialSuperseded, CredentialActive, now))
}

// AddNPILookups counts n lookups by NPI for org on day in one atomic upsert, refusing with
// ErrNPILookupLimit (and counting nothing) when the day's total would pass limit.
func AddNPILookups(ctx context.Context, db *gorm.DB, orgID uuid.UUID, day time.Time, n, limit int) error {
	if n == 0 {
		return nil
	}
	if n > limit {
		return ErrNPILookupLimit
	}
	res := db.WithContext(ctx).Exec(`
		INSERT INTO npi_lookups (org_id, day, count) VALUES (?, ?, ?)
		ON CONFLICT (org_id, day) DO UPDATE SET count = npi_lookups.count + EXCLUDED.count
		WHERE npi_lookups.count + EXCLUDED.count <= ?`,
		orgID, day.Format(time.DateOnly), n, limit)
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNPILookupLimit
	}
	return nil
}

// VerificationSubject is a credential that answered in a verification, and its holder.
type VerificationSubject struct {
	CredentialID uuid.UUID
	UserID       uuid.UUID
}

// CreateVerification stores v and the credentials that answered in it (duplicates are
// stored once), in two statements.
func CreateVerification(ctx context.Context, db *gorm.DB, v *Verification, subjects []VerificationSubject) error {
	if err := db.WithContext(ctx).Create(v).Error; err != nil {
		return translate(err)
	}
	if len(subjects) == 0 {
		return nil
	}
	creds := make(pq.StringArray, len(subjects))
	users := make(pq.StringArray, len(subjects))
	for i, s := range subjects {
		creds[i], users[i] = s.CredentialID.String(), s.UserID.String()
	}
	err := db.WithContext(ctx).Exec(`
		INSERT INTO verification_subjects (verification_id, credential_id, user_id)
		SELECT ?, c, u FROM unnest(?::uuid[], ?::uuid[]) AS s(c, u)
		ON CONFLICT DO NOTHING`, v.ID, creds, users).Error
	if err != nil {
		return fmt.Errorf("store verification subjects: %w", translate(err))
	}
	return nil
}

// FindVerification returns the verification id of org, or ErrNotFound (also when it is
// another org's).
func FindVerification(ctx context.Context, db *gorm.DB, orgID, id uuid.UUID) (*Verification, error) {
	var v Verification
	err := db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&v).Error
	if err != nil {
		return nil, translate(err)
	}
	return &v, nil
}

// verificationSummaries selects verifications with their org, user and API key names.
func verificationSummaries(db *gorm.DB) *gorm.DB {
	return db.Table("verifications").Select(`verifications.id, verifications.org_id, o.name AS org_name,
			verifications.user_id, u.name AS user_name, verifications.api_key_id, k.name AS api_key_name,
			verifications.item_count, verifications.npi_count, verifications.created_at`).
		Joins("JOIN orgs o ON o.id = verifications.org_id").
		Joins("LEFT JOIN users u ON u.id = verifications.user_id").
		Joins("LEFT JOIN org_api_keys k ON k.id = verifications.api_key_id")
}

func summaryCursor(v VerificationSummary) Cursor {
	return Cursor{Time: v.CreatedAt, ID: v.ID.String()}
}

// ListVerifications returns a page of the org's verifications, newest first.
func ListVerifications(ctx context.Context, db *gorm.DB, orgID uuid.UUID, p Page) ([]VerificationSummary, *Cursor, error) {
	var rows []VerificationSummary
	q := verificationSummaries(db.WithContext(ctx)).Where("verifications.org_id = ?", orgID)
	if err := p.apply(q, "verifications").Scan(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(p, rows, summaryCursor)
	return rows, next, nil
}

// ListVerificationsOfHolder returns a page of the verifications that answered with one of
// userID's credentials, newest first, each with those credentials: two queries a page.
func ListVerificationsOfHolder(ctx context.Context, db *gorm.DB, userID uuid.UUID, p Page) ([]VerificationSummary, *Cursor, error) {
	var rows []VerificationSummary
	q := verificationSummaries(db.WithContext(ctx)).
		Where("EXISTS (SELECT 1 FROM verification_subjects s WHERE s.verification_id = verifications.id AND s.user_id = ?)", userID)
	if err := p.apply(q, "verifications").Scan(&rows).Error; err != nil {
		return nil, nil, translate(err)
	}
	rows, next := cut(p, rows, summaryCursor)
	if len(rows) == 0 {
		return rows, next, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var creds []VerifiedCredential
	err := db.WithContext(ctx).Raw(`
		SELECT s.verification_id, c.code, c.course_code
		FROM verification_subjects s JOIN credentials c ON c.id = s.credential_id
		WHERE s.user_id = ? AND s.verification_id IN ?
		ORDER BY c.course_code, c.code`, userID, ids).Scan(&creds).Error
	if err != nil {
		return nil, nil, translate(err)
	}
	byID := make(map[uuid.UUID]int, len(rows))
	for i, r := range rows {
		byID[r.ID] = i
	}
	for _, c := range creds {
		i := byID[c.VerificationID]
		rows[i].Credentials = append(rows[i].Credentials, c)
	}
	return rows, next, nil
}
