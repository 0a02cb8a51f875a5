package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"
)

// LegacyExam is the assessment an imported credential attests. The records it comes from say
// that the holder passed the course's exam, not how it was given (online or in person,
// proctored or not) nor who checked their skills, so it claims no more than that. It reads
// after "Passed the " in a credential's criteria.
const LegacyExam = "course exam, as recorded by the program before this system"

// ImportRow is one legacy credential to import, its fields checked for form by the caller
// (a well-formed email, a name of 1 to 200 characters, a legacy ID of 1 to 100, dates in
// order). Dates are calendar days as midnight UTC.
type ImportRow struct {
	Line         int // the row's line in the file, for the results
	LegacyID     string
	Name         string
	Email        string
	CourseCode   string // upper case
	IssuedOn     time.Time
	ValidThrough time.Time
}

// ImportInput is a batch of legacy credentials to import.
type ImportInput struct {
	Rows []ImportRow
	// Location is the issuer's time zone (AALS_TIMEZONE): a credential is valid from the start
	// of its issue day to the end of its valid_through day there. Nil means UTC.
	Location *time.Location
	Rules    IssueRules
	// Rand is the source of codes, salts and the keys of new lists; crypto/rand when nil.
	Rand io.Reader
	// At is when the import runs: new holders' accounts are created then.
	At time.Time
}

// Outcomes of an imported row.
const (
	ImportCreated = "created" // a new credential
	ImportExists  = "exists"  // the legacy ID was imported before; nothing changed
	ImportFailed  = "error"   // the row was not imported; see Errors
)

// ImportResult is what became of one row.
type ImportResult struct {
	Line       int
	LegacyID   string
	Status     string      // ImportCreated, ImportExists or ImportFailed
	Credential *Credential // the new or the existing credential; nil on ImportFailed
	Errors     []FieldError
}

// ImportCredentials imports legacy credentials in tx, the caller's transaction, each row under
// a savepoint of its own, so a row that fails rolls back only itself and is reported with its
// errors while the others go in. A row whose legacy ID was imported before is ImportExists
// with that credential and changes nothing, so importing a file twice is safe, even two
// imports of it at once (the unique legacy_id decides).
//
// The holder is the account with the row's email. When there is none, one is created with the
// row's name, the address unverified and NoPassword, so nobody can sign in to it until the
// holder sets a password through a password reset, which proves the address is theirs. The
// holder's name is locked as at a first enrollment: a credential now carries it.
//
// The credential is dated as the row says (issued, awarded and valid from its issue day;
// valid through its valid_through day), active, with the course's current edition and
// LegacyExam as what it attests; no CE credits, which the old records do not establish. A
// row's valid_through may not run past what this program grants for the same issue day.
//
// Credentials are placed in the status lists as by InsertCredential, but in blocks of places
// (see importer.insert); places left unused are given back at the end. The open lists stay
// locked until tx ends, so issuance waits for a running import (about 3 ms a row). It returns
// an error only when the transaction itself failed and must be rolled back.
func ImportCredentials(ctx context.Context, tx *gorm.DB, in ImportInput) ([]ImportResult, error) {
	tx = tx.WithContext(ctx)
	if in.Location == nil {
		in.Location = time.UTC
	}
	// Recorded now rather than at the first row's (long past) valid_from.
	if err := RecordPublicURL(ctx, tx, in.Rules.PublicURL, in.At); err != nil {
		return nil, err
	}
	im := &importer{in: in, courses: map[string]*Course{},
		revocation: &slotPool{purpose: PurposeRevocation}, suspension: &slotPool{purpose: PurposeSuspension}}
	out := make([]ImportResult, 0, len(in.Rows))
	for _, row := range in.Rows {
		res, err := im.importRowOnce(ctx, tx, row)
		if err != nil {
			return nil, fmt.Errorf("import legacy credential %q (line %d): %w", row.LegacyID, row.Line, err)
		}
		out = append(out, res)
	}
	if err := im.revocation.giveBack(tx); err != nil {
		return nil, err
	}
	return out, im.suspension.giveBack(tx)
}

// importer is one import under way: what it has read and the status-list places it holds.
type importer struct {
	in         ImportInput
	courses    map[string]*Course
	revocation *slotPool
	suspension *slotPool
}

// importRowOnce imports row under a savepoint. A conflict with a concurrent import (the same
// legacy ID, or the same new holder) rolls the row back and reads again what won.
func (im *importer) importRowOnce(ctx context.Context, tx *gorm.DB, row ImportRow) (ImportResult, error) {
	res := ImportResult{Line: row.Line, LegacyID: row.LegacyID}
	for attempt := 0; ; attempt++ {
		// Places are reserved outside the row's savepoint, so a row rolled back cannot undo a
		// reservation the pool still hands out.
		if err := im.revocation.fill(tx, im.in); err != nil {
			return res, err
		}
		if err := im.suspension.fill(tx, im.in); err != nil {
			return res, err
		}
		if err := tx.Exec("SAVEPOINT import_row").Error; err != nil {
			return res, translate(err)
		}
		c, created, err := im.importRow(ctx, tx, row)
		if err == nil {
			res.Credential, res.Status = c, ImportExists
			if created {
				res.Status = ImportCreated
			}
			return res, translate(tx.Exec("RELEASE SAVEPOINT import_row").Error)
		}
		if rbErr := tx.Exec("ROLLBACK TO SAVEPOINT import_row").Error; rbErr != nil {
			return res, translate(rbErr)
		}
		if rbErr := tx.Exec("RELEASE SAVEPOINT import_row").Error; rbErr != nil {
			return res, translate(rbErr)
		}
		var ve *ValidationError
		switch {
		case errors.As(err, &ve):
			res.Status, res.Errors = ImportFailed, ve.Fields
			return res, nil
		case errors.Is(err, ErrConflict) && attempt == 0:
			continue // what the other import committed is visible to the next statement
		case errors.Is(err, ErrConflict):
			res.Status = ImportFailed
			res.Errors = []FieldError{{Field: "row", Message: "clashed with a change made at the same time; upload the file again to retry it"}}
			return res, nil
		case errors.Is(err, ErrInvalid):
			res.Status = ImportFailed
			res.Errors = []FieldError{{Field: "row", Message: "could not be imported: " + err.Error()}}
			return res, nil
		default:
			return res, err
		}
	}
}

// importRow imports one row, or returns the credential of its legacy ID. It reports whether it
// created the credential. Field errors are a *ValidationError.
func (im *importer) importRow(ctx context.Context, tx *gorm.DB, row ImportRow) (*Credential, bool, error) {
	in := im.in
	if c, err := findCredentialByLegacyID(tx, row.LegacyID); err == nil || !errors.Is(err, ErrNotFound) {
		return c, false, err
	}
	course, err := importCourse(ctx, tx, im.courses, row.CourseCode)
	if err != nil {
		return nil, false, err
	}
	months := course.ValidityMonths
	if months <= 0 {
		months = in.Rules.DefaultMonths
	}
	if longest := in.Rules.ValidThrough(startOfDay(row.IssuedOn, in.Location), in.Location, months); row.ValidThrough.After(longest) {
		return nil, false, Invalid("valid_through", fmt.Sprintf("is later than this program grants for a credential issued %s (at most %s)",
			isoDay(row.IssuedOn), isoDay(longest)))
	}
	holder, err := importHolder(ctx, tx, row, in.At)
	if err != nil {
		return nil, false, err
	}
	legacyID := row.LegacyID
	c := &Credential{
		UserID: holder.ID, CourseCode: course.Code, HolderName: row.Name, Edition: course.Edition,
		GuidelineEdition: course.GuidelineEdition, Assessment: Assessment{Exam: LegacyExam},
		IssuedOn: row.IssuedOn, AwardedOn: row.IssuedOn, ValidFrom: startOfDay(row.IssuedOn, in.Location),
		ValidThrough: row.ValidThrough, ValidUntil: in.Rules.ValidUntil(row.ValidThrough, in.Location),
		Status: CredentialActive, Source: CredentialImported, LegacyID: &legacyID,
	}
	if err := im.insert(tx, c); err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// insert stores c as InsertCredential does, but with places from the import's pools: one
// update of a list row per block of places rather than one per credential. (Within one
// transaction every update of a row adds a version that later statements on the row walk
// past, so per-credential updates made a 5,000-row import quadratic.)
func (im *importer) insert(tx *gorm.DB, c *Credential) error {
	inserted, err := insertNew(tx, c, im.in.Rules, im.in.Rand, ActionImported, c.ValidFrom, im)
	if err == nil && !inserted {
		err = fmt.Errorf("import: credential %s not inserted", c.ID)
	}
	return err
}

// slot hands out a place the import reserved (see importRowOnce, which fills the pools
// outside each row's savepoint).
func (im *importer) slot(_ *gorm.DB, purpose string) (statusSlot, error) {
	pool := im.revocation
	if purpose == PurposeSuspension {
		pool = im.suspension
	}
	if s := pool.take(); s != nil {
		return *s, nil
	}
	return statusSlot{}, fmt.Errorf("import: no %s status-list place reserved: %w", purpose, ErrConflict)
}

// importSlotBlock is how many places of a list an import reserves at a time.
const importSlotBlock = 64

// slotPool holds places of the open list of a purpose that the import reserved and has not
// used yet. The list row stays locked until the transaction ends, so nobody else places a
// credential in it meanwhile and the unused places are the last ones reserved.
type slotPool struct {
	purpose string
	free    []statusSlot
}

// fill reserves a block of places when none is left.
func (p *slotPool) fill(tx *gorm.DB, in ImportInput) error {
	if len(p.free) > 0 {
		return nil
	}
	for range 2 {
		var rows []struct {
			ID, Size, First, Last int
			PermKey               []byte
		}
		err := tx.Raw(`WITH open AS (SELECT id, allocated FROM status_lists WHERE purpose = ? AND allocated < size
				ORDER BY id LIMIT 1 FOR UPDATE)
			UPDATE status_lists s SET allocated = LEAST(s.size, s.allocated + ?) FROM open WHERE s.id = open.id
			RETURNING s.id, s.size, s.perm_key, open.allocated AS first, s.allocated AS last`, p.purpose, importSlotBlock).
			Scan(&rows).Error
		if err != nil {
			return translate(err)
		}
		if len(rows) == 1 {
			r := rows[0]
			for n := r.First; n < r.Last; n++ {
				i, err := in.Rules.SlotIndex(r.PermKey, r.Size, n)
				if err != nil {
					return err
				}
				p.free = append(p.free, statusSlot{List: r.ID, Index: i})
			}
			return nil
		}
		if err := openStatusList(tx, p.purpose, in.Rules.ListSize, in.Rand); err != nil {
			return err
		}
	}
	return fmt.Errorf("no open %s status list", p.purpose)
}

// take hands out the next reserved place, or nil if none is left.
func (p *slotPool) take() *statusSlot {
	if len(p.free) == 0 {
		return nil
	}
	s := p.free[0]
	p.free = p.free[1:]
	return &s
}

// giveBack returns the unused places to their list, so importing a file again (every row
// already there) does not use up lists.
func (p *slotPool) giveBack(tx *gorm.DB) error {
	if len(p.free) == 0 {
		return nil
	}
	err := tx.Exec(`UPDATE status_lists SET allocated = allocated - ? WHERE id = ?`, len(p.free), p.free[0].List).Error
	p.free = nil
	return translate(err)
}

// importCourse returns the course with code, reading each course once per import.
func importCourse(ctx context.Context, tx *gorm.DB, courses map[string]*Course, code string) (*Course, error) {
	if c, ok := courses[code]; ok {
		return c, nil
	}
	c, err := FindCourse(ctx, tx, code)
	if errors.Is(err, ErrNotFound) {
		return nil, Invalid("course", "is not a course of this program")
	}
	if err != nil {
		return nil, err
	}
	courses[code] = c
	return c, nil
}

// importHolder returns the account with the row's email, creating it (unverified, with no
// password) if there is none, with its name locked.
func importHolder(ctx context.Context, tx *gorm.DB, row ImportRow, at time.Time) (*User, error) {
	u, err := FindUserByEmail(ctx, tx, row.Email)
	if errors.Is(err, ErrNotFound) {
		u = &User{Email: row.Email, Name: row.Name, PasswordHash: NoPassword, NameLockedAt: &at, CreatedAt: at, UpdatedAt: at}
		err = CreateUser(ctx, tx, u)
	}
	if err != nil {
		return nil, err
	}
	return u, LockHolderName(ctx, tx, u.ID, at)
}

func findCredentialByLegacyID(db *gorm.DB, legacyID string) (*Credential, error) {
	var c Credential
	if err := db.First(&c, "legacy_id = ?", legacyID).Error; err != nil {
		return nil, translate(err)
	}
	return &c, nil
}

// startOfDay returns the first instant of the calendar day d (midnight UTC) on loc's
// calendar, in UTC.
func startOfDay(d time.Time, loc *time.Location) time.Time {
	y, m, dd := d.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc).UTC()
}
